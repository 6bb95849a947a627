#include "sim/sequencer.h"

#include <fmt/format.h>

#include "arch/error.h"
#include "sim/clock.h"

namespace tessel::sim {

// The accounting keeps one per instruction (docs/simulator.md says 48 B).
static_assert(sizeof(Sequencer::Record) <= 48);

Sequencer::Sequencer(sc_core::sc_module_name name, workloads::InstructionSource& source,
                     const arch::ControllerConfig& controller, Observer& observer,
                     bool keep_records)
    : sc_core::sc_module(name),
      m_source(source),
      m_controller(controller),
      m_observer(observer),
      m_keep_records(keep_records) {
  SC_METHOD(start);
  SC_METHOD(release_issued);
  sensitive << m_issue_event;
  dont_initialize();
}

void Sequencer::bind(workloads::Unit unit, ExecutionUnit* executor) {
  m_units[static_cast<int>(unit)] = executor;
}

void Sequencer::start() {
  fill();
}

void Sequencer::fill() {
  if (m_filling) return;  // a BARRIER read below completed: the loop goes on
  m_filling = true;
  try {
    while (!m_source_done && instruction_count() - m_window_base < m_controller.window_instructions)
      read_one();
  } catch (...) {
    fail(std::current_exception());
  }
  m_filling = false;
}

void Sequencer::read_one() {
  const workloads::Instruction* next = m_source.next();
  if (next == nullptr) {
    m_source_done = true;
    m_observer.source_done();
    return;
  }
  const workloads::Instruction& inst = *next;
  const auto id = static_cast<std::uint32_t>(instruction_count());
  if (inst.id != id) {
    throw InputError(
        fmt::format("trace instruction {}: read out of order, expected id {}", inst.id, id));
  }
  if (inst.layer >= m_source.layers().size()) {
    throw InputError(fmt::format("trace instruction {}: layer {} of {}", id, inst.layer,
                                 m_source.layers().size()));
  }
  if (id > 0 && inst.layer < m_last_layer) {
    throw InputError(
        fmt::format("trace instruction {}: layer {} after layer {}: a trace's layers come in order",
                    id, inst.layer, m_last_layer));
  }
  m_observer.read(inst);
  const Cycles now = now_cycles();
  // Forget the records more than a window's length before the window.
  while (!m_keep_records && m_records.front() + m_controller.window_instructions < m_window_base)
    m_records.pop_front();
  Record& r = m_records.push_back();
  r.layer = inst.layer;
  r.op = inst.op;
  r.operand = inst.operand;
  r.vector_op = inst.work.op;
  r.residual = inst.residual;
  // The controller issues in program order; an instruction that entered
  // the window late issues when it entered.
  if (id == 0 || inst.layer != m_last_layer) m_issue += Cycles(m_controller.layer_cycles);
  m_issue = max(m_issue, now);
  Waiting& w = m_waiting.push_back();
  w.issue_at = m_issue;
  m_issue += Cycles(m_controller.issue_cycles);
  // Dependencies still in flight count; the last finished one otherwise
  // made it ready.
  Cycles deps_done;
  for (auto d : inst.deps) {
    if (d >= id) {
      throw InputError(fmt::format("trace instruction {}: dependency {} is not earlier", id, d));
    }
    // A forgotten dependency finished long ago: it made nothing wait.
    const Record* forgotten = record(d);
    if (forgotten == nullptr) continue;
    const Record& dep = *forgotten;
    if (!dep.completed) {
      m_waiting[d].dependents.push_back(id);
      ++w.pending;
    } else if (r.critical == kNone || dep.completed_at >= deps_done) {
      deps_done = dep.completed_at;
      r.critical = d;
      r.ready_cause = dep.completed_cause;
    }
  }
  m_last_layer = inst.layer;
  const auto unit = static_cast<int>(workloads::unit_of(inst.op));
  const bool ready = w.pending == 0;
  m_window.push_back() = next;
  if (m_units[unit] != nullptr) m_units[unit]->enqueue(id);
  // Without dependencies it could have gone from the start: the time
  // before it entered the window is the controller's (a dispatch stall).
  if (ready) dispatch(id, deps_done);
}

void Sequencer::fail(std::exception_ptr error) {
  if (!m_error) m_error = error;
  m_source_done = true;
  // The error is the caller's to report; SystemC's note of the stop would
  // go to stdout.
  sc_core::sc_report_handler::set_actions("/OSCI/SystemC", sc_core::SC_INFO,
                                          sc_core::SC_DO_NOTHING);
  sc_core::sc_stop();
}

void Sequencer::dispatch(std::uint32_t id, Cycles deps_done) {
  const Cycles now = now_cycles();
  rec(id).deps_done_at = deps_done;
  const Cycles issue_at = m_waiting[id].issue_at;
  if (issue_at <= now) {
    hand_over(id);
    return;
  }
  m_held.emplace(issue_at, id);
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
  rec(id).ready_at = now_cycles();
  const auto& inst = instruction(id);
  if (inst.op == workloads::Opcode::kBarrier) {
    started(id);
    complete(id, rec(id).ready_cause);
    return;
  }
  m_units[static_cast<int>(workloads::unit_of(inst.op))]->accept(id);
}

void Sequencer::started(std::uint32_t id, std::optional<Cause> queued_for) {
  rec(id).started_at = now_cycles();
  rec(id).queued_cause = queued_for;
}

void Sequencer::complete(std::uint32_t id, Cause cause) {
  ++m_events;
  ++m_completed;
  const Cycles now = now_cycles();
  {
    Record& r = rec(id);
    r.completed_at = now;
    r.completed_cause = cause;
    r.completed = true;
    m_observer.completed(id, r);
  }
  // A dependent that is a BARRIER completes at once and may retire `id`
  // from the window: take the list out first.
  const auto dependents = std::move(m_waiting[id].dependents);
  for (const std::uint32_t d : dependents) {
    if (--m_waiting[d].pending == 0) {
      rec(d).ready_cause = cause;
      rec(d).critical = id;
      dispatch(d, now);
    }
  }
  // Retire from the front of the window and read on.
  while (!m_window.empty() && rec(m_window_base).completed) {
    m_window.pop_front();
    m_waiting.pop_front();
    ++m_window_base;
  }
  m_source.release(m_window_base);
  fill();
}

}  // namespace tessel::sim
