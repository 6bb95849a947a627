#pragma once
// A unit that executes its instructions strictly in program order, each for
// a duration its subclass computes in closed form when the instruction
// starts (MAC array, vector unit). One SystemC thread that sleeps until the
// next instruction is ready, then for its duration.

#include <cstdint>
#include <deque>
#include <utility>

#include <systemc>

#include "sim/sequencer.h"

namespace tessel::sim {

class InOrderUnit : public sc_core::sc_module, public ExecutionUnit {
 public:
  SC_HAS_PROCESS(InOrderUnit);
  InOrderUnit(sc_core::sc_module_name name, Sequencer& sequencer, Cause completion_cause);

  void enqueue(std::uint32_t id) override;
  void accept(std::uint32_t id) override;
  Cycles busy_until() const { return m_busy_until; }
  Cycles busy_cycles() const { return m_busy; }

 protected:
  // Starts `inst` at `now` (the unit was free since busy_until()); returns
  // the cycle it ends.
  virtual Cycles execute(const workloads::Instruction& inst, Cycles now) = 0;

  Sequencer& m_sequencer;

 private:
  void run();

  // Its instructions read and not yet run, in order, and whether each is
  // ready.
  std::deque<std::pair<std::uint32_t, bool>> m_program;
  Cause m_completion_cause;
  sc_core::sc_event m_wake;
  Cycles m_busy_until;
  Cycles m_busy;
};

}  // namespace tessel::sim
