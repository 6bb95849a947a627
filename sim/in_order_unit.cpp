#include "sim/in_order_unit.h"

#include <algorithm>

#include "sim/clock.h"

namespace tessel::sim {

InOrderUnit::InOrderUnit(sc_core::sc_module_name name, Sequencer& sequencer, Cause completion_cause)
    : sc_core::sc_module(name), m_sequencer(sequencer), m_completion_cause(completion_cause) {
  SC_THREAD(run);
}

void InOrderUnit::enqueue(std::uint32_t id) {
  m_program.emplace_back(id, false);
}

void InOrderUnit::accept(std::uint32_t id) {
  const auto it = std::lower_bound(m_program.begin(), m_program.end(), std::pair(id, false));
  it->second = true;
  if (it == m_program.begin()) m_wake.notify(sc_core::SC_ZERO_TIME);
}

void InOrderUnit::run() {
  for (;;) {
    if (m_program.empty() || !m_program.front().second) {
      sc_core::wait(m_wake);
      continue;
    }
    const std::uint32_t id = m_program.front().first;
    const Cycles now = now_cycles();
    m_sequencer.started(id);
    const Cycles end = execute(m_sequencer.instruction(id), now);
    m_sequencer.count_event();
    sc_core::wait(carrier(end - now));
    m_busy += end - now;
    m_busy_until = end;
    m_program.pop_front();
    m_sequencer.complete(id, m_completion_cause);
  }
}

}  // namespace tessel::sim
