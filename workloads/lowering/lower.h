#pragma once
// Lowering: maps each layer onto the hardware with the configured mapper
// (`schedule.mapper`, mapper.h) and emits the trace (emitter.h): LOAD / MOVE
// chains into the array-side buffers, GEMM per tile, MOVE / STORE chains for
// outputs, a BARRIER per layer. Layers off the MAC array are tiled by rows
// through the vector unit's buffer.

#include <vector>

#include "arch/config.h"
#include "workloads/layer.h"
#include "workloads/lowering/layer_types.h"
#include "workloads/lowering/mapper.h"
#include "workloads/lowering/mapping.h"
#include "workloads/lowering/residency.h"
#include "workloads/trace.h"

namespace tessel::workloads {

struct Lowered {
  Trace trace;
  // The workload as lowered: fused (schedule.fusion, fusion.h); the trace's
  // layers and every member below are its layers.
  Workload workload;
  // Per layer: the indices of the original layers it runs.
  std::vector<std::vector<std::size_t>> groups;
  std::vector<Mapping> mappings;  // one per layer
  Residency residency;            // where each layer's output lived
};

// Throws InputError when a layer cannot be mapped or the mapper is unknown.
Lowered lower(const Workload& workload, const arch::Config& config);
// The plan alone: lower()'s result without emitting the trace (its trace
// has the workload and layer names only). Each mapping still counts its
// instructions.
Lowered plan_lowering(const Workload& workload, const arch::Config& config);

}  // namespace tessel::workloads
