#include "sim/mac_array.h"

#include <algorithm>

#include "arch/systolic.h"
#include "sim/clock.h"

namespace tessel::sim {

MacArray::MacArray(sc_core::sc_module_name name, const arch::ArrayConfig& config,
                   Sequencer& sequencer, std::vector<SramBuffer*> buffers,
                   std::vector<std::uint32_t> program)
    : sc_core::sc_module(name),
      m_config(config),
      m_element_bytes(arch::bytes_per_element(config.precision)),
      m_sequencer(sequencer),
      m_buffers(std::move(buffers)),
      m_program(std::move(program)),
      m_ready(m_program.size(), false) {
  SC_THREAD(run);
}

void MacArray::accept(std::uint32_t id) {
  const auto it = std::lower_bound(m_program.begin(), m_program.end(), id);
  m_ready[it - m_program.begin()] = true;
  if (it - m_program.begin() == static_cast<std::ptrdiff_t>(m_next))
    m_wake.notify(sc_core::SC_ZERO_TIME);
}

void MacArray::run() {
  while (m_next < m_program.size()) {
    if (!m_ready[m_next]) {
      sc_core::wait(m_wake);
      continue;
    }
    const std::uint32_t id = m_program[m_next];
    const auto& inst = m_sequencer.instruction(id);
    const Cycles now = now_cycles();
    if (now > m_busy_until) {
      m_segments.push_back({m_busy_until, now, false, m_sequencer.ready_cause(id)});
    }
    const Cycles compute = arch::gemm_cycles(m_config.dataflow, m_config.rows, m_config.cols,
                                             inst.shape, inst.fold_overhead);
    const auto traffic =
        arch::array_traffic(m_config.dataflow, m_config.rows, m_config.cols, inst.shape);
    Cycles end = now + compute;
    end = max(end, m_buffers[inst.input.buffer]->access(
                       inst.input.slot, now, traffic.input_elements * m_element_bytes, false));
    end = max(end, m_buffers[inst.weight.buffer]->access(
                       inst.weight.slot, now, traffic.weight_elements * m_element_bytes, false));
    if (inst.accumulate) {
      const std::uint64_t partials =
          inst.shape.m * inst.shape.n * inst.shape.batch * m_element_bytes;
      end = max(end, m_buffers[inst.output.buffer]->access(inst.output.slot, now, partials, false));
    }
    end = max(end, m_buffers[inst.output.buffer]->access(
                       inst.output.slot, now, traffic.output_elements * m_element_bytes, true));
    m_segments.push_back({now, now + compute, true, Cause::kDependency});
    if (end > now + compute) m_segments.push_back({now + compute, end, false, Cause::kSram});
    m_sequencer.count_event();
    sc_core::wait(carrier(end - now));
    m_busy_until = end;
    ++m_next;
    m_sequencer.complete(id, Cause::kDependency);
  }
}

}  // namespace tessel::sim
