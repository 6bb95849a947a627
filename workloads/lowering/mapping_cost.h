#pragma once
// The mapping cost model: what a tiling of one layer costs, in buffer bytes
// per tile, DRAM bytes and transfers of a loop nest, exact compute cycles
// over the tile grid, and the expected cycles. The mappers rank candidates
// with it; the emitter (emitter.h) performs exactly the loads and stores it
// counts, so its DRAM bytes are the trace's.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "arch/config.h"
#include "workloads/layer.h"
#include "workloads/lowering/layer_types.h"
#include "workloads/lowering/mapper.h"

namespace tessel::workloads {

// Bytes of one tile of each operand, and of the tile of the tensor a fused
// residual add reads (as large as the output tile; zero without one).
struct TileBytes {
  std::uint64_t input = 0, weight = 0, output = 0, residual = 0;
};
TileBytes tile_bytes(const Layer& layer, std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
                     std::uint64_t tg, const LayerTypes& types);

// Whether the tiles fit the per-slot budget of every buffer on their paths
// (a resident operand takes no staging space in the resident buffer); a
// residual tile is staged in the vector buffer.
bool fits(const MapContext& context, const TileBytes& bytes);
// The first buffer the tiles do not fit, and the bytes they need per slot
// there (MapContext::tile_budget_bytes has what one slot offers).
struct Overflow {
  std::size_t buffer;
  std::uint64_t need_bytes;
};
std::optional<Overflow> overflow(const MapContext& context, const TileBytes& bytes);

// The outer level (Mapping::block_m, block_n). The bytes of an input block
// of `rows` rows of m and of a weight block of `cols` columns of n, both
// whole along k (one group).
std::uint64_t input_block_bytes(const Layer& layer, std::uint64_t rows, const LayerTypes& types);
std::uint64_t weight_block_bytes(const Layer& layer, std::uint64_t cols, const LayerTypes& types);
// How a block plan loads its blocks: the first is one LOAD before the
// nest; each later block streams in while the block before runs, in one
// chunk per step of that block, so that no chunk holds the DRAM bus for
// longer than a step's share of the block (the bus serves each transfer
// whole, first come first served: one large LOAD would stall the steps'
// own transfers behind it). An input block's chunks are contiguous byte
// ranges, a weight block's ranges of its k rows. Returns the chunks of a
// block of `units` (bytes or rows) loaded under `steps` steps.
std::uint64_t block_chunks(std::uint64_t units, std::uint64_t steps);
// Over a whole layer: the blocks' DRAM bytes, their LOADs, and the first
// block's bytes.
struct BlockLoads {
  std::uint64_t bytes = 0, loads = 0, first_bytes = 0;
};
BlockLoads block_loads(const Layer& layer, const Mapping& mapping, const LayerTypes& types);
// Whether blocks of operand `op` can be staged under `context`: not when
// it is resident already, nor when another buffer than the first on its
// path is the resident one.
bool blocks_possible(const MapContext& context, arch::Operand op);
// Whether the tiles fit when the first buffer on `op`'s path holds a block
// of `block_bytes` per slot in place of `op`'s tiles (the nest over a block
// reads them there: they still count in the buffers further in).
bool fits_with_block(const MapContext& context, const TileBytes& tiles, arch::Operand op,
                     std::uint64_t block_bytes);
// Whether `mapping`'s tiles, and its blocks, fit `context`'s budgets.
bool mapping_fits(const MapContext& context, const Layer& layer, const Mapping& mapping,
                  const LayerTypes& types);

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

// Tile sides the searches try along a dimension of `full`: `unit` times the
// powers of two below it, then `full`.
std::vector<std::uint64_t> tile_candidates(std::uint64_t full, std::uint64_t unit);

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

// The array cycles of `mapping`'s GEMM instructions: tiled_compute_cycles,
// or, for streamed folds (each tile one fold whose chunks stream on and only
// the last pays fill and drain), folds x (T + fill and drain) whatever the
// preload: nothing is left to overlap within one fold.
std::uint64_t mapped_compute_cycles(const arch::Config& config, const arch::GemmShape& g,
                                    const Mapping& mapping, arch::MacRate rate);

// Compute cycles of the whole GEMM tiled by (tm, tn, tk, tg), every tile
// paying its fill and drain (edge tiles at their own size), each tile one
// GEMM instruction (an overlapped weight preload hides within a tile only).
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
// each one's compute cycles, and, on average, the bytes it moves to and
// from DRAM (`bytes`, of which `store_bytes` stored), its DMA transfers, the
// fraction of such steps that load at all (and so pay the DRAM latency and
// the MOVE chain) and that store (and pay the latency before the output
// slot is free again), and that chain.
struct StepKind {
  std::uint64_t count = 1;
  std::uint64_t compute_cycles = 0;
  double bytes = 0, transfers = 0, loads = 1;
  std::uint64_t chain_cycles = 0;
  double store_bytes = 0, stores = 0;
  // On average, the fused epilogue on the vector unit: once per finished
  // output tile, after its last GEMM and before its store.
  double epilogue_cycles = 0;
  // A floor on the step's time from its neighbour (step_cycles below).
  double min_cycles = 0;
  // On average, the MOVEs that take its finished output tile out of the
  // array's buffer towards the first buffer of the output path: between its
  // epilogue and its store, on the DMA.
  double out_move_cycles = 0;
  // Whether the step after next reuses this step's output slot (and so
  // waits for its epilogue and store); not when k is split and the slot
  // holds one output tile over several steps.
  bool store_chain = true;

  // The same step with its store taken out (the first step carries none).
  StepKind without_store() const {
    StepKind s = *this;
    s.bytes -= s.store_bytes;
    s.store_bytes = s.stores = 0;
    return s;
  }
};

// Bytes per cycle between DRAM and the chip: the slower of DRAM and the DMA
// channels together.
double bus_bytes_per_cycle(const arch::Config& config);

// A step's steady-state time (estimated_cycles, below), at least min_cycles.
double step_cycles(const arch::Config& config, const StepKind& s);
// The chain from a step's start until its staging slots are free for the
// step two later: its compute, then the next load into the same slot, or
// its epilogue and store. Steps i and i + 1 together take at least step i's
// chain; when tile sizes alternate (a full tile then an edge tile in the
// innermost loop), each pair does, so the edge step's floor is the larger
// chain less the full step's time. Zero when the DMA holds one step's
// transfers only (each load then waits for the last anyway).
double slot_chain_cycles(const arch::Config& config, const StepKind& s);

// Expected cycles of a loop nest: the first step's load is not hidden; then
// each step takes its steady-state time; the last step has no next load to
// hide. Steady state: each operand has two staging slots, so the load of
// step i + 1 is issued once step i - 1 has computed, and step i + 1 may
// compute once the store of step i - 1 has freed its output slot (a store
// completes when DRAM has taken it, after the latency). When the DMA can
// keep two steps' transfers in flight, a step takes the longest of its
// compute, its epilogue, its bytes on the bus, and half of compute + stream
// + serial part of the load pipeline and of the store pipeline (which also
// waits for the epilogue); otherwise each load waits for the last: compute,
// epilogue or load + store, whichever is longer.
// `store_before_last`: the DRAM bytes the step before the last stores,
// which the last step's compute overlaps (by default: as the last kind).
std::uint64_t estimated_cycles(const arch::Config& config, const std::vector<StepKind>& steps,
                               const StepKind& first,
                               std::optional<double> store_before_last = std::nullopt);

// Cycles of one DMA transfer of `bytes` from DRAM that nothing overlaps:
// setup, the bytes at the slower of DRAM and the DMA channel, the latency.
std::uint64_t transfer_cycles(const arch::Config& config, std::uint64_t bytes);

// Expected cycles of a layer of `steps` loop steps that are all alike: the
// per-kind estimate above with one kind carrying the averages (each step's
// share of the compute, the traffic and the transfers; `store_bytes` of
// the traffic are stored, every step its share). `chain_cycles` is the
// serial part of a step's load beyond the DRAM leg: MOVEs to inner buffers.
std::uint64_t estimated_cycles(const arch::Config& config, std::uint64_t compute_cycles,
                               std::uint64_t traffic_bytes, std::uint64_t transfers,
                               std::uint64_t steps, std::uint64_t chain_cycles = 0,
                               std::uint64_t store_bytes = 0);

// The MOVE legs a step's input and weight tiles take after the first buffer
// on their paths (each a DMA transfer: setup, then the tile at one channel's
// rate), the longer of the two operands' chains. With `partial_sums` (k not
// innermost) each step's output tile also drains to DRAM and comes back
// before its next visit: its MOVEs both ways and one more DRAM latency.
std::uint64_t chain_cycles(const MapContext& context, const TileBytes& bytes,
                           bool partial_sums = false);

// The part of a layer's first load (its first step's input and weight
// tiles, `first` in DRAM bytes) that the DMA does in the `idle_cycles`
// before the layer starts (MapContext::dma_idle_cycles): at most what the
// weight tile adds to loading the input tile alone, whose producer may
// still be storing it.
std::uint64_t prefetched_cycles(const MapContext& context, const TileBytes& first,
                                std::uint64_t idle_cycles);

// The last step's output tile, which nothing is left to hide: its MOVE
// legs out to the first buffer on the output path, then, unless the output
// stays resident (`to_dram` false), its store to DRAM. A layer ends when
// this drain has completed; Mapping::estimated_cycles includes it.
std::uint64_t drain_cycles(const MapContext& context, std::uint64_t output_tile_bytes,
                           bool to_dram);

// The instructions the emitter (lower.h) emits for an array layer mapped
// as `mapping` under `context`'s residency flags, its barrier included:
// per tile of each operand the loop nest loads (its key changing, as
// reuse_factors counts), its LOAD or in-place read and the MOVEs along its
// path (with input blocks, their LOADs, block_loads, and the nest counted
// over each block); per step one GEMM; per finished output tile its epilogue's VECTORs,
// a residual tile's LOAD unless resident, and its MOVEs and STORE (or its
// write into the resident tensor); with k not innermost, each step's
// partial sums stored and loaded back. Not the LOAD of resident shared
// weights, which their owner adds.
std::uint64_t instruction_count(const Layer& layer, const Mapping& mapping,
                                const MapContext& context);

}  // namespace tessel::workloads
