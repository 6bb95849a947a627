#pragma once
// The mapping cost model: what a tiling of one layer costs, in buffer bytes
// per tile, DRAM bytes and transfers of a loop nest, exact compute cycles
// over the tile grid, and the expected cycles. The mappers rank candidates
// with it; the emitter (emitter.h) performs exactly the loads and stores it
// counts, so its DRAM bytes are the trace's.

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "arch/config.h"
#include "workloads/layer.h"
#include "workloads/lowering/layer_types.h"
#include "workloads/lowering/mapper.h"

namespace tessel::workloads {

// Bytes of one tile of each operand.
struct TileBytes {
  std::uint64_t input = 0, weight = 0, output = 0;
};
TileBytes tile_bytes(const Layer& layer, std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
                     std::uint64_t tg, const LayerTypes& types);

// Whether the tiles fit the per-slot budget of every buffer on their paths
// (a resident operand takes no staging space in the resident buffer).
bool fits(const MapContext& context, const TileBytes& bytes);

// The tile bytes that cross DRAM: resident operands' are zero.
TileBytes dram_tile_bytes(const MapContext& context, const TileBytes& bytes);

// DMA transfers one tile of `op` takes: none when it is resident and the
// resident buffer is the only one on its path, else one.
std::uint64_t transfers_per_tile(const MapContext& context, arch::Operand op);

// Tile counts along m, n, k.
struct Extents {
  std::uint64_t m, n, k;
  std::uint64_t of(char d) const { return d == 'm' ? m : d == 'n' ? n : k; }
};

// (size, count) pairs of a dimension of `full` split into tiles of `t`.
std::vector<std::pair<std::uint64_t, std::uint64_t>> split(std::uint64_t full, std::uint64_t t);

// Compute cycles of the whole GEMM tiled by (tm, tn, tk, tg), every tile
// paying its fill and drain (edge tiles at their own size).
std::uint64_t tiled_compute_cycles(const arch::Config& config, const arch::GemmShape& g,
                                   std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
                                   std::uint64_t tg, arch::MacRate rate);

// Loads of each operand per distinct tile with k innermost, given whether n
// is the outer loop: an operand tile stays resident while the loops above
// it do not change it. Returns (input reuse, weight reuse).
std::pair<std::uint64_t, std::uint64_t> reuse_factors(std::uint64_t nm, std::uint64_t nn,
                                                      std::uint64_t nk, bool n_outer);

// DRAM bytes of a loop nest in `order`, by walking it (for chunked plans,
// whose nests are small): an operand tile reloads when its indices change;
// with k not innermost, partial sums are stored and loaded back.
std::uint64_t walk_traffic(std::string_view order, const Extents& count, std::uint64_t ng,
                           const TileBytes& bytes);

// Expected cycles of a layer: DMA time (traffic at the slower of DRAM and
// the DMA channels, setup per transfer spread over the channels, one DRAM
// latency) overlapped with compute, the shorter one divided over the steps.
std::uint64_t estimated_cycles(const arch::Config& config, std::uint64_t compute_cycles,
                               std::uint64_t traffic_bytes, std::uint64_t transfers,
                               std::uint64_t steps);

}  // namespace tessel::workloads
