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

using arch::MacRate;
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

// The tile granule of a dimension: the array side it maps to; the reduction
// on the rows holds `pack` elements per PE at packed precisions.
std::uint64_t candidates_unit(Role r, const arch::Config& c, bool reduction = false,
                              MacRate rate = {}) {
  return r == Role::kRows ? std::uint64_t{c.array.rows} * (reduction ? rate.pack : 1)
                          : c.array.cols;
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
                     std::uint64_t tg, const LayerTypes& t) {
  return {bytes_for(l.input_tile_elements(tm, tk) * tg, t.activation),
          bytes_for(tk * tn * tg, t.weight), bytes_for(tm * tn * tg, t.activation)};
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
std::uint64_t walk_traffic(std::string_view order, const Extents& count, std::uint64_t ng,
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

LayerTypes layer_types(const Layer& layer, const arch::Config& config) {
  LayerTypes t;
  t.activation = layer.dtype.value_or(config.array.precision);
  t.weight = layer.weight_dtype.value_or(t.activation);
  t.mac = mac_dtype(t.activation, t.weight);
  if (layer.on_array()) {
    const auto rate = config.array.rate(t.mac);
    if (!rate) {
      throw InputError(
          fmt::format("layer \"{}\": needs {} MACs ({} x {}); the array of \"{}\" "
                      "supports {} (arch.array.macs_per_pe_per_cycle)",
                      layer.name, to_string(t.mac), to_string(t.activation), to_string(t.weight),
                      config.name, config.array.supported()));
    }
    t.rate = *rate;
  }
  return t;
}

TilePlan plan_layer(const Layer& layer, const arch::Config& config) {
  const arch::GemmShape g = layer.gemm();
  const Roles roles = roles_for(config.array.dataflow);
  const LayerTypes types = layer_types(layer, config);
  const MacRate rate = types.rate;
  const bool row_wise_epilogue = layer.fused && (layer.fused->op == arch::VectorOp::kSoftmax ||
                                                 layer.fused->op == arch::VectorOp::kLayerNorm ||
                                                 layer.fused->op == arch::VectorOp::kRmsNorm);
  const std::uint64_t dma_peak =
      std::min(config.dram.rate.millibytes_per_cycle(),
               std::uint64_t{config.dma.bytes_per_cycle} * config.dma.channels * 1000);
  const Rate transfer_rate = Rate::bytes_per_kilocycle(dma_peak);
  const char tdim = temporal_dim(config.array.dataflow);
  const Cycles untiled_compute =
      arch::gemm_cycles(config.array.dataflow, config.array.rows, config.array.cols, g, true, rate);

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
  auto candidates = [&](Role r, std::uint64_t full, char dim) {
    if (dim == 'n' && row_wise_epilogue) return std::vector<std::uint64_t>{full};
    return r == Role::kTemporal
               ? temporal_list
               : spatial_candidates(full, candidates_unit(r, config, dim == 'k', rate));
  };
  auto search_k_inner = [&](TilePlan::Chunking chunking) {
    for (auto tm : candidates(roles.m, g.m, 'm')) {
      for (auto tn : candidates(roles.n, g.n, 'n')) {
        for (auto tk : candidates(roles.k, g.k, 'k')) {
          for (auto tg : tgs) {
            const TileBytes b = tile_bytes(layer, tm, tn, tk, tg, types);
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
                                                 config.array.cols, {sm, sn, sk, sg}, true, rate)
                                   .count() *
                               cm * cn * ck * cg;
            const std::uint64_t steps = nm * nn * nk * ng;
            for (bool n_outer : {true, false}) {
              const auto [in_reuse, w_reuse] = reuse_factors(nm, nn, nk, n_outer);
              const std::uint64_t traffic = b.input * ng * nm * nk * in_reuse +
                                            b.weight * ng * nn * nk * w_reuse +
                                            bytes_for(g.m * g.n * g.batch, types.activation);
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
  const std::uint64_t fold_n =
      roles.n == Role::kTemporal ? 0 : (row_wise_epilogue ? g.n : candidates_unit(roles.n, config));
  const std::uint64_t fold_k =
      roles.k == Role::kTemporal ? 0 : candidates_unit(roles.k, config, true, rate);
  const std::string_view order = tdim == 'k' ? "mnk" : tdim == 'm' ? "nkm" : "mkn";
  for (std::uint64_t d = 2; ceil_div(full_t, d / 2) > 1; d *= 2) {
    const std::uint64_t tt = ceil_div(full_t, d);
    const std::uint64_t tm = fold_m ? std::min(fold_m, g.m) : tt;
    const std::uint64_t tn = fold_n ? std::min(fold_n, g.n) : tt;
    const std::uint64_t tk = fold_k ? std::min(fold_k, g.k) : tt;
    const TileBytes b = tile_bytes(layer, tm, tn, tk, 1, types);
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
                 const std::vector<std::uint32_t>& after) {
    Instruction i = transfer(layer, t, src ? Opcode::kMove : Opcode::kLoad);
    i.src = src.value_or(Location{kDram, 0});
    i.dst = {buffer, next_slot(buffer, t.op)};
    if (src) read_deps(src->buffer, src->slot, t.op, i.deps);
    write_deps(buffer, i.dst.slot, t.op, i.deps);
    i.deps.insert(i.deps.end(), after.begin(), after.end());
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

namespace {

// Lowers one workload; one instance per lower() call.
class Lowerer {
 public:
  Lowerer(const Workload& workload, const arch::Config& config, Lowered& out)
      : m_workload(workload),
        m_config(config),
        m_out(out),
        m_em(config, out.trace),
        m_in_path(config.path(Operand::kInput)),
        m_w_path(config.path(Operand::kWeight)),
        m_out_path(config.path(Operand::kOutput)) {}

  void run() {
    m_out.trace.workload = m_workload.name;
    m_input_base = allocate(0);
    for (std::uint32_t li = 0; li < m_workload.layers.size(); ++li) {
      const Layer& layer = m_workload.layers[li];
      m_out.trace.layers.push_back(layer.name);
      m_li = li;
      const LayerTypes types = layer_types(layer, m_config);
      m_output_base.push_back(allocate(bytes_for(layer.output_elements(), types.activation)));
      std::vector<std::uint32_t> finals;
      TilePlan plan;
      switch (layer.kind) {
        case LayerKind::kConv2d:
        case LayerKind::kGemm:
          plan = plan_layer(layer, m_config);
          finals = lower_gemm(layer, plan, types);
          break;
        case LayerKind::kVector:
          finals = lower_rows(layer, plan, types);
          break;
        case LayerKind::kDataMove:
        case LayerKind::kEmbedding:
          finals = lower_rows(layer, plan, types);
          break;
      }
      m_out.plans.push_back(plan);
      Instruction barrier;
      barrier.op = Opcode::kBarrier;
      barrier.layer = li;
      barrier.deps = finals.empty() ? producer_barriers(layer.inputs) : finals;
      m_barrier.push_back(m_em.emit(std::move(barrier)));
    }
  }

 private:
  std::uint64_t allocate(std::uint64_t bytes) {
    const std::uint64_t a = m_next_address;
    m_next_address += (bytes + 4095) / 4096 * 4096;
    return a;
  }

  std::vector<std::uint32_t> producer_barriers(const std::vector<std::size_t>& producers) const {
    std::vector<std::uint32_t> out;
    for (auto p : producers) out.push_back(m_barrier[p]);
    return out;
  }

  std::uint64_t input_address(const Layer& layer, std::size_t which = 0) const {
    return layer.inputs.size() > which ? m_output_base[layer.inputs[which]] : m_input_base;
  }

  // DRAM -> path[0] -> ... -> path.back(); returns the innermost location.
  Location load_chain(const std::vector<std::size_t>& path, const Transfer& t,
                      const std::vector<std::uint32_t>& after) {
    Location at = m_em.fetch(m_li, t, std::nullopt, static_cast<int>(path[0]), after);
    for (std::size_t p = 1; p < path.size(); ++p) {
      at = m_em.fetch(m_li, t, at, static_cast<int>(path[p]), {});
    }
    return at;
  }

  // Innermost buffer -> ... -> path[0] -> DRAM; returns the STORE.
  std::uint32_t store_chain(const std::vector<std::size_t>& path, Location at, const Transfer& t) {
    for (std::size_t p = path.size() - 1; p > 0; --p) {
      at = m_em.fetch(m_li, t, at, static_cast<int>(path[p - 1]), {});
    }
    return m_em.store(m_li, t, at);
  }

  // A VECTOR instruction reading `sources` (operands `source_ops`) and
  // writing `output` (operand kOutput).
  void vector(const arch::VectorWork& work, const std::vector<Location>& sources,
              const std::vector<Operand>& source_ops, Location output, std::uint64_t in_bytes,
              std::uint64_t out_bytes) {
    Instruction v;
    v.op = Opcode::kVector;
    v.layer = m_li;
    v.work = work;
    v.sources = sources;
    v.output = output;
    v.in_bytes = in_bytes;
    v.out_bytes = out_bytes;
    for (std::size_t s = 0; s < sources.size(); ++s) {
      m_em.read_deps(sources[s].buffer, sources[s].slot, source_ops[s], v.deps);
    }
    m_em.write_deps(output.buffer, output.slot, Operand::kOutput, v.deps);
    const auto id = m_em.emit(std::move(v));
    for (std::size_t s = 0; s < sources.size(); ++s) {
      m_em.did_read(sources[s].buffer, sources[s].slot, source_ops[s], id);
    }
    m_em.did_write(output.buffer, output.slot, Operand::kOutput, id);
  }

  std::vector<std::uint32_t> lower_gemm(const Layer& layer, const TilePlan& plan,
                                        const LayerTypes& types) {
    const arch::GemmShape g = layer.gemm();
    const std::uint64_t in_bits = bits(types.activation), w_bits = bits(types.weight);
    auto row_bytes = [](std::uint64_t elements, std::uint64_t b) {
      return ceil_div(elements * b, 8);
    };
    const std::uint64_t input_base = input_address(layer);
    const std::uint64_t weight_base =
        layer.second == OperandSource::kProducer
            ? m_output_base[layer.second_producer]
            : allocate(bytes_for(layer.weight_elements(), types.weight));
    const std::uint64_t output_base = m_output_base[m_li];
    const std::vector<std::uint32_t> input_after = producer_barriers(layer.inputs);
    const std::vector<std::uint32_t> weight_after = layer.second == OperandSource::kProducer
                                                        ? producer_barriers({layer.second_producer})
                                                        : std::vector<std::uint32_t>{};

    std::vector<std::uint32_t> stores;
    const Extents count{ceil_div(g.m, plan.tm), ceil_div(g.n, plan.tn), ceil_div(g.k, plan.tk)};
    const std::uint64_t ng = ceil_div(g.batch, plan.tg);
    const char tdim = temporal_dim(m_config.array.dataflow);
    const bool k_inner = plan.order[2] == 'k';
    std::optional<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>> in_resident, w_resident;
    std::map<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>, std::uint32_t> partial_store;
    Location in_loc, w_loc, out_loc;
    const int ob = static_cast<int>(m_out_path.back());

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
              const std::uint64_t bytes =
                  bytes_for(layer.input_tile_elements(tm, tk) * tg, types.activation);
              const bool gemm_like = layer.kind == LayerKind::kGemm;
              Transfer t{Operand::kInput, gemm_like ? tm * tg : 1,
                         gemm_like ? row_bytes(tk, in_bits) : bytes,
                         input_base + row_bytes((g0 * g.m + m0) * g.k + k0, in_bits),
                         row_bytes(g.k, in_bits)};
              in_loc = load_chain(m_in_path, t, input_after);
              in_resident = in_key;
            }
            const auto w_key = std::make_tuple(gi, ki, ni);
            if (w_resident != w_key) {
              Transfer t{Operand::kWeight, tk * tg, row_bytes(tn, w_bits),
                         weight_base + row_bytes((g0 * g.k + k0) * g.n + n0, w_bits),
                         row_bytes(g.n, w_bits)};
              w_loc = load_chain(m_w_path, t, weight_after);
              w_resident = w_key;
            }
            const Transfer out_t{Operand::kOutput, tm * tg, row_bytes(tn, in_bits),
                                 output_base + row_bytes((g0 * g.m + m0) * g.n + n0, in_bits),
                                 row_bytes(g.n, in_bits)};
            const auto out_key = std::make_tuple(gi, mi, ni);
            if (ki == 0 || !k_inner) {
              if (ki > 0) {
                // Partial sums come back from DRAM after the previous visit's store.
                out_loc = load_chain(m_out_path, out_t, {partial_store.at(out_key)});
              } else {
                out_loc = {ob, m_em.next_slot(ob, Operand::kOutput)};
              }
            }
            Instruction gm;
            gm.op = Opcode::kGemm;
            gm.layer = m_li;
            gm.shape = {tm, tn, tk, tg};
            gm.dataflow = m_config.array.dataflow;
            gm.input = in_loc;
            gm.weight = w_loc;
            gm.output = out_loc;
            gm.accumulate = ki > 0;
            gm.input_dtype = gm.output_dtype = types.activation;
            gm.weight_dtype = types.weight;
            const std::uint64_t t_index = tdim == 'm' ? mi : tdim == 'n' ? ni : ki;
            gm.fold_overhead =
                plan.chunking != TilePlan::Chunking::kStreamFold || t_index + 1 == count.of(tdim);
            m_em.write_deps(ob, out_loc.slot, Operand::kOutput, gm.deps);
            m_em.read_deps(in_loc.buffer, in_loc.slot, Operand::kInput, gm.deps);
            m_em.read_deps(w_loc.buffer, w_loc.slot, Operand::kWeight, gm.deps);
            const auto id = m_em.emit(std::move(gm));
            m_em.did_read(in_loc.buffer, in_loc.slot, Operand::kInput, id);
            m_em.did_read(w_loc.buffer, w_loc.slot, Operand::kWeight, id);
            m_em.did_write(ob, out_loc.slot, Operand::kOutput, id);
            const bool final_k = ki + 1 == count.k;
            if (final_k && layer.fused) {
              arch::VectorWork work = *layer.fused;
              work.rows = tm * tg;
              work.row_length = tn;
              const std::uint64_t bytes = bytes_for(tm * tn * tg, types.activation);
              vector(work, {out_loc}, {Operand::kOutput}, out_loc, bytes, bytes);
            }
            if (final_k || !k_inner) {
              const auto st = store_chain(m_out_path, out_loc, out_t);
              if (final_k) {
                stores.push_back(st);
              } else {
                partial_store[out_key] = st;
              }
            }
          }
    }
    return stores;
  }

  // Layers off the MAC array, tiled by rows through the vector unit's
  // buffer: LOAD the inputs, VECTOR (if any), STORE the output.
  std::vector<std::uint32_t> lower_rows(const Layer& layer, TilePlan& plan,
                                        const LayerTypes& types) {
    if (layer.kind == LayerKind::kDataMove && layer.move == MoveKind::kReshape) return {};
    const int vb = static_cast<int>(m_config.vector.buffer);
    const auto& buffer = m_config.sram[vb];
    std::uint64_t rows = 0, in_elements = 0, out_elements = 0;
    switch (layer.kind) {
      case LayerKind::kVector:
        rows = layer.work.rows;
        in_elements = layer.in_elements;
        out_elements = layer.out_elements;
        break;
      case LayerKind::kDataMove:
        rows = layer.elements;
        in_elements = out_elements = layer.elements;
        break;
      case LayerKind::kEmbedding:
        rows = layer.tokens;
        in_elements = out_elements = layer.tokens * layer.dim;
        break;
      default:
        return {};
    }
    const bool computes = layer.kind == LayerKind::kVector;
    auto tile_in = [&](std::uint64_t r) {
      return bytes_for(ceil_div(in_elements * r, rows), types.activation);
    };
    auto tile_out = [&](std::uint64_t r) {
      return bytes_for(ceil_div(out_elements * r, rows), types.activation);
    };
    // Input and output tiles share the slot when the layer computes; a pure
    // move stages its data once.
    auto need = [&](std::uint64_t r) { return computes ? tile_in(r) + tile_out(r) : tile_in(r); };
    if (need(1) > buffer.tile_budget_bytes()) {
      throw InputError(fmt::format(
          "layer \"{}\": one row ({} B in, {} B out) does not fit the "
          "vector buffer \"{}\" ({} B per slot)",
          layer.name, tile_in(1), tile_out(1), buffer.name, buffer.tile_budget_bytes()));
    }
    // The largest tile that fits, split further while the pipeline would
    // still have few tiles to overlap (at least 4 when rows allow).
    std::uint64_t tr = rows;
    while (need(tr) > buffer.tile_budget_bytes()) tr = ceil_div(tr, 2);
    while (ceil_div(rows, tr) < 4 && tr > 1 && need(tr) > 4096) tr = ceil_div(tr, 2);
    plan = TilePlan{};
    plan.tm = tr;
    plan.order = "-";

    const std::size_t n_inputs = computes ? std::max<std::size_t>(1, layer.inputs.size()) : 1;
    const std::vector<std::uint32_t> after = layer.kind == LayerKind::kEmbedding
                                                 ? std::vector<std::uint32_t>{}
                                                 : producer_barriers(layer.inputs);
    std::vector<std::uint32_t> stores;
    for (std::uint64_t r0 = 0; r0 < rows; r0 += tr) {
      const std::uint64_t r = std::min(tr, rows - r0);
      std::vector<Location> sources;
      std::vector<Operand> ops;
      const std::uint64_t in_bytes = tile_in(r);
      for (std::size_t i = 0; i < n_inputs; ++i) {
        const Operand op = i == 0 ? Operand::kInput : Operand::kWeight;
        const std::uint64_t share = ceil_div(in_bytes, n_inputs);
        Transfer t{
            op, layer.kind == LayerKind::kEmbedding ? r : 1,
            layer.kind == LayerKind::kEmbedding ? bytes_for(layer.dim, types.activation) : share,
            input_address(layer, i) + r0 * share / std::max<std::uint64_t>(r, 1), 0};
        sources.push_back(m_em.fetch(m_li, t, std::nullopt, vb, after));
        ops.push_back(op);
      }
      const Transfer out_t{Operand::kOutput, 1, tile_out(r),
                           m_output_base[m_li] + r0 * tile_out(r) / std::max<std::uint64_t>(r, 1),
                           0};
      if (computes) {
        arch::VectorWork work = layer.work;
        work.rows = r;
        const Location out{vb, m_em.next_slot(vb, Operand::kOutput)};
        vector(work, sources, ops, out, in_bytes, tile_out(r));
        stores.push_back(m_em.store(m_li, out_t, out));
      } else {
        Transfer t = out_t;
        t.op = Operand::kInput;
        stores.push_back(m_em.store(m_li, t, sources[0]));
      }
    }
    return stores;
  }

  const Workload& m_workload;
  const arch::Config& m_config;
  Lowered& m_out;
  Emitter m_em;
  const std::vector<std::size_t> m_in_path, m_w_path, m_out_path;
  std::uint32_t m_li = 0;
  std::uint64_t m_next_address = 0;
  std::uint64_t m_input_base = 0;
  std::vector<std::uint64_t> m_output_base;  // per layer
  std::vector<std::uint32_t> m_barrier;      // per layer
};

}  // namespace

Lowered lower(const Workload& workload, const arch::Config& config) {
  validate_edges(workload, workload.name);
  Lowered out;
  Lowerer(workload, config, out).run();
  return out;
}

}  // namespace tessel::workloads
