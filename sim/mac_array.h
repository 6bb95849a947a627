#pragma once
// The MAC array: runs GEMM tiles in program order, each in the closed-form
// cycles of arch/systolic.h, streaming its operands through the SRAM slot
// ports it names. When the ports cannot keep up, the tile takes longer and
// the extra cycles are an SRAM stall. Records when it computed and why it
// waited, for the per-layer stall attribution. No per-PE state.

#include <cstdint>
#include <vector>

#include <systemc>

#include "arch/config.h"
#include "sim/memory.h"
#include "sim/sequencer.h"

namespace tessel::sim {

// A stretch of the array's time: computing, or stalled for a cause.
struct ArraySegment {
  Cycles start, end;
  bool compute = false;
  Cause cause = Cause::kDependency;
};

class MacArray : public sc_core::sc_module, public ExecutionUnit {
 public:
  SC_HAS_PROCESS(MacArray);
  MacArray(sc_core::sc_module_name name, const arch::ArrayConfig& config, Sequencer& sequencer,
           std::vector<SramBuffer*> buffers, std::vector<std::uint32_t> program);

  void accept(std::uint32_t id) override;

  const std::vector<ArraySegment>& segments() const { return m_segments; }
  Cycles busy_until() const { return m_busy_until; }

 private:
  void run();

  arch::ArrayConfig m_config;
  std::uint64_t m_element_bytes;
  Sequencer& m_sequencer;
  std::vector<SramBuffer*> m_buffers;
  std::vector<std::uint32_t> m_program;  // GEMM ids in order
  std::vector<bool> m_ready;             // indexed like m_program
  std::size_t m_next = 0;
  sc_core::sc_event m_wake;
  std::vector<ArraySegment> m_segments;
  Cycles m_busy_until;
};

}  // namespace tessel::sim
