#pragma once
// The schedule of a workload: every layer's mapping and the residency
// decisions they were made under, without emitting a trace. The lowering
// emits it (lower.h); the analytical estimate reads its expected cycles and
// DRAM bytes, so both use the one mapping cost model.
//
// Fusion is part of the search: each of the fusion policy's candidates
// (fusion.h) is scheduled, and the lowest expected cycles, then DRAM bytes,
// win (the first, unfused, on ties). Per candidate, the search: the
// resident buffer's per-slot staging budget is tried at the
// whole slot (nothing resident, the layer-at-a-time schedule), then at the
// powers of two below it, the rest of the buffer holding tensors
// (residency.h); every layer is mapped under each split, and the split with
// the lowest summed expected cycles, then DRAM bytes, wins (the first on
// ties). The search stops at the first split that costs more than the one
// before it, or that no longer fits some layer.

#include <cstdint>
#include <optional>
#include <vector>

#include "arch/config.h"
#include "workloads/layer.h"
#include "workloads/lowering/mapper.h"
#include "workloads/lowering/mapping.h"
#include "workloads/lowering/residency.h"

namespace tessel::workloads {

struct Schedule {
  // The workload as scheduled: fused by the policy `schedule.fusion`
  // (fusion.h); every other member is indexed by its layers.
  Workload workload;
  // Per layer: the indices of the original layers it runs.
  std::vector<std::vector<std::size_t>> groups;
  std::vector<Mapping> mappings;  // one per layer
  Residency residency;
};

// Throws InputError when a layer cannot be mapped or the mapper or fusion
// policy is unknown.
Schedule plan_schedule(const Workload& workload, const arch::Config& config);

// Layer `layer` of `workload` mapped on its own at the whole buffers, with
// nothing resident (as the layer-at-a-time schedule maps it): for fusion
// policies, to price the layers they may fuse.
Mapping map_alone(const Workload& workload, std::size_t layer, const arch::Config& config,
                  const IMapper& mapper);

// The shape of a layer off the MAC array as rows: how many, and the
// elements read (all inputs) and written.
struct RowsShape {
  std::uint64_t rows = 0, in_elements = 0, out_elements = 0;
  bool computes = false;
  std::size_t inputs = 1;  // sources per tile
  // Bytes of `r` rows of the inputs (all together) and of the output.
  std::uint64_t in_bytes(std::uint64_t r, DType t) const {
    return bytes_for(ceil_div(in_elements * r, rows), t);
  }
  std::uint64_t out_bytes(std::uint64_t r, DType t) const {
    return bytes_for(ceil_div(out_elements * r, rows), t);
  }
};
// Layers off the MAC array as rows; nullopt for a reshape (free) and GEMMs.
std::optional<RowsShape> rows_shape(const Layer& layer);

}  // namespace tessel::workloads
