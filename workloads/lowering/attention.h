#pragma once
// Fused attention (Layer::attention): scores, softmax and context as one
// layer, tiled over the KV length with an online softmax (FlashAttention-2,
// Dao 2023, "FlashAttention-2: Faster Attention with Better Parallelism and
// Work Partitioning", Algorithm 1), so that no score or probability leaves
// the chip.
//
// The nest (one walk, walk_attention, that the emitter, the instruction
// count, the DRAM bytes and the expected cycles all follow): per tile of
// `tg` groups (KV heads) and `tm` query rows (Mapping::tg, tm), the query
// tile Q is loaded once; then per KV block of `bc` positions (Mapping::tn):
//   - the key block K_j (head_dim x bc) is loaded, unless the tile before
//     used the same block (one block: K and V stay for every query tile);
//   - S_j = Q K_j on the array, into the array's output buffer;
//   - the previous block's context step: P_{j-1} moves from the output
//     buffer into the array's input buffer, V_{j-1} (bc x cols) is loaded,
//     O += P_{j-1} V_{j-1} on the array, O in the output buffer;
//   - on the vector unit: the online softmax of S_j in place (its row max,
//     exponentials, row sums and the rescale factor of O), then, from the
//     second block, O times that factor (after the context step before).
// so the array computes S_{j+1} while the vector unit works on S_j. After
// the last block's context step, O is divided by the running sums and
// stored (or written into its resident home).
//
// K and V are read from DRAM (the residency allocator keeps them there: a
// KV cache), and so is Q; the output may stay resident. Tiles are staged in
// two slots per role: Q and P in the input buffer, K and V in the weight
// buffer, S and O in the output buffer, all in the buffers on the operands'
// paths; a slot holds one tile of each of the two roles that share it.

#include <cstdint>
#include <vector>

#include "arch/config.h"
#include "workloads/layer.h"
#include "workloads/lowering/fusion.h"
#include "workloads/lowering/layer_types.h"
#include "workloads/lowering/mapper.h"

namespace tessel::workloads {

// One step of the walk, in emission order.
struct AttentionStep {
  enum Kind {
    kLoadQuery,  // the query tile: tg x tm x head_dim
    kLoadKey,    // K_j: tg x head_dim x bc
    kScores,     // GEMM S_j = Q K_j: tm x bc x head_dim, tg groups
    kSoftmax,    // VECTOR online_softmax on S_j: tg*tm rows of bc
    kRescale,    // VECTOR row_scale on O: tg*tm rows of cols (blocks after the first)
    kMoveProbs,  // MOVE P_j to the array's input buffer
    kLoadValue,  // V_j: tg x bc x cols
    kContext,    // GEMM O (+)= P_j V_j: tm x cols x bc, tg groups
    kNormalize,  // VECTOR row_normalize on O, after the last block
    kStore,      // O out: tg x tm x cols
  };
  Kind kind;
  std::uint64_t g0, tg, m0, tm, j0, bc;
  std::uint64_t block;  // j
  std::uint64_t tile;   // the (group, query) tile's index
};

// Calls `f(step)` for every step of `mapping`'s nest over `layer`.
template <class F>
void walk_attention(const Layer& layer, const Mapping& mapping, F&& f) {
  const std::uint64_t groups = layer.batch, rows = layer.m, kv = layer.n;
  const std::uint64_t nb = ceil_div(kv, mapping.tn);
  std::uint64_t tile = 0;
  std::uint64_t kv_group = UINT64_MAX;  // the group tile whose K and V are staged (one block)
  for (std::uint64_t g0 = 0; g0 < groups; g0 += mapping.tg) {
    const std::uint64_t tg = std::min(mapping.tg, groups - g0);
    for (std::uint64_t m0 = 0; m0 < rows; m0 += mapping.tm, ++tile) {
      const std::uint64_t tm = std::min(mapping.tm, rows - m0);
      const bool reload = nb > 1 || kv_group != g0;
      kv_group = g0;
      auto step = [&](AttentionStep::Kind k, std::uint64_t j) {
        const std::uint64_t j0 = j * mapping.tn;
        f(AttentionStep{k, g0, tg, m0, tm, j0, std::min(mapping.tn, kv - j0), j, tile});
      };
      auto context = [&](std::uint64_t j) {
        step(AttentionStep::kMoveProbs, j);
        if (reload) step(AttentionStep::kLoadValue, j);
        step(AttentionStep::kContext, j);
      };
      step(AttentionStep::kLoadQuery, 0);
      for (std::uint64_t j = 0; j < nb; ++j) {
        if (reload) step(AttentionStep::kLoadKey, j);
        step(AttentionStep::kScores, j);
        if (j > 0) context(j - 1);
        step(AttentionStep::kSoftmax, j);
        if (j > 0) step(AttentionStep::kRescale, j);
      }
      context(nb - 1);
      step(AttentionStep::kNormalize, nb - 1);
      step(AttentionStep::kStore, nb - 1);
    }
  }
}

// Calls `f(step, count)` once per class of the walk's steps that move and
// compute alike: the same kind and tile sizes (full or edge along each of
// g, m and the KV length), `count` the steps of the class. The steps' costs
// summed over the classes are the walk's, in time linear in the classes
// (at most 8 tile shapes), not in the steps. The steps' positions (g0, m0,
// j0, block, tile) are those of one member.
template <class F>
void for_each_attention_class(const Layer& layer, const Mapping& mapping, F&& f) {
  struct Part {
    std::uint64_t size, count, first;  // tile size, tiles, index of the first
  };
  auto parts = [](std::uint64_t full, std::uint64_t tile) {
    std::vector<Part> out;
    if (full / tile > 0) out.push_back({tile, full / tile, 0});
    if (full % tile > 0) out.push_back({full % tile, 1, full / tile});
    return out;
  };
  const std::uint64_t kv = layer.n, nb = ceil_div(kv, mapping.tn);
  const auto gs = parts(layer.batch, mapping.tg), ms = parts(layer.m, mapping.tm),
             bs = parts(kv, mapping.tn);
  const Part& last_block = bs.back();
  for (const Part& g : gs)
    for (const Part& m : ms) {
      const std::uint64_t tiles = g.count * m.count;
      auto step = [&](AttentionStep::Kind k, const Part& b, std::uint64_t count) {
        if (count == 0) return;
        f(AttentionStep{k, g.first * mapping.tg, g.size, m.first * mapping.tm, m.size,
                        b.first * mapping.tn, b.size, b.first, 0},
          count);
      };
      step(AttentionStep::kLoadQuery, bs.front(), tiles);
      for (const Part& b : bs) {
        // One block: K and V are loaded by each group tile's first query tile.
        const std::uint64_t loads = nb > 1 ? tiles * b.count : m.first == 0 ? g.count : 0;
        step(AttentionStep::kLoadKey, b, loads);
        step(AttentionStep::kLoadValue, b, loads);
        step(AttentionStep::kScores, b, tiles * b.count);
        step(AttentionStep::kSoftmax, b, tiles * b.count);
        step(AttentionStep::kRescale, b, tiles * (b.count - (b.first == 0 ? 1 : 0)));
        step(AttentionStep::kMoveProbs, b, tiles * b.count);
        step(AttentionStep::kContext, b, tiles * b.count);
      }
      step(AttentionStep::kNormalize, last_block, tiles);
      step(AttentionStep::kStore, last_block, tiles);
    }
}

// What the steps move and compute.
struct AttentionTileBytes {
  std::uint64_t query, key, scores, probs, value, output;
};
AttentionTileBytes attention_bytes(const AttentionStep& s, const Layer& layer,
                                   const LayerTypes& types);
arch::GemmShape scores_shape(const AttentionStep& s, const Layer& layer);
arch::GemmShape context_shape(const AttentionStep& s, const Layer& layer);
arch::VectorWork attention_vector_work(const AttentionStep& s, const Layer& layer);
// The bytes a step moves to or from DRAM (its load or store; zero for the
// others), the output's included.
std::uint64_t dram_step_bytes(const AttentionStep& s, const AttentionTileBytes& bytes);

// Whether `mapping`'s tiles fit `context`'s per-slot budgets: per buffer,
// Q + P where it holds inputs, K + V where it holds weights, S + O where it
// holds outputs (every buffer on a path counts the path's two roles).
bool attention_fits(const MapContext& context, const Layer& layer, const Mapping& mapping,
                    const LayerTypes& types);

// The mapping of a fused attention layer: every tile (tg a power of two or
// all groups; tm a power-of-two multiple of the array's rows or all rows;
// bc a power-of-two multiple of the array's larger side or the whole KV
// length) that fits, ranked by expected cycles (attention_schedule), then
// DRAM bytes, then fewer instructions; priced cheapest lower bound first
// (the busiest unit's work), stopping when the bound passes the best.
// Throws InputError naming the layer and the buffer when none fits.
Mapping map_attention(const Layer& layer, const MapContext& context);

// Expected cycles of `mapping`: the walk list-scheduled on the units the
// simulator has (sim/): the array and the vector unit in order, the DMA
// channels (setup, the bytes at the channel's rate, the DRAM bus first come
// first served, the latency), each step after the steps whose tiles it
// reads and the step that last used its slot. With the figures of its end
// the next layer overlaps (Mapping::tail_compute_cycles, tail_drain_cycles,
// tail_bus_free_cycles): from the last K or V tile's arrival to the last
// context GEMM's end, from that to the layer's end, and of that, the part
// before the last output tile's store.
struct AttentionSchedule {
  std::uint64_t cycles = 0, tail_compute_cycles = 0, tail_drain_cycles = 0,
                tail_bus_free_cycles = 0;
};
AttentionSchedule attention_schedule(const MapContext& context, const Layer& layer,
                                     const Mapping& mapping);

// The array's and the vector unit's cycles over the walk (each GEMM and
// VECTOR as the simulator times it), and the bytes to and from DRAM when
// nothing is resident.
struct AttentionWork {
  std::uint64_t array_cycles = 0, vector_cycles = 0, dram_bytes = 0;
};
AttentionWork attention_work(const arch::Config& config, const Layer& layer,
                             const Mapping& mapping);

// DRAM bytes (read + written, and written) and the instructions the
// emitter emits, barrier included.
struct AttentionCounts {
  std::uint64_t dram_bytes = 0, dram_write_bytes = 0, instructions = 0;
};
AttentionCounts attention_counts(const MapContext& context, const Layer& layer,
                                 const Mapping& mapping);

// The `auto` fusion policy's attention proposal on top of `base`: every
// scores GEMM S whose rows go through a softmax (its epilogue, or a layer
// of its own that alone reads S), whose probabilities only a GEMM C reads,
// multiplying them by a second operand produced before S (or from outside:
// a KV cache), becomes one attention layer
// (Layer::attention) when it maps and is expected no slower, each layer
// mapped on its own (schedule.h, map_alone), than S and C apart. Empty
// when there is none.
std::vector<Fused> attention_candidates(const Fused& base, const arch::Config& config,
                                        const IMapper& mapper);

}  // namespace tessel::workloads
