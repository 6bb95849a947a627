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
    case arch::Dataflow::kOutputStationary: return {Role::kRows, Role::kCols, Role::kTemporal};
    case arch::Dataflow::kWeightStationary: return {Role::kTemporal, Role::kCols, Role::kRows};
    case arch::Dataflow::kInputStationary: return {Role::kCols, Role::kTemporal, Role::kRows};
  }
  return {Role::kRows, Role::kCols, Role::kTemporal};
}

std::vector<std::uint64_t> spatial_candidates(std::uint64_t full, std::uint64_t unit) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t v = unit; v < full; v *= 2) out.push_back(v);
  out.push_back(full);
  return out;
}

std::vector<std::uint64_t> temporal_candidates(std::uint64_t full, bool chunk) {
  if (!chunk) return {full};
  std::vector<std::uint64_t> out;
  for (std::uint64_t d = 2; ceil_div(full, d / 2) > 1; d *= 2) out.push_back(ceil_div(full, d));
  if (out.empty()) out.push_back(1);
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

TilePlan plan_layer(const Layer& layer, const arch::Config& config) {
  const arch::GemmShape g = layer.gemm();
  const Roles roles = roles_for(config.array.dataflow);
  const std::uint64_t elem = arch::bytes_per_element(config.array.precision);
  const std::uint64_t dma_peak =
      std::min(config.dram.rate.millibytes_per_cycle(),
               std::uint64_t{config.dma.bytes_per_cycle} * config.dma.channels * 1000);
  const Rate transfer_rate = Rate::bytes_per_kilocycle(dma_peak);

  auto candidates = [&](Role r, std::uint64_t full, bool chunk) {
    return r == Role::kTemporal ? temporal_candidates(full, chunk)
                                : spatial_candidates(full, candidates_unit(r, config));
  };
  std::vector<std::uint64_t> tgs;
  for (std::uint64_t v = 1; v < g.batch; v *= 2) tgs.push_back(v);
  tgs.push_back(g.batch);

  TilePlan best;
  bool found = false;
  std::tuple<std::uint64_t, std::uint64_t, std::uint64_t> best_key{UINT64_MAX, UINT64_MAX, UINT64_MAX};
  for (int chunk = 0; chunk < 2 && !found; ++chunk) {
    for (auto tm : candidates(roles.m, g.m, chunk)) {
      for (auto tn : candidates(roles.n, g.n, chunk)) {
        for (auto tk : candidates(roles.k, g.k, chunk)) {
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
              const std::uint64_t transfers = ng * (nm * nk * in_reuse + nn * nk * w_reuse + nm * nn);
              const std::uint64_t dma = transfer_rate.time_for(traffic).count() +
                                        transfers * config.dma.setup_cycles / config.dma.channels +
                                        config.dram.latency_cycles.count();
              const std::uint64_t est = std::max(compute, dma) + std::min(compute, dma) / steps;
              const auto key = std::make_tuple(est, traffic, steps);
              if (key < best_key) {
                best_key = key;
                best = {tm, tn, tk, tg, n_outer, est, traffic};
                found = true;
              }
            }
          }
        }
      }
    }
  }
  if (!found) {
    throw InputError(fmt::format(
        "layer \"{}\": no tile fits the buffers of \"{}\" (even one {}x{} fold needs more than "
        "the per-slot capacity of some buffer on the operand paths)",
        layer.name, config.name, config.array.rows, config.array.cols));
  }
  return best;
}

namespace {

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

 private:
  struct Hazard {
    std::optional<std::uint32_t> writer;
    std::vector<std::uint32_t> readers;
  };
  const arch::Config& m_config;
  Trace& m_trace;
  std::map<std::pair<int, Operand>, std::uint32_t> m_slot;
  std::map<std::tuple<int, std::uint32_t, Operand>, Hazard> m_hazard;
};

struct Transfer {
  Operand op;
  std::uint64_t rows, row_bytes, address, stride_bytes;
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
    auto load_chain = [&](const std::vector<std::size_t>& path, const Transfer& t,
                          bool after_barrier) {
      Instruction ld;
      ld.op = Opcode::kLoad;
      ld.layer = li;
      ld.operand = t.op;
      ld.rows = t.rows;
      ld.row_bytes = t.row_bytes;
      ld.address = t.address;
      ld.stride_bytes = t.stride_bytes;
      ld.src = {kDram, 0};
      const int b0 = static_cast<int>(path[0]);
      ld.dst = {b0, em.next_slot(b0, t.op)};
      em.write_deps(b0, ld.dst.slot, t.op, ld.deps);
      if (after_barrier && prev_barrier) ld.deps.push_back(*prev_barrier);
      Location at = ld.dst;
      em.did_write(b0, at.slot, t.op, em.emit(std::move(ld)));
      for (std::size_t p = 1; p < path.size(); ++p) {
        Instruction mv;
        mv.op = Opcode::kMove;
        mv.layer = li;
        mv.operand = t.op;
        mv.rows = t.rows;
        mv.row_bytes = t.row_bytes;
        mv.src = at;
        const int b = static_cast<int>(path[p]);
        mv.dst = {b, em.next_slot(b, t.op)};
        em.read_deps(at.buffer, at.slot, t.op, mv.deps);
        em.write_deps(b, mv.dst.slot, t.op, mv.deps);
        const Location src = at;
        at = mv.dst;
        const auto id = em.emit(std::move(mv));
        em.did_read(src.buffer, src.slot, t.op, id);
        em.did_write(at.buffer, at.slot, t.op, id);
      }
      return at;
    };

    std::vector<std::uint32_t> stores;
    const std::uint64_t nm = ceil_div(g.m, plan.tm), nn = ceil_div(g.n, plan.tn),
                        nk = ceil_div(g.k, plan.tk), ng = ceil_div(g.batch, plan.tg);
    std::optional<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>> in_resident, w_resident;
    Location in_loc, w_loc;
    for (std::uint64_t gi = 0; gi < ng; ++gi) {
      const std::uint64_t g0 = gi * plan.tg, tg = std::min(plan.tg, g.batch - g0);
      const std::uint64_t outer_n = plan.n_outer ? nn : nm, inner_n = plan.n_outer ? nm : nn;
      for (std::uint64_t o = 0; o < outer_n; ++o) {
        for (std::uint64_t i = 0; i < inner_n; ++i) {
          const std::uint64_t mi = plan.n_outer ? i : o, ni = plan.n_outer ? o : i;
          const std::uint64_t m0 = mi * plan.tm, tm = std::min(plan.tm, g.m - m0);
          const std::uint64_t n0 = ni * plan.tn, tn = std::min(plan.tn, g.n - n0);
          Location out_loc;
          for (std::uint64_t ki = 0; ki < nk; ++ki) {
            const std::uint64_t k0 = ki * plan.tk, tk = std::min(plan.tk, g.k - k0);
            const auto in_key = std::make_tuple(gi, mi, ki);
            if (in_resident != in_key) {
              const std::uint64_t bytes = layer.input_tile_elements(tm, tk) * tg * elem;
              const bool gemm_like = layer.kind == LayerKind::kGemm;
              Transfer t{Operand::kInput, gemm_like ? tm * tg : tg,
                         gemm_like ? tk * elem : bytes / tg,
                         input_base + ((g0 * g.m + m0) * g.k + k0) * elem, g.k * elem};
              in_loc = load_chain(in_path, t, true);
              in_resident = in_key;
            }
            const auto w_key = std::make_tuple(gi, ki, ni);
            if (w_resident != w_key) {
              Transfer t{Operand::kWeight, tk * tg, tn * elem,
                         weight_base + ((g0 * g.k + k0) * g.n + n0) * elem, g.n * elem};
              w_loc = load_chain(w_path, t, false);
              w_resident = w_key;
            }
            Instruction gm;
            gm.op = Opcode::kGemm;
            gm.layer = li;
            gm.shape = {tm, tn, tk, tg};
            gm.dataflow = config.array.dataflow;
            gm.input = in_loc;
            gm.weight = w_loc;
            const int ob = static_cast<int>(out_path.back());
            if (ki == 0) {
              out_loc = {ob, em.next_slot(ob, Operand::kOutput)};
              em.write_deps(ob, out_loc.slot, Operand::kOutput, gm.deps);
            } else {
              em.write_deps(ob, out_loc.slot, Operand::kOutput, gm.deps);
            }
            gm.output = out_loc;
            gm.accumulate = ki > 0;
            em.read_deps(in_loc.buffer, in_loc.slot, Operand::kInput, gm.deps);
            em.read_deps(w_loc.buffer, w_loc.slot, Operand::kWeight, gm.deps);
            const auto id = em.emit(std::move(gm));
            em.did_read(in_loc.buffer, in_loc.slot, Operand::kInput, id);
            em.did_read(w_loc.buffer, w_loc.slot, Operand::kWeight, id);
            em.did_write(ob, out_loc.slot, Operand::kOutput, id);
          }
          // Output chain: innermost buffer -> ... -> path[0] -> DRAM.
          Location at = out_loc;
          for (std::size_t p = out_path.size() - 1; p > 0; --p) {
            Instruction mv;
            mv.op = Opcode::kMove;
            mv.layer = li;
            mv.operand = Operand::kOutput;
            mv.rows = tm * tg;
            mv.row_bytes = tn * elem;
            mv.src = at;
            const int b = static_cast<int>(out_path[p - 1]);
            mv.dst = {b, em.next_slot(b, Operand::kOutput)};
            em.read_deps(at.buffer, at.slot, Operand::kOutput, mv.deps);
            em.write_deps(b, mv.dst.slot, Operand::kOutput, mv.deps);
            const Location src = at;
            at = mv.dst;
            const auto id = em.emit(std::move(mv));
            em.did_read(src.buffer, src.slot, Operand::kOutput, id);
            em.did_write(at.buffer, at.slot, Operand::kOutput, id);
          }
          Instruction st;
          st.op = Opcode::kStore;
          st.layer = li;
          st.operand = Operand::kOutput;
          st.rows = tm * tg;
          st.row_bytes = tn * elem;
          st.address = output_base + ((g0 * g.m + m0) * g.n + n0) * elem;
          st.stride_bytes = g.n * elem;
          st.src = at;
          st.dst = {kDram, 0};
          em.read_deps(at.buffer, at.slot, Operand::kOutput, st.deps);
          const auto id = em.emit(std::move(st));
          em.did_read(at.buffer, at.slot, Operand::kOutput, id);
          stores.push_back(id);
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
