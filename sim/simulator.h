#pragma once
// Runs a trace on the SystemC model of the configured accelerator and
// returns the statistics. SystemC cannot be re-elaborated: call simulate()
// once per process (the explorer and the tests fork one process per run).

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "arch/config.h"
#include "arch/cost.h"
#include "arch/units.h"
#include "sim/stall_cause.h"
#include "workloads/actions.h"
#include "workloads/trace.h"

namespace tessel::sim {

struct LayerStats {
  std::string name;
  Cycles cycles;                                     // end of this layer - end of the previous one
  Cycles compute_cycles;                             // array computing inside that window
  Cycles stall_cycles;                               // cycles - compute_cycles
  std::array<Cycles, kCauseCount> stall_by_cause{};  // indexed by Cause
  Cycles vector_cycles;                              // vector unit busy inside the window
  std::uint64_t instructions = 0;                    // trace instructions of this layer
  // Where each of its tensors lived and its DRAM bytes (workloads/actions.h).
  workloads::LayerTensors tensors;
  double mapping_efficiency = 0;
  double utilization = 0;
  // Bytes the MAC array read and wrote in its buffers (closed form per GEMM;
  // partial sums read back for accumulation are not counted).
  std::uint64_t array_sram_bytes = 0;
  // Peak MACs per cycle at the precision of the layer's GEMMs.
  double peak_macs_per_cycle = 0;
  // The part of the GEMMs' closed-form cycles spent streaming (folds x T),
  // without pipeline fill and drain.
  Cycles streaming_cycles;
  // What the layer did (workloads/actions.h): MACs, DRAM and buffer bytes,
  // for the report and the energy model.
  arch::Actions actions;
  std::uint64_t macs() const { return actions.total_macs(); }
};

struct BufferStats {
  std::string name;
  std::uint64_t read_bytes = 0;
  std::uint64_t write_bytes = 0;
  Cycles busy_cycles;  // summed over slot ports
};

// One span of a unit's activity, for the timeline.
struct TimelineSpan {
  std::string track;  // "array", "vector", "dma ch0", "layers"
  std::string name;   // "GEMM", "relu", "LOAD input", a layer name
  Cycles start, end;
  std::uint32_t layer = 0;
};

struct SimResult {
  Cycles cycles;
  Cycles compute_cycles;
  std::array<Cycles, kCauseCount> stall_by_cause{};
  std::uint64_t macs = 0;
  std::uint64_t dram_read_bytes = 0;
  std::uint64_t dram_write_bytes = 0;
  Cycles dram_busy_cycles;
  Cycles dma_busy_cycles;  // summed over channels
  Cycles vector_busy_cycles;
  std::uint64_t dma_transfers = 0;
  std::vector<BufferStats> buffers;
  std::vector<LayerStats> layers;
  std::uint64_t events = 0;
  double wall_seconds = 0;
  std::vector<TimelineSpan> timeline;  // filled when asked for
};

// With `record_timeline`, SimResult::timeline gets every instruction's span
// on its unit and every layer's window. Reads `source` as the controller's
// window lets it (sequencer.h), so a streamed trace is never held whole.
// Throws InputError for an instruction the config cannot run, or the
// source's own errors.
SimResult simulate(const arch::Config& config, workloads::InstructionSource& source,
                   bool record_timeline = false);
// The same for a held trace.
SimResult simulate(const arch::Config& config, const workloads::Trace& trace,
                   bool record_timeline = false);

}  // namespace tessel::sim
