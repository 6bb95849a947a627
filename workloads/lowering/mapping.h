#pragma once
// A layer's mapping: how its GEMM is tiled and ordered on the hardware, what
// the mapper expects it to cost, and the residency decisions it was made
// under. `tessel lower --plan` prints it. Layers off the MAC array tile rows
// only: `tm` rows per tile.

#include <cstdint>
#include <string_view>

namespace tessel::workloads {

struct Mapping {
  // The array-side tile, shared by every buffer on the operand paths.
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
  // The mapping cost model's figures (mapping_cost.h).
  std::uint64_t estimated_cycles = 0;
  std::uint64_t dram_bytes = 0;        // read + written
  std::uint64_t dram_write_bytes = 0;  // of which written
  // The time at the end of the layer in which the DMA has nothing left to
  // load for it and a weight slot is free: the last step's compute, or,
  // when the grid's last weight tile serves several steps, their compute
  // less what their own transfers take of the bus. The next layer's
  // MapContext::dma_idle_cycles.
  std::uint64_t tail_compute_cycles = 0;
  // A layer off the array of two or more row tiles whose second input is
  // staged as weight tiles, in a buffer that stages weights: its tiles hold
  // the slots the next array layer's first weight tile loads into. The slot
  // of the tile before the last is free once that tile has been stored, so
  // the weight tile loads during the last one, ahead of its store
  // (tail_compute_cycles: what of the last tile's vector work that store
  // leaves the bus idle).
  bool row_tail_prefetch = false;
  // When the grid's last weight tile serves several steps (a weight run),
  // the bus time one of them leaves idle, on average (0 otherwise): the
  // next array layer's first weight tile loads at the run's start, whole,
  // first come first served, and what of it one step's idle bus does not
  // absorb delays the run.
  std::uint64_t run_idle_bus_cycles = 0;
  bool weight_run = false;
  // Of estimated_cycles, the delay its first weight tile's load is expected
  // to cause the weight run before it (MapContext::run_idle_bus_cycles); the
  // schedule moves it to that layer (add_prefetch_stalls).
  std::uint64_t prefetch_charge_cycles = 0;
  // The last tile's drain (its epilogue, MOVEs out and store), after the
  // last GEMM, less what the next layer's first output tile waits beyond
  // that GEMM for the other output slot (tail_slot_wait_cycles): the next
  // layer's first step may run under it (MapContext::drain_overlap_cycles).
  std::uint64_t tail_drain_cycles = 0;
  std::uint64_t tail_slot_wait_cycles = 0;
  // The DRAM bus cycles of the first weight tile this layer loads and, when
  // its second step loads a new one, of that one (0: none from DRAM): the
  // layer before sees them as prefetches ahead of its last store.
  std::uint64_t first_weight_bus_cycles = 0, second_weight_bus_cycles = 0;
  // Of that drain, the part before any store to DRAM (the epilogue and the
  // MOVEs out): the array is done with both weight slots and the DRAM bus
  // is free, so the next layer's first weight tiles load then.
  std::uint64_t tail_bus_free_cycles = 0;
  // The instructions the emitter emits for the layer, its barrier included
  // (mapping_cost.h, instruction_count): what the controller issues.
  std::uint64_t instructions = 0;
  // The outer level (0: none, the tile is the only level). Rows of m per
  // input block: the input's block_m x K rows are loaded once, whole, into
  // the first buffer on the input path, and the nest above (tm, tn, tk,
  // order) runs over them, its input tiles read there (or moved inwards from
  // there); the next block loads into the other slot while it runs. A
  // multiple of tm; the weights stream once per block.
  std::uint64_t block_m = 0;
  // Or columns of n per weight block (0: none): the weights' K x block_n
  // columns are loaded once into the first buffer on the weight path and
  // the nest (order mnk) runs over them, its weight tiles read there (or
  // moved inwards from there); the input streams once per block. A
  // multiple of tn. At most one of block_m and block_n is set.
  std::uint64_t block_n = 0;
};

}  // namespace tessel::workloads
