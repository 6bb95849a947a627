#pragma once
// The analytical estimator: a latency for a workload on a hardware config
// without SystemC, for screening design points. It is the lowering's own
// schedule (workloads/lowering/schedule.h) without the trace: per layer, the
// mapping cost model's expected cycles (at least the untiled closed-form
// compute) and its DRAM bytes, so residency, tile reloads and partial-sum
// spills count as the lowering decides them. It ignores SRAM port
// contention and overlap between layers; tests bound its disagreement with
// the simulator. Buffer actions for the energy model stay untiled.

#include <cstdint>
#include <string>
#include <vector>

#include "arch/config.h"
#include "arch/cost.h"
#include "arch/units.h"
#include "workloads/layer.h"

namespace tessel::workloads {

struct LayerEstimate {
  std::string name;  // of the layer as scheduled (fused: fusion.h)
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
  std::vector<LayerEstimate> layers;  // the layers as scheduled (fused)
  std::uint64_t macs() const { return actions.total_macs(); }
};

// Throws InputError for an unsupported MAC precision, as the lowering does.
Estimate estimate(const Workload& workload, const arch::Config& config);

}  // namespace tessel::workloads
