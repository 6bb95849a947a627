#pragma once
// Residency across layers: which layer outputs stay in one on-chip buffer
// from their producer to their last consumer instead of going to DRAM. A
// tensor-level allocator over the graph with liveness: the resident buffer
// is split into a resident area (the first `area_bytes`) and the staging
// slots the tiles use (the rest); tensors are placed first-fit by address
// in production order, each live from its producer to its last consumer
// (residual, multi-branch and concat graphs alike: liveness is over the
// edges). Spill policy: a tensor that does not fit when it is produced goes
// to DRAM (written once by its producer, read back by each consumer); no
// resident tensor is evicted for it. Network outputs (no consumer) always go
// to DRAM; reshapes alias their input; the row slices that stripe layers
// write (Layer::output_slice) are one tensor, placed at its first slice and
// sized whole by `bytes` there. Weights shared by later layers (a
// stream of frames, Layer::weights_of) may stay too, loaded once. Models no
// timing.

#include <cstdint>
#include <vector>

#include "arch/config.h"
#include "workloads/layer.h"

namespace tessel::workloads {

struct TensorHome {
  bool resident = false;
  std::uint32_t region = 0;  // trace Location::region, 1.. when resident
  std::uint64_t offset_bytes = 0, bytes = 0;
  std::size_t last_use = 0;  // the last consumer layer
  // Layers whose completion frees the address range this tensor reuses
  // (the last consumers of earlier tensors it overlaps): its writes wait
  // for their barriers.
  std::vector<std::size_t> wait_layers;
};

struct Residency {
  int buffer = -1;  // the resident buffer (index into config.sram), -1: none
  std::uint64_t area_bytes = 0;
  // Some tensor that could stay went to DRAM for lack of space: a larger
  // area could keep more.
  bool spilled = false;
  // Per layer: the layer whose output tensor it produces (itself, or for a
  // reshape the tensor it aliases; kNetworkInput for the workload's input).
  static constexpr std::size_t kNetworkInput = SIZE_MAX;
  std::vector<std::size_t> tensor_of;
  std::vector<TensorHome> home;  // per layer, meaningful where tensor_of[l] == l
  bool resident(std::size_t tensor) const {
    return tensor != kNetworkInput && home[tensor].resident;
  }
  // Shared weights (schedule.weights_resident): per layer, the layer that
  // owns its parameters (itself unless weights_of), and at owners where
  // those weights live from the owner to the last sharer.
  std::vector<std::size_t> weight_owner;
  std::vector<TensorHome> weight_home;
  const TensorHome* resident_weights(std::size_t layer) const {
    const TensorHome& h = weight_home[weight_owner[layer]];
    return h.resident ? &h : nullptr;
  }
};

// The buffer that can hold tensors between layers: the first on both the
// input and the output path (path[0] of each, so that a producer's output
// and a consumer's input meet there) that is also the vector unit's buffer;
// -1 when the config has none (then everything goes through DRAM).
int resident_buffer(const arch::Config& config);

// Places the workload's tensors in the first `area_bytes` of `buffer`
// (buffer -1 or area 0: nothing is resident). `bytes[l]` is layer l's output
// size; `weight_bytes[l]`, nonzero at owners of weights that later layers
// share and that may stay resident, their size.
Residency allocate_residency(const Workload& workload, const std::vector<std::uint64_t>& bytes,
                             const std::vector<std::uint64_t>& weight_bytes, int buffer,
                             std::uint64_t area_bytes);

}  // namespace tessel::workloads
