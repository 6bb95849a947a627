#include "workloads/lowering/lower.h"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "arch/dataflow.h"
#include "arch/error.h"
#include "workloads/lowering/emitter.h"
#include "workloads/lowering/mapping_cost.h"

namespace tessel::workloads {

namespace {

using arch::Operand;

// Lowers one workload; one instance per lower() call.
class Lowerer {
 public:
  Lowerer(const Workload& workload, const arch::Config& config, Lowered& out)
      : m_workload(workload),
        m_config(config),
        m_out(out),
        m_em(config, out.trace),
        m_mapper(make_mapper(config.schedule.mapper, config.source)),
        m_context(config),
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
      Mapping plan;
      switch (layer.kind) {
        case LayerKind::kConv2d:
        case LayerKind::kGemm:
          plan = m_mapper->map(layer, m_context);
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
      m_out.mappings.push_back(plan);
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
      m_em.read_deps(sources[s], source_ops[s], v.deps);
    }
    m_em.write_deps(output, Operand::kOutput, v.deps);
    const auto id = m_em.emit(std::move(v));
    for (std::size_t s = 0; s < sources.size(); ++s) {
      m_em.did_read(sources[s], source_ops[s], id);
    }
    m_em.did_write(output, Operand::kOutput, id);
  }

  std::vector<std::uint32_t> lower_gemm(const Layer& layer, const Mapping& plan,
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
    const char tdim = arch::dataflow_row(m_config.array.dataflow).temporal_dim;
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
                plan.chunking != Mapping::Chunking::kStreamFold || t_index + 1 == count.of(tdim);
            m_em.write_deps(out_loc, Operand::kOutput, gm.deps);
            m_em.read_deps(in_loc, Operand::kInput, gm.deps);
            m_em.read_deps(w_loc, Operand::kWeight, gm.deps);
            const auto id = m_em.emit(std::move(gm));
            m_em.did_read(in_loc, Operand::kInput, id);
            m_em.did_read(w_loc, Operand::kWeight, id);
            m_em.did_write(out_loc, Operand::kOutput, id);
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
  std::vector<std::uint32_t> lower_rows(const Layer& layer, Mapping& plan,
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
    plan = Mapping{};
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
  std::unique_ptr<IMapper> m_mapper;
  MapContext m_context;
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
