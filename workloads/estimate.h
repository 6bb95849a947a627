#pragma once
// The analytical estimator: a closed-form latency for a workload on a
// hardware config, with no SystemC and no tiling search, for screening
// thousands of design points a second. Per layer, the larger of its
// compute (the closed-form GEMM cycles of the untiled layer at its MAC
// rate, or the vector unit's closed form) and the DRAM time of reading its
// inputs and weights once and writing its output once, plus one DRAM
// latency. It ignores tiling reloads, partial-sum spills, SRAM ports and
// overlap between layers; tests bound its disagreement with the simulator.

#include <cstdint>
#include <vector>

#include "arch/config.h"
#include "arch/cost.h"
#include "arch/units.h"
#include "workloads/layer.h"

namespace tessel::workloads {

struct LayerEstimate {
  Cycles cycles, compute_cycles;
  std::uint64_t dram_bytes = 0;  // read (inputs, weights) + written (output)
  std::uint64_t dram_read_bytes = 0, dram_write_bytes = 0;
};

struct Estimate {
  Cycles cycles, compute_cycles;
  std::uint64_t dram_bytes = 0;
  std::uint64_t dram_read_bytes = 0, dram_write_bytes = 0;
  double latency_ms = 0;
  // What the run does, untiled: each operand crosses its buffer path once
  // (no tile reloads or partial-sum spills), for the energy model.
  arch::Actions actions;
  std::vector<LayerEstimate> layers;
  std::uint64_t macs() const { return actions.total_macs(); }
};

// Throws InputError for an unsupported MAC precision, as the lowering does.
Estimate estimate(const Workload& workload, const arch::Config& config);

}  // namespace tessel::workloads
