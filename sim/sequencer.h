#pragma once
// The sequencer: owns the trace and its dependency counts, hands each
// instruction to its unit once its last dependency has completed and the
// controller has issued it, and retires BARRIERs itself. The controller
// (arch::ControllerConfig) issues in program order, running ahead of the
// units without bound: instruction i is issued at the sum of the issue
// costs before it, a closed form computed once.

#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <vector>

#include <systemc>

#include "arch/config.h"
#include "sim/stall_cause.h"
#include "workloads/trace.h"

namespace tessel::sim {

// A unit that executes instructions the sequencer hands it.
class ExecutionUnit {
 public:
  virtual ~ExecutionUnit() = default;
  // `id` has all its dependencies done; the unit runs it when its resources allow.
  virtual void accept(std::uint32_t id) = 0;
};

class Sequencer : public sc_core::sc_module {
 public:
  SC_HAS_PROCESS(Sequencer);
  Sequencer(sc_core::sc_module_name name, const workloads::Trace& trace,
            const arch::ControllerConfig& controller);

  void bind(workloads::Unit unit, ExecutionUnit* executor);
  // Called by a unit at the cycle it starts `id`; `queued_for` is what the
  // unit was busy with while `id` waited for it (default: the unit itself).
  void started(std::uint32_t id, std::optional<Cause> queued_for = std::nullopt);
  std::optional<Cause> queued_cause(std::uint32_t id) const { return m_queued_cause[id]; }
  // Called by a unit at the cycle `id` finishes; `cause` is what bounded it.
  void complete(std::uint32_t id, Cause cause);

  const workloads::Instruction& instruction(std::uint32_t id) const {
    return m_trace.instructions[id];
  }
  std::size_t instruction_count() const { return m_trace.instructions.size(); }
  // What the last dependency to complete was bounded by.
  Cause ready_cause(std::uint32_t id) const { return m_ready_cause[id]; }
  Cycles completed_at(std::uint32_t id) const { return m_completed_at[id]; }
  // What bounded `id` itself, as reported by its unit.
  Cause completed_cause(std::uint32_t id) const { return m_completed_cause[id]; }
  // When `id` went to its unit: its dependencies done and it issued.
  Cycles ready_at(std::uint32_t id) const { return m_ready_at[id]; }
  // When its dependencies were done; before ready_at, it waited for the
  // controller to issue it.
  Cycles deps_done_at(std::uint32_t id) const { return m_deps_done_at[id]; }
  Cycles started_at(std::uint32_t id) const { return m_started_at[id]; }
  // The dependency whose completion made `id` ready (kNone without deps).
  static constexpr std::uint32_t kNone = UINT32_MAX;
  std::uint32_t critical(std::uint32_t id) const { return m_critical[id]; }
  std::size_t completed() const { return m_completed; }
  std::uint64_t events() const { return m_events; }
  void count_event() { ++m_events; }

 private:
  void start();
  // `id`'s dependencies are done: hand it to its unit, or hold it until
  // the controller issues it.
  void dispatch(std::uint32_t id);
  void hand_over(std::uint32_t id);
  void release_issued();

  const workloads::Trace& m_trace;
  std::vector<std::uint32_t> m_pending;          // unfinished dependencies
  std::vector<std::uint32_t> m_dependent_begin;  // CSR index into m_dependents
  std::vector<std::uint32_t> m_dependents;
  std::vector<Cause> m_ready_cause;
  std::vector<Cycles> m_completed_at;
  std::vector<Cause> m_completed_cause;
  std::vector<Cycles> m_ready_at, m_started_at, m_deps_done_at;
  std::vector<Cycles> m_issue_at;  // when the controller issues each instruction
  // Held instructions, earliest issue time first, released by m_issue_event.
  std::priority_queue<std::pair<Cycles, std::uint32_t>,
                      std::vector<std::pair<Cycles, std::uint32_t>>, std::greater<>>
      m_held;
  sc_core::sc_event m_issue_event;
  std::vector<std::optional<Cause>> m_queued_cause;
  std::vector<std::uint32_t> m_critical;
  ExecutionUnit* m_units[4] = {nullptr, nullptr, nullptr, nullptr};
  std::size_t m_completed = 0;
  std::uint64_t m_events = 0;
};

}  // namespace tessel::sim
