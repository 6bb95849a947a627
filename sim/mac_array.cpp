#include "sim/mac_array.h"

#include "arch/systolic.h"
#include "arch/vector.h"
#include "workloads/actions.h"

namespace tessel::sim {

MacArray::MacArray(sc_core::sc_module_name name, const arch::Config& config, Sequencer& sequencer,
                   std::vector<SramBuffer*> buffers, Attribution& segments)
    : InOrderUnit(name, sequencer, Cause::kDependency),
      m_config(config),
      m_buffers(std::move(buffers)),
      m_segments(segments) {}

Cycles MacArray::execute(const workloads::Instruction& inst, Cycles now) {
  if (now > busy_until()) {
    m_segments.segment({busy_until(), now, ArraySegment::Kind::kIdle, inst.id});
  }
  const arch::MacRate rate =
      m_config.array.rate(mac_dtype(inst.input_dtype, inst.weight_dtype)).value_or(arch::MacRate{});
  const Cycles compute = arch::gemm_cycles(m_config.array, inst.shape, inst.fold_overhead, rate);
  Cycles end = now + compute;
  for (const auto& a : workloads::buffer_accesses(m_config, inst))
    end = max(end, m_buffers[a.at.buffer]->access(a.at.slot, now, now, a.bytes, a.write));
  m_segments.segment({now, now + compute, ArraySegment::Kind::kCompute, inst.id});
  if (end > now + compute) {
    m_segments.segment({now + compute, end, ArraySegment::Kind::kSramStretch, inst.id});
  }
  return end;
}

VectorUnit::VectorUnit(sc_core::sc_module_name name, const arch::Config& config,
                       Sequencer& sequencer, std::vector<SramBuffer*> buffers)
    : InOrderUnit(name, sequencer, Cause::kVector),
      m_config(config),
      m_buffers(std::move(buffers)) {}

Cycles VectorUnit::execute(const workloads::Instruction& inst, Cycles now) {
  Cycles end = now + arch::vector_cycles(m_config.vector, inst.work);
  for (const auto& a : workloads::buffer_accesses(m_config, inst))
    end = max(end, m_buffers[a.at.buffer]->access(a.at.slot, now, now, a.bytes, a.write));
  m_busy_by_layer[inst.layer] += end - now;
  return end;
}

}  // namespace tessel::sim
