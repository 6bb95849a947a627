#include "workloads/lowering.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "arch/error.h"

namespace tessel::workloads {

namespace {

using arch::Operand;

enum class Role { kRows, kCols, kTemporal };

struct Roles {
  Role m, n, k;
};

Roles roles_for(arch::Dataflow df) {
  switch (df) {
    case arch::Dataflow::kOutputStationary:
      return {Role::kRows, Role::kCols, Role::kTemporal};
    case arch::Dataflow::kWeightStationary:
      return {Role::kTemporal, Role::kCols, Role::kRows};
    case arch::Dataflow::kInputStationary:
      return {Role::kCols, Role::kTemporal, Role::kRows};
  }
  return {Role::kRows, Role::kCols, Role::kTemporal};
}

std::vector<std::uint64_t> spatial_candidates(std::uint64_t full, std::uint64_t unit) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t v = unit; v < full; v *= 2) out.push_back(v);
  out.push_back(full);
  return out;
}

std::uint64_t candidates_unit(Role r, const arch::Config& c) {
  return r == Role::kRows ? c.array.rows : c.array.cols;
}

// (size, count) pairs of a dimension split into tiles of `t`.
std::vector<std::pair<std::uint64_t, std::uint64_t>> split(std::uint64_t full, std::uint64_t t) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  if (full / t) out.push_back({t, full / t});
  if (full % t) out.push_back({full % t, 1});
  return out;
}

struct TileBytes {
  std::uint64_t input = 0, weight = 0, output = 0;
};

TileBytes tile_bytes(const Layer& l, std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
                     std::uint64_t tg, std::uint64_t elem) {
  return {l.input_tile_elements(tm, tk) * tg * elem, tk * tn * tg * elem, tm * tn * tg * elem};
}

bool fits(const arch::Config& c, const TileBytes& b) {
  for (const auto& s : c.sram) {
    std::uint64_t need = 0;
    if (s.holds_operand(Operand::kInput)) need += b.input;
    if (s.holds_operand(Operand::kWeight)) need += b.weight;
    if (s.holds_operand(Operand::kOutput)) need += b.output;
    if (need > s.tile_budget_bytes()) return false;
  }
  return true;
}

// Loads of each operand per distinct tile, given the loop order (k innermost;
// an operand tile stays resident while the loops above it do not change it).
std::pair<std::uint64_t, std::uint64_t> reuse_factors(std::uint64_t nm, std::uint64_t nn,
                                                      std::uint64_t nk, bool n_outer) {
  if (n_outer) return {(nk == 1 && nm == 1) ? 1 : nn, nk == 1 ? 1 : nm};
  return {nk == 1 ? 1 : nn, (nk == 1 && nn == 1) ? 1 : nm};
}

}  // namespace

namespace {

// Which GEMM dimension is temporal for the array's dataflow.
char temporal_dim(arch::Dataflow df) {
  switch (df) {
    case arch::Dataflow::kOutputStationary:
      return 'k';
    case arch::Dataflow::kWeightStationary:
      return 'm';
    case arch::Dataflow::kInputStationary:
      return 'n';
  }
  return 'k';
}

struct Extents {
  std::uint64_t m, n, k;
  std::uint64_t of(char d) const { return d == 'm' ? m : d == 'n' ? n : k; }
};

// DRAM bytes of a loop nest, by walking it (used for chunked plans, whose
// nests are small).
std::uint64_t walk_traffic(const std::string& order, const Extents& count, std::uint64_t ng,
                           const TileBytes& b) {
  std::uint64_t traffic = 0;
  for (std::uint64_t g = 0; g < ng; ++g) {
    std::tuple<std::uint64_t, std::uint64_t> in_key{UINT64_MAX, 0}, w_key{UINT64_MAX, 0};
    for (std::uint64_t a = 0; a < count.of(order[0]); ++a)
      for (std::uint64_t c = 0; c < count.of(order[1]); ++c)
        for (std::uint64_t e = 0; e < count.of(order[2]); ++e) {
          std::uint64_t idx[3] = {a, c, e};
          std::uint64_t mi = 0, ni = 0, ki = 0;
          for (int d = 0; d < 3; ++d) (order[d] == 'm' ? mi : order[d] == 'n' ? ni : ki) = idx[d];
          if (in_key != std::make_tuple(mi, ki)) traffic += b.input, in_key = {mi, ki};
          if (w_key != std::make_tuple(ki, ni)) traffic += b.weight, w_key = {ki, ni};
          if (order[2] != 'k' && ki > 0) traffic += b.output;  // partial sums back in
          if (order[2] != 'k' || ki + 1 == count.k) traffic += b.output;
        }
  }
  return traffic;
}

}  // namespace

TilePlan plan_layer(const Layer& layer, const arch::Config& config) {
  const arch::GemmShape g = layer.gemm();
  const Roles roles = roles_for(config.array.dataflow);
  const std::uint64_t elem = arch::bytes_per_element(config.array.precision);
  const std::uint64_t dma_peak =
      std::min(config.dram.rate.millibytes_per_cycle(),
               std::uint64_t{config.dma.bytes_per_cycle} * config.dma.channels * 1000);
  const Rate transfer_rate = Rate::bytes_per_kilocycle(dma_peak);
  const char tdim = temporal_dim(config.array.dataflow);
  const Cycles untiled_compute =
      arch::gemm_cycles(config.array.dataflow, config.array.rows, config.array.cols, g);

  auto estimate = [&](std::uint64_t compute, std::uint64_t traffic, std::uint64_t transfers,
                      std::uint64_t steps) {
    const std::uint64_t dma = transfer_rate.time_for(traffic).count() +
                              transfers * config.dma.setup_cycles / config.dma.channels +
                              config.dram.latency_cycles.count();
    return std::max(compute, dma) + std::min(compute, dma) / steps;
  };

  TilePlan best;
  bool found = false;
  std::tuple<std::uint64_t, std::uint64_t, std::uint64_t> best_key{UINT64_MAX, UINT64_MAX,
                                                                   UINT64_MAX};
  auto consider = [&](const TilePlan& p, std::uint64_t traffic, std::uint64_t steps) {
    const auto key = std::make_tuple(p.estimated_cycles, traffic, steps);
    if (key < best_key) {
      best_key = key;
      best = p;
      best.dram_bytes = traffic;
      found = true;
    }
  };

  // Full temporal extent: closed-form traffic with k innermost.
  std::vector<std::uint64_t> tgs;
  for (std::uint64_t v = 1; v < g.batch; v *= 2) tgs.push_back(v);
  tgs.push_back(g.batch);
  std::vector<std::uint64_t> temporal_list;
  auto candidates = [&](Role r, std::uint64_t full) {
    return r == Role::kTemporal ? temporal_list
                                : spatial_candidates(full, candidates_unit(r, config));
  };
  auto search_k_inner = [&](TilePlan::Chunking chunking) {
    for (auto tm : candidates(roles.m, g.m)) {
      for (auto tn : candidates(roles.n, g.n)) {
        for (auto tk : candidates(roles.k, g.k)) {
          for (auto tg : tgs) {
            const TileBytes b = tile_bytes(layer, tm, tn, tk, tg, elem);
            if (!fits(config, b)) continue;
            const std::uint64_t nm = ceil_div(g.m, tm), nn = ceil_div(g.n, tn),
                                nk = ceil_div(g.k, tk), ng = ceil_div(g.batch, tg);
            // Exact compute cycles over the tile grid (edges included).
            std::uint64_t compute = 0;
            for (auto [sm, cm] : split(g.m, tm))
              for (auto [sn, cn] : split(g.n, tn))
                for (auto [sk, ck] : split(g.k, tk))
                  for (auto [sg, cg] : split(g.batch, tg))
                    compute += arch::gemm_cycles(config.array.dataflow, config.array.rows,
                                                 config.array.cols, {sm, sn, sk, sg})
                                   .count() *
                               cm * cn * ck * cg;
            const std::uint64_t steps = nm * nn * nk * ng;
            for (bool n_outer : {true, false}) {
              const auto [in_reuse, w_reuse] = reuse_factors(nm, nn, nk, n_outer);
              const std::uint64_t traffic = b.input * ng * nm * nk * in_reuse +
                                            b.weight * ng * nn * nk * w_reuse +
                                            g.m * g.n * g.batch * elem;
              const std::uint64_t transfers =
                  ng * (nm * nk * in_reuse + nn * nk * w_reuse + nm * nn);
              TilePlan p{tm,
                         tn,
                         tk,
                         tg,
                         n_outer ? "nmk" : "mnk",
                         chunking,
                         estimate(compute, traffic, transfers, steps),
                         0};
              consider(p, traffic, steps);
            }
          }
        }
      }
    }
  };
  const std::uint64_t full_t = tdim == 'm' ? g.m : tdim == 'n' ? g.n : g.k;
  temporal_list = {full_t};
  search_k_inner(TilePlan::Chunking::kNone);
  if (found) return best;
  // Chunks as separate passes (each pays fill and drain), k innermost.
  temporal_list.clear();
  for (std::uint64_t d = 2; ceil_div(full_t, d / 2) > 1; d *= 2)
    temporal_list.push_back(ceil_div(full_t, d));
  if (!layer.scalesim_semantics) search_k_inner(TilePlan::Chunking::kRepeatFold);

  // Chunked: one fold, the temporal extent in chunks, temporal innermost.
  // The reduction loop sits above the chunks, so ws/is spill partial sums.
  const std::uint64_t fold_m = roles.m == Role::kTemporal ? 0 : candidates_unit(roles.m, config);
  const std::uint64_t fold_n = roles.n == Role::kTemporal ? 0 : candidates_unit(roles.n, config);
  const std::uint64_t fold_k = roles.k == Role::kTemporal ? 0 : candidates_unit(roles.k, config);
  const std::string order = tdim == 'k' ? "mnk" : tdim == 'm' ? "nkm" : "mkn";
  for (std::uint64_t d = 2; ceil_div(full_t, d / 2) > 1; d *= 2) {
    const std::uint64_t tt = ceil_div(full_t, d);
    const std::uint64_t tm = fold_m ? std::min(fold_m, g.m) : tt;
    const std::uint64_t tn = fold_n ? std::min(fold_n, g.n) : tt;
    const std::uint64_t tk = fold_k ? std::min(fold_k, g.k) : tt;
    const TileBytes b = tile_bytes(layer, tm, tn, tk, 1, elem);
    if (!fits(config, b)) continue;
    const Extents count{ceil_div(g.m, tm), ceil_div(g.n, tn), ceil_div(g.k, tk)};
    const std::uint64_t steps = count.m * count.n * count.k * g.batch;
    const std::uint64_t traffic = walk_traffic(order, count, g.batch, b);
    const std::uint64_t transfers = steps * 3;
    TilePlan p{tm,
               tn,
               tk,
               1,
               order,
               TilePlan::Chunking::kStreamFold,
               estimate(untiled_compute.count(), traffic, transfers, steps),
               0};
    consider(p, traffic, steps);
  }
  if (!found) {
    throw InputError(fmt::format(
        "layer \"{}\": no tile fits the buffers of \"{}\" (even one {}x{} fold with a temporal "
        "chunk of 1 needs more than the per-slot capacity of some buffer on the operand paths)",
        layer.name, config.name, config.array.rows, config.array.cols));
  }
  return best;
}

namespace {

// One tile of one operand as it moves: `rows` x `row_bytes`, at `address`
// in DRAM with rows `stride_bytes` apart.
struct Transfer {
  Operand op;
  std::uint64_t rows, row_bytes, address, stride_bytes;
};

// Emits instructions and derives their dependencies from buffer-slot hazards.
class Emitter {
 public:
  Emitter(const arch::Config& config, Trace& trace) : m_config(config), m_trace(trace) {}

  std::uint32_t emit(Instruction inst) {
    inst.id = static_cast<std::uint32_t>(m_trace.instructions.size());
    std::sort(inst.deps.begin(), inst.deps.end());
    inst.deps.erase(std::unique(inst.deps.begin(), inst.deps.end()), inst.deps.end());
    m_trace.instructions.push_back(std::move(inst));
    return m_trace.instructions.back().id;
  }

  // Next slot of `buffer` for `operand` (alternates when double buffered).
  std::uint32_t next_slot(int buffer, Operand op) {
    auto& s = m_slot[{buffer, op}];
    s = (s + 1) % m_config.sram[buffer].slots();
    return s;
  }
  std::uint32_t current_slot(int buffer, Operand op) { return m_slot[{buffer, op}]; }

  // Dependencies of reading / writing a slot; call before emit().
  void read_deps(int buffer, std::uint32_t slot, Operand op, std::vector<std::uint32_t>& deps) {
    auto& h = m_hazard[{buffer, slot, op}];
    if (h.writer) deps.push_back(*h.writer);
  }
  void write_deps(int buffer, std::uint32_t slot, Operand op, std::vector<std::uint32_t>& deps) {
    auto& h = m_hazard[{buffer, slot, op}];
    if (h.writer) deps.push_back(*h.writer);
    deps.insert(deps.end(), h.readers.begin(), h.readers.end());
  }
  // Record an emitted instruction's accesses.
  void did_read(int buffer, std::uint32_t slot, Operand op, std::uint32_t id) {
    m_hazard[{buffer, slot, op}].readers.push_back(id);
  }
  void did_write(int buffer, std::uint32_t slot, Operand op, std::uint32_t id) {
    auto& h = m_hazard[{buffer, slot, op}];
    h.writer = id;
    h.readers.clear();
  }

  // A LOAD (src DRAM) or MOVE (src a buffer) of `t` into the next slot of
  // `buffer`; `after` is an extra dependency (DRAM hazards). Returns where the data is.
  Location fetch(std::uint32_t layer, const Transfer& t, std::optional<Location> src, int buffer,
                 std::optional<std::uint32_t> after) {
    Instruction i = transfer(layer, t, src ? Opcode::kMove : Opcode::kLoad);
    i.src = src.value_or(Location{kDram, 0});
    i.dst = {buffer, next_slot(buffer, t.op)};
    if (src) read_deps(src->buffer, src->slot, t.op, i.deps);
    write_deps(buffer, i.dst.slot, t.op, i.deps);
    if (after) i.deps.push_back(*after);
    const Location dst = i.dst;
    const auto id = emit(std::move(i));
    if (src) did_read(src->buffer, src->slot, t.op, id);
    did_write(dst.buffer, dst.slot, t.op, id);
    return dst;
  }

  // A STORE of `t` from `src` to DRAM; returns its id.
  std::uint32_t store(std::uint32_t layer, const Transfer& t, Location src) {
    Instruction i = transfer(layer, t, Opcode::kStore);
    i.src = src;
    i.dst = {kDram, 0};
    read_deps(src.buffer, src.slot, t.op, i.deps);
    const auto id = emit(std::move(i));
    did_read(src.buffer, src.slot, t.op, id);
    return id;
  }

 private:
  struct Hazard {
    std::optional<std::uint32_t> writer;
    std::vector<std::uint32_t> readers;
  };
  const arch::Config& m_config;
  Trace& m_trace;
  std::map<std::pair<int, Operand>, std::uint32_t> m_slot;
  std::map<std::tuple<int, std::uint32_t, Operand>, Hazard> m_hazard;

  static Instruction transfer(std::uint32_t layer, const Transfer& t, Opcode op) {
    Instruction i;
    i.op = op;
    i.layer = layer;
    i.operand = t.op;
    i.rows = t.rows;
    i.row_bytes = t.row_bytes;
    if (op != Opcode::kMove) {
      i.address = t.address;
      i.stride_bytes = t.stride_bytes;
    }
    return i;
  }
};

}  // namespace

Lowered lower(const Workload& workload, const arch::Config& config) {
  Lowered out;
  out.trace.workload = workload.name;
  Emitter em(config, out.trace);
  const std::uint64_t elem = arch::bytes_per_element(config.array.precision);
  const auto in_path = config.path(Operand::kInput);
  const auto w_path = config.path(Operand::kWeight);
  const auto out_path = config.path(Operand::kOutput);

  std::optional<std::uint32_t> prev_barrier;
  std::uint64_t next_address = 0;
  auto allocate = [&](std::uint64_t bytes) {
    const std::uint64_t a = next_address;
    next_address += (bytes + 4095) / 4096 * 4096;
    return a;
  };
  std::uint64_t input_base = 0;

  for (std::uint32_t li = 0; li < workload.layers.size(); ++li) {
    const Layer& layer = workload.layers[li];
    out.trace.layers.push_back(layer.name);
    const TilePlan plan = plan_layer(layer, config);
    out.plans.push_back(plan);
    const arch::GemmShape g = layer.gemm();
    if (li == 0) input_base = allocate(layer.input_tile_elements(g.m, g.k) * g.batch * elem);
    const std::uint64_t weight_base = allocate(g.k * g.n * g.batch * elem);
    const std::uint64_t output_base = allocate(g.m * g.n * g.batch * elem);

    // Load chain DRAM -> path[0] -> ... -> path.back(); returns the innermost location.
    // `after` (if any) must complete first: a DRAM-level dependency.
    auto load_chain = [&](const std::vector<std::size_t>& path, const Transfer& t,
                          std::optional<std::uint32_t> after) {
      Location at = em.fetch(li, t, std::nullopt, static_cast<int>(path[0]), after);
      for (std::size_t p = 1; p < path.size(); ++p) {
        at = em.fetch(li, t, at, static_cast<int>(path[p]), std::nullopt);
      }
      return at;
    };

    std::vector<std::uint32_t> stores;
    const Extents count{ceil_div(g.m, plan.tm), ceil_div(g.n, plan.tn), ceil_div(g.k, plan.tk)};
    const std::uint64_t ng = ceil_div(g.batch, plan.tg);
    const char tdim = temporal_dim(config.array.dataflow);
    const bool k_inner = plan.order[2] == 'k';
    std::optional<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>> in_resident, w_resident;
    std::map<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>, std::uint32_t> partial_store;
    Location in_loc, w_loc, out_loc;
    const int ob = static_cast<int>(out_path.back());

    // Output chain: innermost buffer -> ... -> path[0] -> DRAM; returns the STORE.
    auto store_chain = [&](Location at, std::uint64_t tm, std::uint64_t tn, std::uint64_t tg,
                           std::uint64_t address) {
      const Transfer t{Operand::kOutput, tm * tg, tn * elem, address, g.n * elem};
      for (std::size_t p = out_path.size() - 1; p > 0; --p) {
        at = em.fetch(li, t, at, static_cast<int>(out_path[p - 1]), std::nullopt);
      }
      return em.store(li, t, at);
    };

    for (std::uint64_t gi = 0; gi < ng; ++gi) {
      const std::uint64_t g0 = gi * plan.tg, tg = std::min(plan.tg, g.batch - g0);
      for (std::uint64_t a = 0; a < count.of(plan.order[0]); ++a)
        for (std::uint64_t c = 0; c < count.of(plan.order[1]); ++c)
          for (std::uint64_t e = 0; e < count.of(plan.order[2]); ++e) {
            const std::uint64_t idx[3] = {a, c, e};
            std::uint64_t mi = 0, ni = 0, ki = 0;
            for (int d = 0; d < 3; ++d) {
              (plan.order[d] == 'm' ? mi : plan.order[d] == 'n' ? ni : ki) = idx[d];
            }
            const std::uint64_t m0 = mi * plan.tm, tm = std::min(plan.tm, g.m - m0);
            const std::uint64_t n0 = ni * plan.tn, tn = std::min(plan.tn, g.n - n0);
            const std::uint64_t k0 = ki * plan.tk, tk = std::min(plan.tk, g.k - k0);
            const auto in_key = std::make_tuple(gi, mi, ki);
            if (in_resident != in_key) {
              const std::uint64_t bytes = layer.input_tile_elements(tm, tk) * tg * elem;
              const bool gemm_like = layer.kind == LayerKind::kGemm;
              Transfer t{Operand::kInput, gemm_like ? tm * tg : tg,
                         gemm_like ? tk * elem : bytes / tg,
                         input_base + ((g0 * g.m + m0) * g.k + k0) * elem, g.k * elem};
              in_loc = load_chain(in_path, t, prev_barrier);
              in_resident = in_key;
            }
            const auto w_key = std::make_tuple(gi, ki, ni);
            if (w_resident != w_key) {
              Transfer t{Operand::kWeight, tk * tg, tn * elem,
                         weight_base + ((g0 * g.k + k0) * g.n + n0) * elem, g.n * elem};
              w_loc = load_chain(w_path, t, std::nullopt);
              w_resident = w_key;
            }
            const std::uint64_t out_address = output_base + ((g0 * g.m + m0) * g.n + n0) * elem;
            const auto out_key = std::make_tuple(gi, mi, ni);
            Instruction gm;
            if (ki == 0 || !k_inner) {
              if (ki > 0) {
                // Partial sums come back from DRAM after the previous visit's store.
                Transfer t{Operand::kOutput, tm * tg, tn * elem, out_address, g.n * elem};
                out_loc = load_chain(out_path, t, partial_store.at(out_key));
              } else {
                out_loc = {ob, em.next_slot(ob, Operand::kOutput)};
              }
            }
            gm.op = Opcode::kGemm;
            gm.layer = li;
            gm.shape = {tm, tn, tk, tg};
            gm.dataflow = config.array.dataflow;
            gm.input = in_loc;
            gm.weight = w_loc;
            gm.output = out_loc;
            gm.accumulate = ki > 0;
            const std::uint64_t t_index = tdim == 'm' ? mi : tdim == 'n' ? ni : ki;
            gm.fold_overhead =
                plan.chunking != TilePlan::Chunking::kStreamFold || t_index + 1 == count.of(tdim);
            em.write_deps(ob, out_loc.slot, Operand::kOutput, gm.deps);
            em.read_deps(in_loc.buffer, in_loc.slot, Operand::kInput, gm.deps);
            em.read_deps(w_loc.buffer, w_loc.slot, Operand::kWeight, gm.deps);
            const auto id = em.emit(std::move(gm));
            em.did_read(in_loc.buffer, in_loc.slot, Operand::kInput, id);
            em.did_read(w_loc.buffer, w_loc.slot, Operand::kWeight, id);
            em.did_write(ob, out_loc.slot, Operand::kOutput, id);
            if (ki + 1 == count.k || !k_inner) {
              const auto st = store_chain(out_loc, tm, tn, tg, out_address);
              if (ki + 1 == count.k) {
                stores.push_back(st);
              } else {
                partial_store[out_key] = st;
              }
            }
          }
    }
    Instruction barrier;
    barrier.op = Opcode::kBarrier;
    barrier.layer = li;
    barrier.deps = stores;
    prev_barrier = em.emit(std::move(barrier));
    input_base = output_base;  // the next layer reads this layer's output
  }
  return out;
}

}  // namespace tessel::workloads
