#pragma once
// The MAC array: runs GEMM tiles in program order, each in the closed-form
// cycles of arch/systolic.h at the precision of its operands, streaming its
// operands through the SRAM slot ports it names. When the ports cannot keep
// up, the tile takes longer and the extra cycles are an SRAM stall. Reports
// when it computed and why it waited to the per-layer stall attribution.
// No per-PE state.

#include <cstdint>
#include <map>
#include <vector>

#include "arch/config.h"
#include "sim/in_order_unit.h"
#include "sim/memory.h"

namespace tessel::sim {

class MacArray : public InOrderUnit {
 public:
  // `segments` gets the array's time, in order (attribution.h).
  MacArray(sc_core::sc_module_name name, const arch::Config& config, Sequencer& sequencer,
           std::vector<SramBuffer*> buffers, Attribution& segments);

 protected:
  Cycles execute(const workloads::Instruction& inst, Cycles now) override;

 private:
  const arch::Config& m_config;
  std::vector<SramBuffer*> m_buffers;
  Attribution& m_segments;
};

// The vector unit: VECTOR instructions in program order, each for
// arch::vector_cycles, reading its sources and writing its output through
// the SRAM slot ports (the longer of the two wins).
class VectorUnit : public InOrderUnit {
 public:
  VectorUnit(sc_core::sc_module_name name, const arch::Config& config, Sequencer& sequencer,
             std::vector<SramBuffer*> buffers);

  // Busy cycles per trace layer index.
  const std::map<std::uint32_t, Cycles>& busy_by_layer() const { return m_busy_by_layer; }

 protected:
  Cycles execute(const workloads::Instruction& inst, Cycles now) override;

 private:
  const arch::Config& m_config;
  std::vector<SramBuffer*> m_buffers;
  std::map<std::uint32_t, Cycles> m_busy_by_layer;
};

}  // namespace tessel::sim
