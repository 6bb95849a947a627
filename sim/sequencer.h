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
// instructions are held whole, and a compact record (attribution.h) of each
// of them and of the window's length before them.

#include <cstdint>
#include <exception>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include <boost/container/small_vector.hpp>
#include <systemc>

#include "arch/config.h"
#include "sim/attribution.h"
#include "sim/ring.h"
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
  using Record = InstructionRecord;

  // What the simulator learns as it goes: each instruction as it is read
  // (to check and count it; may throw InputError), each as it finishes,
  // and the end of the trace. An error stops the simulation (error()).
  class Observer {
   public:
    virtual ~Observer() = default;
    virtual void read(const workloads::Instruction& inst) = 0;
    virtual void completed(std::uint32_t id, const Record& record) = 0;
    virtual void source_done() = 0;
  };

  SC_HAS_PROCESS(Sequencer);
  // With `keep_records`, every instruction's record is kept (for the
  // timeline); otherwise the records of the window and of the window's
  // length before it.
  Sequencer(sc_core::sc_module_name name, workloads::InstructionSource& source,
            const arch::ControllerConfig& controller, Observer& observer, bool keep_records);

  void bind(workloads::Unit unit, ExecutionUnit* executor);
  // Called by a unit at the cycle it starts `id`; `queued_for` is what the
  // unit was busy with while `id` waited for it (default: the unit itself).
  void started(std::uint32_t id, std::optional<Cause> queued_for = std::nullopt);
  // Called by a unit at the cycle `id` finishes; `cause` is what bounded it.
  void complete(std::uint32_t id, Cause cause);

  // An instruction in the window: valid from when it is handed to its unit
  // until it completes.
  const workloads::Instruction& instruction(std::uint32_t id) const { return *m_window[id]; }
  // An instruction's record, or nullptr once forgotten.
  const Record* record(std::uint32_t id) const {
    return m_records.holds(id) ? &m_records[id] : nullptr;
  }
  std::size_t instruction_count() const { return m_records.front() + m_records.size(); }
  // Whether the source was read to its end.
  bool read_all() const { return m_source_done && !m_error; }
  // What stopped the simulation (nullptr when nothing did).
  std::exception_ptr error() const { return m_error; }

  static constexpr std::uint32_t kNone = UINT32_MAX;
  std::size_t completed() const { return m_completed; }
  std::uint64_t events() const { return m_events; }
  void count_event() { ++m_events; }

 private:
  // A window instruction's dependency state, apart from the instruction: a
  // completion walks its dependents, far apart in the window, and this keeps
  // each in one cache line.
  struct Waiting {
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

  Record& rec(std::uint32_t id) { return m_records[id]; }

  workloads::InstructionSource& m_source;
  arch::ControllerConfig m_controller;

  Observer& m_observer;
  bool m_keep_records;
  Ring<Record> m_records;
  // The source's instructions, in place: ids m_window_base, m_window_base + 1, ...
  Ring<const workloads::Instruction*> m_window;
  Ring<Waiting> m_waiting;          // indexed like m_window
  std::uint32_t m_window_base = 0;  // the oldest unfinished instruction
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
