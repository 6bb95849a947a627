#pragma once
// The sequencer: the controller. It reads the trace from its source in
// program order into a window, hands each instruction to its unit once its
// last dependency has completed and the controller has issued it, and
// retires BARRIERs itself.
//
// The controller (arch::ControllerConfig) issues in program order at
// `issue_cycles` per instruction (and `layer_cycles` before each layer's
// first), running ahead of the units. It holds at most `window` instructions
// from the oldest unfinished one on: instruction i enters the window when
// i - window has finished, and is issued no sooner. Only the window's
// instructions are held whole; what the accounting needs afterwards is a
// compact record per instruction (Record).

#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include <boost/container/small_vector.hpp>
#include <systemc>

#include "arch/config.h"
#include "sim/stall_cause.h"
#include "workloads/trace.h"

namespace tessel::sim {

// A unit that executes instructions the sequencer hands it.
class ExecutionUnit {
 public:
  virtual ~ExecutionUnit() = default;
  // The sequencer has read `id`, one of this unit's, in program order.
  virtual void enqueue(std::uint32_t /*id*/) {}
  // `id` has all its dependencies done; the unit runs it when its resources allow.
  virtual void accept(std::uint32_t id) = 0;
};

class Sequencer : public sc_core::sc_module {
 public:
  // What is kept of each instruction once it has left the window.
  struct Record {
    Cycles deps_done_at, ready_at, started_at, completed_at;
    std::uint32_t critical = UINT32_MAX;
    std::uint32_t layer = 0;
    workloads::Opcode op = workloads::Opcode::kBarrier;
    arch::Operand operand = arch::Operand::kInput;     // a transfer's
    arch::VectorOp vector_op = arch::VectorOp::kRelu;  // a VECTOR's
    bool residual : 1 = false;
    bool completed : 1 = false;
    Cause ready_cause = Cause::kDependency;
    Cause completed_cause = Cause::kDependency;
    std::optional<Cause> queued_cause;
  };

  SC_HAS_PROCESS(Sequencer);
  // `on_read` sees each instruction as it is read (to check and count it)
  // and may throw InputError; an error from it or from the source stops
  // the simulation (error()).
  Sequencer(sc_core::sc_module_name name, workloads::InstructionSource& source,
            const arch::ControllerConfig& controller,
            std::function<void(const workloads::Instruction&)> on_read);

  void bind(workloads::Unit unit, ExecutionUnit* executor);
  // Called by a unit at the cycle it starts `id`; `queued_for` is what the
  // unit was busy with while `id` waited for it (default: the unit itself).
  void started(std::uint32_t id, std::optional<Cause> queued_for = std::nullopt);
  // Called by a unit at the cycle `id` finishes; `cause` is what bounded it.
  void complete(std::uint32_t id, Cause cause);

  // An instruction in the window: valid from when it is handed to its unit
  // until it completes.
  const workloads::Instruction& instruction(std::uint32_t id) const {
    return m_window[id - m_window_base].inst;
  }
  // Every instruction read so far, in id order.
  const std::vector<Record>& records() const { return m_records; }
  std::size_t instruction_count() const { return m_records.size(); }
  // Whether the source was read to its end.
  bool read_all() const { return m_source_done && !m_error; }
  // What stopped the simulation (nullptr when nothing did).
  std::exception_ptr error() const { return m_error; }
  // The largest number of instructions the window held at once.
  std::size_t window_peak() const { return m_window_peak; }

  static constexpr std::uint32_t kNone = UINT32_MAX;
  std::size_t completed() const { return m_completed; }
  std::uint64_t events() const { return m_events; }
  void count_event() { ++m_events; }

 private:
  struct Entry {
    workloads::Instruction inst;
    std::uint32_t pending = 0;  // unfinished dependencies
    boost::container::small_vector<std::uint32_t, 4> dependents;
    Cycles issue_at;  // when the controller issues it
  };

  void start();
  // Reads instructions into the window while it has room.
  void fill();
  void read_one();
  // `id`'s dependencies are done (the last at `deps_done`): hand it to its
  // unit, or hold it until the controller issues it.
  void dispatch(std::uint32_t id, Cycles deps_done);
  void hand_over(std::uint32_t id);
  void release_issued();
  void fail(std::exception_ptr error);

  workloads::InstructionSource& m_source;
  arch::ControllerConfig m_controller;
  std::function<void(const workloads::Instruction&)> m_on_read;
  std::vector<Record> m_records;
  std::deque<Entry> m_window;       // ids m_window_base, m_window_base + 1, ...
  std::uint32_t m_window_base = 0;  // the oldest unfinished instruction
  std::size_t m_window_peak = 0;
  bool m_source_done = false, m_filling = false;
  std::exception_ptr m_error;
  Cycles m_issue;  // when the controller issues the next instruction read
  std::uint32_t m_last_layer = 0;
  // Held instructions, earliest issue time first, released by m_issue_event.
  std::priority_queue<std::pair<Cycles, std::uint32_t>,
                      std::vector<std::pair<Cycles, std::uint32_t>>, std::greater<>>
      m_held;
  sc_core::sc_event m_issue_event;
  ExecutionUnit* m_units[4] = {nullptr, nullptr, nullptr, nullptr};
  std::size_t m_completed = 0;
  std::uint64_t m_events = 0;
};

}  // namespace tessel::sim
