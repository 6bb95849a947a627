#include "sim/mac_array.h"

#include "arch/systolic.h"
#include "arch/vector.h"

namespace tessel::sim {

MacArray::MacArray(sc_core::sc_module_name name, const arch::ArrayConfig& config,
                   Sequencer& sequencer, std::vector<SramBuffer*> buffers,
                   std::vector<std::uint32_t> program)
    : InOrderUnit(name, sequencer, std::move(program), Cause::kDependency),
      m_config(config),
      m_buffers(std::move(buffers)) {}

Cycles MacArray::execute(const workloads::Instruction& inst, Cycles now) {
  if (now > busy_until()) {
    m_segments.push_back({busy_until(), now, ArraySegment::Kind::kIdle, inst.id});
  }
  const arch::MacRate rate =
      m_config.rate(mac_dtype(inst.input_dtype, inst.weight_dtype)).value_or(arch::MacRate{});
  const Cycles compute = arch::gemm_cycles(m_config.dataflow, m_config.rows, m_config.cols,
                                           inst.shape, inst.fold_overhead, rate);
  const auto traffic = arch::array_traffic(m_config.dataflow, m_config.rows, m_config.cols,
                                           arch::packed(inst.shape, rate));
  // Traffic counts elements of the packed shape; packing keeps the bytes.
  const std::uint64_t pack_bits = rate.pack;
  auto port = [&](const workloads::Location& at, std::uint64_t elements, DType dtype, bool write) {
    const std::uint64_t bytes = ceil_div(elements * bits(dtype) * pack_bits, 8);
    return m_buffers[at.buffer]->access(at.slot, now, now, bytes, write);
  };
  Cycles end = now + compute;
  end = max(end, port(inst.input, traffic.input_elements, inst.input_dtype, false));
  end = max(end, port(inst.weight, traffic.weight_elements, inst.weight_dtype, false));
  if (inst.accumulate) {
    const std::uint64_t partials = inst.shape.m * inst.shape.n * inst.shape.batch;
    end = max(end, m_buffers[inst.output.buffer]->access(
                       inst.output.slot, now, now, bytes_for(partials, inst.output_dtype), false));
  }
  end = max(end, m_buffers[inst.output.buffer]->access(
                     inst.output.slot, now, now,
                     bytes_for(traffic.output_elements, inst.output_dtype), true));
  m_segments.push_back({now, now + compute, ArraySegment::Kind::kCompute, inst.id});
  if (end > now + compute) {
    m_segments.push_back({now + compute, end, ArraySegment::Kind::kSramStretch, inst.id});
  }
  return end;
}

VectorUnit::VectorUnit(sc_core::sc_module_name name, const arch::VectorConfig& config,
                       Sequencer& sequencer, std::vector<SramBuffer*> buffers,
                       std::vector<std::uint32_t> program)
    : InOrderUnit(name, sequencer, std::move(program), Cause::kVector),
      m_config(config),
      m_buffers(std::move(buffers)) {}

Cycles VectorUnit::execute(const workloads::Instruction& inst, Cycles now) {
  Cycles end = now + arch::vector_cycles(m_config, inst.work);
  const std::uint64_t share = ceil_div(inst.in_bytes, inst.sources.size());
  for (const auto& s : inst.sources)
    end = max(end, m_buffers[s.buffer]->access(s.slot, now, now, share, false));
  end = max(
      end, m_buffers[inst.output.buffer]->access(inst.output.slot, now, now, inst.out_bytes, true));
  m_busy_by_layer[inst.layer] += end - now;
  return end;
}

}  // namespace tessel::sim
