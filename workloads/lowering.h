#pragma once
// Lowering: tiles each layer's GEMM onto the hardware (tiles that fit every
// buffer on each operand's path, double-buffered where the buffer is) and
// emits the trace: LOAD / MOVE chains into the array-side buffers, GEMM per
// tile, MOVE / STORE chains for outputs, a BARRIER per layer. Dependencies
// come from tracking, per buffer slot and operand, its last writer and the
// readers since (RAW, WAR, WAW), so double buffering is simply two slots.

#include <cstdint>
#include <vector>

#include "arch/config.h"
#include "workloads/layer.h"
#include "workloads/trace.h"

namespace tessel::workloads {

// How one layer was tiled; `tessel lower` prints it.
struct TilePlan {
  std::uint64_t tm = 0, tn = 0, tk = 0, tg = 0;
  bool n_outer = true;  // loop order: groups, then n-m (true) or m-n, k innermost
  std::uint64_t estimated_cycles = 0;
  std::uint64_t dram_bytes = 0;
};

// Chooses the tile: among tiles whose spatial sides are multiples of the
// array (so folds match the untiled layer) and whose temporal side is the
// full extent when any such tile fits, the one with the lowest estimated
// cycles (compute and DMA overlapped), then the least DRAM traffic.
// Throws InputError when no tile fits.
TilePlan plan_layer(const Layer& layer, const arch::Config& config);

struct Lowered {
  Trace trace;
  std::vector<TilePlan> plans;  // one per layer
};

Lowered lower(const Workload& workload, const arch::Config& config);

}  // namespace tessel::workloads
