#include "sim/sequencer.h"

#include "sim/clock.h"

namespace tessel::sim {

Sequencer::Sequencer(sc_core::sc_module_name name, const workloads::Trace& trace,
                     const arch::ControllerConfig& controller)
    : sc_core::sc_module(name),
      m_trace(trace),
      m_pending(trace.instructions.size(), 0),
      m_ready_cause(trace.instructions.size(), Cause::kDependency),
      m_completed_at(trace.instructions.size()),
      m_completed_cause(trace.instructions.size(), Cause::kDependency),
      m_ready_at(trace.instructions.size()),
      m_started_at(trace.instructions.size()),
      m_deps_done_at(trace.instructions.size()),
      m_issue_at(trace.instructions.size()),
      m_queued_cause(trace.instructions.size()),
      m_critical(trace.instructions.size(), kNone) {
  const std::size_t n = trace.instructions.size();
  std::vector<std::uint32_t> count(n + 1, 0);
  for (const auto& inst : trace.instructions) {
    m_pending[inst.id] = static_cast<std::uint32_t>(inst.deps.size());
    for (auto d : inst.deps) ++count[d + 1];
  }
  m_dependent_begin.assign(n + 1, 0);
  for (std::size_t i = 0; i < n; ++i)
    m_dependent_begin[i + 1] = m_dependent_begin[i] + count[i + 1];
  m_dependents.resize(m_dependent_begin[n]);
  std::vector<std::uint32_t> fill(m_dependent_begin.begin(), m_dependent_begin.end() - 1);
  for (const auto& inst : trace.instructions) {
    for (auto d : inst.deps) m_dependents[fill[d]++] = inst.id;
  }
  // The controller's issue times, in program order.
  Cycles issue;
  for (std::size_t i = 0; i < n; ++i) {
    if (i == 0 || trace.instructions[i].layer != trace.instructions[i - 1].layer)
      issue += Cycles(controller.layer_cycles);
    m_issue_at[i] = issue;
    issue += Cycles(controller.issue_cycles);
  }
  SC_METHOD(start);
  SC_METHOD(release_issued);
  sensitive << m_issue_event;
  dont_initialize();
}

void Sequencer::bind(workloads::Unit unit, ExecutionUnit* executor) {
  m_units[static_cast<int>(unit)] = executor;
}

void Sequencer::start() {
  for (const auto& inst : m_trace.instructions) {
    if (inst.deps.empty()) dispatch(inst.id);
  }
}

void Sequencer::dispatch(std::uint32_t id) {
  const Cycles now = now_cycles();
  m_deps_done_at[id] = now;
  if (m_issue_at[id] <= now) {
    hand_over(id);
    return;
  }
  m_held.emplace(m_issue_at[id], id);
  m_issue_event.notify(carrier(m_held.top().first - now));
}

void Sequencer::release_issued() {
  const Cycles now = now_cycles();
  while (!m_held.empty() && m_held.top().first <= now) {
    const std::uint32_t id = m_held.top().second;
    m_held.pop();
    hand_over(id);
  }
  if (!m_held.empty()) m_issue_event.notify(carrier(m_held.top().first - now));
}

void Sequencer::hand_over(std::uint32_t id) {
  ++m_events;
  m_ready_at[id] = now_cycles();
  const auto& inst = m_trace.instructions[id];
  if (inst.op == workloads::Opcode::kBarrier) {
    started(id);
    complete(id, m_ready_cause[id]);
    return;
  }
  m_units[static_cast<int>(workloads::unit_of(inst.op))]->accept(id);
}

void Sequencer::started(std::uint32_t id, std::optional<Cause> queued_for) {
  m_started_at[id] = now_cycles();
  m_queued_cause[id] = queued_for;
}

void Sequencer::complete(std::uint32_t id, Cause cause) {
  ++m_events;
  ++m_completed;
  m_completed_at[id] = now_cycles();
  m_completed_cause[id] = cause;
  for (std::uint32_t i = m_dependent_begin[id]; i < m_dependent_begin[id + 1]; ++i) {
    const std::uint32_t d = m_dependents[i];
    if (--m_pending[d] == 0) {
      m_ready_cause[d] = cause;
      m_critical[d] = id;
      dispatch(d);
    }
  }
}

}  // namespace tessel::sim
