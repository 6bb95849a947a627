#pragma once
// Lowering: tiles each layer's GEMM onto the hardware (tiles that fit every
// buffer on each operand's path, double-buffered where the buffer is) and
// emits the trace: LOAD / MOVE chains into the array-side buffers, GEMM per
// tile, MOVE / STORE chains for outputs, a BARRIER per layer. Dependencies
// come from tracking, per buffer slot and operand, its last writer and the
// readers since (RAW, WAR, WAW), so double buffering is simply two slots.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "arch/config.h"
#include "workloads/layer.h"
#include "workloads/trace.h"

namespace tessel::workloads {

// The element types a layer runs with (its own, or the hardware default),
// and the MAC rate of its GEMMs.
struct LayerTypes {
  DType activation = DType::kInt8;
  DType weight = DType::kInt8;
  DType mac = DType::kInt8;
  arch::MacRate rate;
};

// Throws InputError when the layer's MAC precision is not supported.
LayerTypes layer_types(const Layer& layer, const arch::Config& config);

// How one layer was tiled; `tessel lower --plan` prints it. Layers off the
// MAC array tile rows only: `tm` rows per tile.
struct TilePlan {
  std::uint64_t tm = 0, tn = 0, tk = 0, tg = 0;
  // Loop order below the group loop, outermost first: a permutation of "mnk".
  // When k is not innermost, partial sums go to DRAM and come back.
  std::string_view order = "nmk";  // always a literal
  // How the temporal dimension is split, when the full extent does not fit:
  //   kNone: not split;
  //   kRepeatFold: chunks are separate passes, each paying fill and drain;
  //   kStreamFold: each tile is one fold whose chunks stream back to back
  //     and only the last pays fill and drain (SCALE-Sim's model: compute
  //     cycles independent of SRAM size); ws/is spill partial sums.
  enum class Chunking { kNone, kRepeatFold, kStreamFold };
  Chunking chunking = Chunking::kNone;
  std::uint64_t estimated_cycles = 0;
  std::uint64_t dram_bytes = 0;
};

// Chooses the tile: spatial sides multiples of the array (so folds match the
// untiled layer), the lowest estimated cycles (compute and DMA overlapped),
// then the least DRAM traffic. Tiles with the full temporal extent are
// preferred whenever one fits; otherwise both chunkings compete, except for
// layers imported from SCALE-Sim, which only stream folds. Throws
// InputError when no tile fits.
TilePlan plan_layer(const Layer& layer, const arch::Config& config);

struct Lowered {
  Trace trace;
  std::vector<TilePlan> plans;  // one per layer
};

Lowered lower(const Workload& workload, const arch::Config& config);

}  // namespace tessel::workloads
