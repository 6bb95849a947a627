#include "sim/in_order_unit.h"

#include <algorithm>

#include "sim/clock.h"

namespace tessel::sim {

InOrderUnit::InOrderUnit(sc_core::sc_module_name name, Sequencer& sequencer,
                         std::vector<std::uint32_t> program, Cause completion_cause)
    : sc_core::sc_module(name),
      m_sequencer(sequencer),
      m_program(std::move(program)),
      m_ready(m_program.size(), false),
      m_completion_cause(completion_cause) {
  SC_THREAD(run);
}

void InOrderUnit::accept(std::uint32_t id) {
  const auto it = std::lower_bound(m_program.begin(), m_program.end(), id);
  const auto index = static_cast<std::size_t>(it - m_program.begin());
  m_ready[index] = true;
  if (index == m_next) m_wake.notify(sc_core::SC_ZERO_TIME);
}

void InOrderUnit::run() {
  while (m_next < m_program.size()) {
    if (!m_ready[m_next]) {
      sc_core::wait(m_wake);
      continue;
    }
    const std::uint32_t id = m_program[m_next];
    const Cycles now = now_cycles();
    m_sequencer.started(id);
    const Cycles end = execute(m_sequencer.instruction(id), now);
    m_sequencer.count_event();
    sc_core::wait(carrier(end - now));
    m_busy += end - now;
    m_busy_until = end;
    ++m_next;
    m_sequencer.complete(id, m_completion_cause);
  }
}

}  // namespace tessel::sim
