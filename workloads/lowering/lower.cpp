#include "workloads/lowering/lower.h"

#include "workloads/lowering/lowerer.h"
#include "workloads/lowering/residency.h"
#include "workloads/lowering/schedule.h"

namespace tessel::workloads {

void Lowerer::plan() {
  Schedule schedule = plan_schedule(m_workload, m_config);
  m_out.workload = std::move(schedule.workload);
  m_out.groups = std::move(schedule.groups);
  m_out.mappings = std::move(schedule.mappings);
  m_out.residency = std::move(schedule.residency);
  m_out.trace.workload = m_out.workload.name;
  for (const Layer& layer : m_out.workload.layers) m_out.trace.layers.push_back(layer.name);
}

void Lowerer::emit() {
  const Workload& workload = m_out.workload;
  m_input_base = allocate(0);
  for (const Layer& layer : workload.layers) {
    m_types.push_back(layer_types(layer, m_config));
    m_output_bytes.push_back(bytes_for(layer.tensor_elements(), m_types.back().activation));
  }
  m_weight_base.assign(workload.layers.size(), 0);
  m_weight_preload.assign(workload.layers.size(), 0);
  for (std::uint32_t li = 0; li < workload.layers.size(); ++li) {
    const Layer& layer = workload.layers[li];
    m_li = li;
    // A stripe layer writes its rows of the tensor its first stripe owns.
    const auto& slice = layer.output_slice;
    m_output_base.push_back(
        slice && slice->tensor != li
            ? m_output_base[slice->tensor] +
                  bytes_for(slice->row0 * layer.output_row_elements(), m_types[li].activation)
            : allocate(m_output_bytes[li]));
    const Mapping& plan = m_out.mappings[li];
    const std::vector<std::uint32_t> finals =
        layer.attention    ? lower_attention(layer, plan, m_types[li])
        : layer.on_array() ? lower_gemm(layer, plan, m_types[li])
                           : lower_rows(layer, plan, m_types[li]);
    Instruction barrier;
    barrier.op = Opcode::kBarrier;
    barrier.layer = li;
    if (finals.empty()) {
      const std::vector<std::uint32_t> producers = producer_barriers(layer.inputs);
      barrier.deps.assign(producers.begin(), producers.end());
    } else {
      barrier.deps.assign(finals.begin(), finals.end());
    }
    // Readers of a striped tensor name its last stripe: its barrier
    // follows every earlier stripe's.
    if (slice && slice->tensor != li) barrier.deps.push_back(m_slice_barrier.at(slice->tensor));
    m_barrier.push_back(m_em.emit(std::move(barrier)));
    if (slice) m_slice_barrier[slice->tensor] = m_barrier.back();
  }
}

namespace {

// Holds the trace whole, allocated once: each mapping counts its
// instructions exactly (mapping_cost.h), so it is not regrown (which held
// up to three times its size at once).
class TraceCollector final : public InstructionSink {
 public:
  explicit TraceCollector(Trace& trace) : m_trace(trace) {}
  void put(Instruction inst) override { m_trace.instructions.push_back(std::move(inst)); }

 private:
  Trace& m_trace;
};

// Emits nowhere: plan_lowering() never calls emit().
class NoSink final : public InstructionSink {
 public:
  void put(Instruction) override {}
};

}  // namespace

Lowered plan_lowering(const Workload& workload, const arch::Config& config) {
  validate_edges(workload, workload.name);
  Lowered out;
  NoSink sink;
  Lowerer(workload, config, out, sink).plan();
  return out;
}

Lowered lower(const Workload& workload, const arch::Config& config) {
  validate_edges(workload, workload.name);
  Lowered out;
  TraceCollector sink(out.trace);
  Lowerer lowerer(workload, config, out, sink);
  lowerer.plan();
  std::uint64_t instructions = 0;
  for (const Mapping& m : out.mappings) instructions += m.instructions;
  out.trace.instructions.reserve(instructions);
  lowerer.emit();
  return out;
}

}  // namespace tessel::workloads
