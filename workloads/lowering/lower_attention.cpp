// Fused attention (lowerer.h): the walk of attention.h, step by step.
#include "workloads/lowering/lowerer.h"

#include <optional>

#include "workloads/lowering/attention.h"
#include "workloads/lowering/mapping_cost.h"

namespace tessel::workloads {

using arch::Operand;

// Fused attention (attention.h): the steps of walk_attention, each as
// one GEMM, VECTOR, LOAD chain, MOVE or store chain.
std::vector<std::uint32_t> Lowerer::lower_attention(const Layer& layer, const Mapping& plan,
                                                    const LayerTypes& types) {
  const std::uint64_t d = layer.k, kv = layer.n, cols = layer.attention->cols, rows = layer.m;
  const DType a = types.activation, w = types.weight;
  const bool value_external = layer.attention->value == OperandSource::kExternal;
  // K and V: their producers' tensors, or, from outside (a KV cache), allocated here.
  const std::uint64_t key_base = layer.second == OperandSource::kProducer
                                     ? tensor_base(layer.second_producer)
                                     : allocate(layer.batch * d * bytes_for(kv, w));
  const std::uint64_t value_base = value_external ? allocate(layer.batch * kv * bytes_for(cols, w))
                                                  : tensor_base(layer.attention->value_producer);
  const std::uint64_t query_base = input_address(layer), output_base = m_output_base[m_li];
  const std::vector<std::uint32_t> query_after = producer_barriers(layer.inputs);
  const std::vector<std::uint32_t> key_after = layer.second == OperandSource::kProducer
                                                   ? producer_barriers({layer.second_producer})
                                                   : std::vector<std::uint32_t>{};
  const std::vector<std::uint32_t> value_after =
      value_external ? std::vector<std::uint32_t>{}
                     : producer_barriers({layer.attention->value_producer});
  const std::optional<Location> out_home = home(m_li);
  const int ob = static_cast<int>(m_out_path.back()), ib = static_cast<int>(m_in_path.back());
  Location query, key, value, probs, output;
  Location scores[2];
  std::vector<std::uint32_t> stores;
  auto gemm = [&](const arch::GemmShape& shape, Location in, Role in_role, Location wt, Role w_role,
                  Location out, Role out_role, bool accumulate) {
    Instruction gm;
    gm.op = Opcode::kGemm;
    gm.layer = m_li;
    gm.shape = shape;
    gm.dataflow = m_config.array.dataflow;
    gm.input = in;
    gm.weight = wt;
    gm.output = out;
    gm.accumulate = accumulate;
    gm.input_dtype = gm.output_dtype = a;
    gm.weight_dtype = w;
    m_em.write_deps(out, out_role, gm.deps);
    m_em.read_deps(in, in_role, gm.deps);
    m_em.read_deps(wt, w_role, gm.deps);
    const auto id = m_em.emit(std::move(gm));
    m_em.did_read(in, in_role, id);
    m_em.did_read(wt, w_role, id);
    m_em.did_write(out, out_role, id);
  };
  walk_attention(layer, plan, [&](const AttentionStep& s) {
    const AttentionTileBytes b = attention_bytes(s, layer, types);
    Location& block_scores = scores[s.block % 2];
    switch (s.kind) {
      case AttentionStep::kLoadQuery: {
        const Transfer t{Operand::kInput, s.tg * s.tm, bytes_for(d, a),
                         query_base + bytes_for((s.g0 * rows + s.m0) * d, a), bytes_for(d, a)};
        query = load_chain(m_in_path, t, query_after);
        break;
      }
      case AttentionStep::kLoadKey: {
        const Transfer t{Operand::kWeight, s.tg * d, bytes_for(s.bc, w),
                         key_base + bytes_for(s.g0 * d * kv + s.j0, w), bytes_for(kv, w)};
        key = load_chain(m_w_path, t, key_after);
        break;
      }
      case AttentionStep::kLoadValue: {
        const Transfer t{Operand::kWeight,   s.tg * s.bc,
                         bytes_for(cols, w), value_base + bytes_for((s.g0 * kv + s.j0) * cols, w),
                         bytes_for(cols, w), false,
                         Role::kv_values()};
        value = load_chain(m_w_path, t, value_after);
        break;
      }
      case AttentionStep::kScores:
        block_scores = Location{ob, m_em.next_slot(ob, Role::scores())};
        gemm(scores_shape(s, layer), query, Operand::kInput, key, Operand::kWeight, block_scores,
             Role::scores(), false);
        break;
      case AttentionStep::kSoftmax:
        vector(attention_vector_work(s, layer), {block_scores}, {Role::scores()}, block_scores,
               b.scores, b.probs, 0, {}, Role::scores());
        break;
      case AttentionStep::kMoveProbs: {
        const Transfer t{Operand::kInput, s.tg * s.tm,   bytes_for(s.bc, a), 0, 0,
                         false,           Role::probs(), Role::scores()};
        probs = m_em.fetch(m_li, t, block_scores, ib, {});
        break;
      }
      case AttentionStep::kContext:
        if (s.block == 0) output = Location{ob, m_em.next_slot(ob, Operand::kOutput)};
        gemm(context_shape(s, layer), probs, Role::probs(), value, Role::kv_values(), output,
             Operand::kOutput, s.block > 0);
        break;
      case AttentionStep::kRescale:
      case AttentionStep::kNormalize:
        vector(attention_vector_work(s, layer), {output}, {Operand::kOutput}, output, b.output,
               b.output);
        break;
      case AttentionStep::kStore: {
        const Transfer t{Operand::kOutput, s.tg * s.tm, bytes_for(cols, a),
                         output_base + bytes_for((s.g0 * rows + s.m0) * cols, a),
                         bytes_for(cols, a)};
        stores.push_back(store_chain(m_out_path, output, t, out_home, s.tile));
        break;
      }
    }
  });
  return stores;
}

}  // namespace tessel::workloads
