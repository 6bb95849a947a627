#pragma once
// The mapping cost model: what a tiling of one layer costs, in buffer bytes
// per tile, DRAM bytes and transfers of a loop nest, exact compute cycles
// over the tile grid, and the expected cycles. The mappers rank candidates
// with it; the emitter (emitter.h) performs exactly the loads and stores it
// counts, so its DRAM bytes are the trace's.

#include <array>
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

// (size, count) pairs of a dimension of `full` split into tiles of `t`: the
// full tiles and the edge tile, at most two (no allocation: the mappers call
// this in their inner loops).
struct Split {
  std::array<std::pair<std::uint64_t, std::uint64_t>, 2> parts{};
  std::size_t size = 0;
  const std::pair<std::uint64_t, std::uint64_t>* begin() const { return parts.data(); }
  const std::pair<std::uint64_t, std::uint64_t>* end() const { return parts.data() + size; }
};
Split split(std::uint64_t full, std::uint64_t t);

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

// DRAM bytes of a loop nest in `order` (outermost first) over `ng` groups,
// every tile of `bytes`, in closed form: an operand tile reloads when its
// indices change; with k not innermost, partial sums are stored after every
// visit and loaded back before every later one. The bytes stored (written
// to DRAM) go to `written`. Proven against a walk of the nest in the tests.
std::uint64_t loop_nest_traffic(std::string_view order, const Extents& count, std::uint64_t ng,
                                const TileBytes& bytes, std::uint64_t* written = nullptr);

// One kind of loop step (all steps of one tile size): how many there are,
// each one's compute cycles, and, on average, the bytes it loads from (or
// stores to) DRAM, its DMA transfers, the fraction of such steps that load
// at all (and so pay the DRAM latency and the MOVE chain) and that chain.
struct StepKind {
  std::uint64_t count = 1;
  std::uint64_t compute_cycles = 0;
  double bytes = 0, transfers = 0, loads = 1;
  std::uint64_t chain_cycles = 0;
};

// Expected cycles of a loop nest: the first step's load is not hidden; then
// each step but the last takes the longer of its compute and the next
// step's load (double buffering prefetches one step ahead, and each load
// pays its setup and the DRAM latency again: two slots hold no deeper
// queue); the last step only computes.
std::uint64_t estimated_cycles(const arch::Config& config, const std::vector<StepKind>& steps,
                               const StepKind& first);

// Cycles of one DMA transfer of `bytes` from DRAM that nothing overlaps:
// setup, the bytes at the slower of DRAM and the DMA channel, the latency.
std::uint64_t transfer_cycles(const arch::Config& config, std::uint64_t bytes);

// Expected cycles of a layer of `steps` loop steps: one step's load (its
// share of the traffic at the slower of DRAM and the DMA channels, plus the
// DRAM latency and the setup of its transfers spread over the channels),
// then each step the longer of its compute and the next step's load
// (double buffering prefetches one step ahead). `chain_cycles` is the
// serial part of a step's load beyond the DRAM leg: MOVEs to inner buffers.
std::uint64_t estimated_cycles(const arch::Config& config, std::uint64_t compute_cycles,
                               std::uint64_t traffic_bytes, std::uint64_t transfers,
                               std::uint64_t steps, std::uint64_t chain_cycles = 0);

// The MOVE legs a step's input and weight tiles take after the first buffer
// on their paths (each a DMA transfer: setup, then the tile at one channel's
// rate), the longer of the two operands' chains. With `partial_sums` (k not
// innermost) each step's output tile also drains to DRAM and comes back
// before its next visit: its MOVEs both ways and one more DRAM latency.
std::uint64_t chain_cycles(const MapContext& context, const TileBytes& bytes,
                           bool partial_sums = false);

}  // namespace tessel::workloads
