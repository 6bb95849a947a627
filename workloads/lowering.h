#pragma once
// Lowering: tiles each layer's GEMM onto the hardware (tiles that fit every
// buffer on each operand's path, double-buffered where the buffer is) and
// emits the trace: LOAD / MOVE chains into the array-side buffers, GEMM per
// tile, MOVE / STORE chains for outputs, a BARRIER per layer. Dependencies
// come from tracking, per buffer slot and operand, its last writer and the
// readers since (RAW, WAR, WAW), so double buffering is simply two slots.

#include <cstdint>
#include <string>
#include <vector>

#include "arch/config.h"
#include "workloads/layer.h"
#include "workloads/trace.h"

namespace tessel::workloads {

// How one layer was tiled; `tessel lower --plan` prints it.
struct TilePlan {
  std::uint64_t tm = 0, tn = 0, tk = 0, tg = 0;
  // Loop order below the group loop, outermost first: a permutation of "mnk".
  // When k is not innermost, partial sums go to DRAM and come back.
  std::string order = "nmk";
  // The temporal dimension is split: each tile is one fold and only the
  // last chunk of a fold pays its fill and drain.
  bool temporal_chunked = false;
  std::uint64_t estimated_cycles = 0;
  std::uint64_t dram_bytes = 0;
};

// Chooses the tile. First choice: spatial sides multiples of the array (so
// folds match the untiled layer) and the full temporal extent, the one with
// the lowest estimated cycles (compute and DMA overlapped), then the least
// DRAM traffic. If no such tile fits, one fold with the temporal extent
// streamed in chunks (compute cycles unchanged, SCALE-Sim's model). Throws
// InputError when not even that fits.
TilePlan plan_layer(const Layer& layer, const arch::Config& config);

struct Lowered {
  Trace trace;
  std::vector<TilePlan> plans;  // one per layer
};

Lowered lower(const Workload& workload, const arch::Config& config);

}  // namespace tessel::workloads
