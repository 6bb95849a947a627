// The single-level tile search (Tessel's first planner): one array-side tile
// shared by every buffer on each operand's path, k innermost when the
// temporal extent fits, chunked folds when it does not. Ranked by the
// mapping cost model's expected cycles, then DRAM bytes, then fewer steps.
//
// Spatial tile sides are multiples of the array (so folds match the untiled
// layer). Full-extent tiles and chunks as separate passes compete on cost;
// streamed folds (at the largest chunk that fits) are the fallback when
// neither fits. Layers imported from SCALE-Sim keep its semantics: the full
// extent whenever it fits, else streamed folds.

#include <algorithm>
#include <array>
#include <cmath>
#include <tuple>

#include <fmt/format.h>

#include "arch/dataflow.h"
#include "arch/error.h"
#include "arch/systolic.h"
#include "arch/vector.h"
#include "workloads/lowering/attention.h"
#include "workloads/lowering/mapper.h"
#include "workloads/lowering/mapping_cost.h"

namespace tessel::workloads {

namespace {

using arch::MacRate;

enum class Role { kRows, kCols, kTemporal };

Role role_of(char dim, const arch::DataflowRow& d) {
  return d.rows_dim == dim ? Role::kRows : d.cols_dim == dim ? Role::kCols : Role::kTemporal;
}

// The tile granule of a dimension: the array side it maps to; the reduction
// on the rows holds `pack` elements per PE at packed precisions.
std::uint64_t candidates_unit(Role r, const arch::Config& c, bool reduction = false,
                              MacRate rate = {}) {
  return r == Role::kRows ? std::uint64_t{c.array.rows} * (reduction ? rate.pack : 1)
                          : c.array.cols;
}

// Whether a mapping's steps run with n outer in effect (m the innermost of
// m and n that iterates): its order, except that a block of one tile along
// the blocked dimension makes the block loop that dimension's loop, so the
// other one is innermost.
bool n_outer_in_effect(const Mapping& m) {
  if (m.block_n > 0) return m.block_n == m.tn;
  return m.order == std::string_view("nmk") && (m.block_m == 0 || m.block_m > m.tm);
}

class SingleLevel : public IMapper {
 public:
  Mapping map(const Layer& layer, const MapContext& context) const override;
  std::vector<Mapping> candidates(const Layer& layer, const MapContext& context) const override;

 protected:
  // Whether the search also weighs blocks (Mapping::block_m, block_n).
  virtual bool blocks() const { return false; }
};

class MultiLevel : public SingleLevel {
 protected:
  bool blocks() const override { return true; }
};

using Key = std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>;  // cycles, DRAM bytes, steps
using Weighed = std::vector<std::pair<Key, Mapping>>;

// The side of the grid's last tile along a dimension (the remainder).
std::uint64_t last(std::uint64_t full, std::uint64_t t) {
  return full - (ceil_div(full, t) - 1) * t;
}

// One layer's search: what every candidate shares, the best so far (and,
// with `weighed`, every candidate considered), and the steps of pricing one.
class Search {
 public:
  Search(const Layer& layer, const MapContext& context, Weighed* weighed, bool blocks)
      : layer(layer),
        context(context),
        config(context.config),
        g(layer.gemm()),
        df(arch::dataflow_row(config.array.dataflow)),
        role_m(role_of('m', df)),
        role_n(role_of('n', df)),
        role_k(role_of('k', df)),
        types(layer_types(layer, config)),
        rate(types.rate),
        row_wise_epilogue(layer.row_wise_epilogue()),
        epilogue_ops(layer.epilogue(1, 1)),
        tdim(df.temporal_dim),
        full_t(tdim == 'm'   ? g.m
               : tdim == 'n' ? g.n
                             : g.k),
        fold_fill_drain(
            arch::fold_overhead(config.array.dataflow, config.array.rows, config.array.cols)
                .count()),
        untiled_compute(arch::gemm_cycles(config.array, g, true, rate).count()),
        bus_rate(bus_bytes_per_cycle(config)),
        tpt_in(transfers_per_tile(context, arch::Operand::kInput)),
        tpt_w(transfers_per_tile(context, arch::Operand::kWeight)),
        tpt_out(transfers_per_tile(context, arch::Operand::kOutput)),
        tpt_res(layer.residual && !context.residual_resident ? 1 : 0),
        out_buffer(config.path(arch::Operand::kOutput).back()),
        out_slots(config.sram[out_buffer].slots()),
        blocks(blocks),
        weighed(weighed) {
    for (std::uint64_t v = 1; v < g.batch; v *= 2) tgs.push_back(v);
    tgs.push_back(g.batch);
    kinds.reserve(32);  // reused across candidates (at most 2 per tile-size kind)
  }

  Mapping run();

 private:
  std::vector<std::uint64_t> candidates(Role r, std::uint64_t full, char dim) const {
    if (dim == 'n' && row_wise_epilogue) return {full};
    return r == Role::kTemporal
               ? temporal_list
               : tile_candidates(full, candidates_unit(r, config, dim == 'k', rate));
  }
  // Tiles with the temporal extent in `temporal_list`, k innermost.
  void search_k_inner(Mapping::Chunking chunking) {
    for (auto tm : candidates(role_m, g.m, 'm'))
      for (auto tn : candidates(role_n, g.n, 'n'))
        for (auto tk : candidates(role_k, g.k, 'k'))
          for (auto tg : tgs) price_k_inner(tm, tn, tk, tg, chunking);
  }
  void price_k_inner(std::uint64_t tm, std::uint64_t tn, std::uint64_t tk, std::uint64_t tg,
                     Mapping::Chunking chunking);
  // One tile's grid: its step kinds, the sums over steps of each
  // operand's DRAM tile bytes, its compute and its last tile's drain.
  struct Grid;
  Grid grid_of(const TileBytes& b, std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
               std::uint64_t tg) const;
  // The nests of one tile's grid, single-level (block_dim 0) or over blocks
  // of `block` rows of the input (block_dim 'm') or columns of the weights
  // ('n'); the grid's DRAM bytes of the blocked operand are then zero.
  void price_nest(const Grid& grid, std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
                  std::uint64_t tg, Mapping::Chunking chunking, char block_dim,
                  std::uint64_t block);
  // One tile-size kind of a candidate's grid.
  struct Geometry {
    // drain: its output tile's MOVEs out and store, when finished; moves:
    // the MOVEs alone.
    std::uint64_t count, compute, chain, epilogue, drain, moves;
    TileBytes dram;
    std::array<bool, 2> edge;  // the remainder along m, along n
    bool k_remainder;          // the remainder along k
    std::uint64_t ck;          // steps of its k part per output tile
  };
  struct Grid {
    std::array<Geometry, 16> kinds;
    std::size_t n_kinds = 0;
    TileBytes b;  // the full tile's bytes
    std::uint64_t step_in = 0, step_w = 0, step_out = 0, step_res = 0;
    std::uint64_t compute_total = 0, drain = 0;
  };
  // Fills `kinds` with the step kinds of one loop order over the grid's
  // tile-size kinds, given each operand's share of loads per step; returns
  // what the step before the last stores, when known.
  // Per step, on average: the share of an input, a weight and an output
  // tile it loads (stores), its input and weight DMA transfers, and, with
  // blocks, the blocks' DRAM bytes and LOADs.
  struct Shares {
    double in = 0, w = 0, out = 0, in_transfers = 0, w_transfers = 0, block_bytes = 0,
           block_loads = 0;
  };
  std::optional<double> step_kinds(const std::array<Geometry, 16>& geometry, std::size_t n_kinds,
                                   std::uint64_t nm, std::uint64_t nn, std::uint64_t nk,
                                   std::uint64_t tk, bool n_outer, const Shares& shares);
  void search_streamed();
  void consider(Mapping p, std::uint64_t traffic, std::uint64_t written, std::uint64_t steps);
  std::uint64_t hidden_prefetch(const Mapping& p) const;
  std::uint64_t epilogue(std::uint64_t sm, std::uint64_t sn, std::uint64_t sg) const;
  std::uint64_t epilogue_queue(std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
                               std::uint64_t tg, bool n_outer) const;
  std::uint64_t last_drain(std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
                           std::uint64_t tg) const;
  std::uint64_t other_slot_wait(std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
                                std::uint64_t tg, bool n_outer) const;
  void set_first_weight_tiles(Mapping& m) const;
  Mapping annotated(Mapping m) const;
  Mapping finish();

  const Layer& layer;
  const MapContext& context;
  const arch::Config& config;
  const arch::GemmShape g;
  const arch::DataflowRow& df;
  const Role role_m, role_n, role_k;
  const LayerTypes types;
  const MacRate rate;
  const bool row_wise_epilogue;
  const std::vector<arch::VectorWork> epilogue_ops;  // sized per tile by epilogue()
  const char tdim;
  const std::uint64_t full_t;  // the temporal extent
  const std::uint64_t fold_fill_drain, untiled_compute;
  const double bus_rate;
  // DMA transfers per tile of each operand (mapping_cost.h), and per
  // residual tile (a LOAD into the vector buffer unless read in place).
  const std::uint64_t tpt_in, tpt_w, tpt_out, tpt_res;
  // The array's output buffer (the last on the output path) and its slots.
  const std::size_t out_buffer;
  const std::uint64_t out_slots;
  const bool blocks;
  Weighed* weighed;
  std::vector<std::uint64_t> tgs, temporal_list;
  std::vector<StepKind> kinds;
  // Block plans that fit, with their DRAM bytes, priced once the
  // single-level search is done (finish).
  struct BlockCandidate {
    std::uint64_t tm, tn, tk, tg;
    Mapping::Chunking chunking;
    char dim;  // 'm': input blocks, 'n': weight blocks
    std::uint64_t block, traffic, compute;
  };
  std::vector<BlockCandidate> deferred;
  Mapping best;
  bool found = false;
  Key best_key{UINT64_MAX, UINT64_MAX, UINT64_MAX};
};

Mapping SingleLevel::map(const Layer& layer, const MapContext& context) const {
  if (layer.attention) return map_attention(layer, context);
  return Search(layer, context, nullptr, blocks()).run();
}

std::vector<Mapping> SingleLevel::candidates(const Layer& layer, const MapContext& context) const {
  if (layer.attention) return {map_attention(layer, context)};
  Weighed all;
  const Mapping best = Search(layer, context, &all, blocks()).run();
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Mapping> out{best};
  for (const auto& [key, m] : all) {
    if (m.tm == best.tm && m.tn == best.tn && m.tk == best.tk && m.tg == best.tg &&
        m.order == best.order && m.chunking == best.chunking && m.block_m == best.block_m &&
        m.block_n == best.block_n)
      continue;
    out.push_back(m);
  }
  return out;
}

Mapping Search::run() {
  // Full temporal extent: closed-form traffic with k innermost.
  temporal_list = {full_t};
  search_k_inner(Mapping::Chunking::kNone);
  // SCALE-Sim's layers stream their folds only when the full extent does
  // not fit. Tessel's own also try chunks as separate passes (each pays
  // fill and drain, k innermost), which compete with the full extent on
  // cost: they can reuse the stationary operand more per DRAM byte, and
  // preferring the full extent would make more SRAM slower. Streamed folds
  // (below), which spill partial sums in ws and is, are the fallback when
  // neither fits.
  if (found && layer.scalesim_semantics) return annotated(best);  // no blocks for them
  temporal_list.clear();
  for (std::uint64_t d = 2; ceil_div(full_t, d / 2) > 1; d *= 2)
    temporal_list.push_back(ceil_div(full_t, d));
  if (!layer.scalesim_semantics) search_k_inner(Mapping::Chunking::kRepeatFold);
  if (found && !layer.scalesim_semantics) return finish();
  search_streamed();
  if (!found) {
    // The smallest tile tried: one fold, a temporal chunk of 1.
    const std::uint64_t tm =
        role_m == Role::kTemporal ? 1 : std::min(g.m, candidates_unit(role_m, config));
    const std::uint64_t tn =
        role_n == Role::kTemporal
            ? 1
            : (row_wise_epilogue ? g.n : std::min(g.n, candidates_unit(role_n, config)));
    const std::uint64_t tk =
        role_k == Role::kTemporal ? 1 : std::min(g.k, candidates_unit(role_k, config, true, rate));
    const auto o = overflow(context, tile_bytes(layer, tm, tn, tk, 1, types));
    const std::string where =
        o ? fmt::format("buffer \"{}\" needs {} B per slot for it and has {} B",
                        config.sram[o->buffer].name, o->need_bytes,
                        context.tile_budget_bytes[o->buffer])
          : std::string("some buffer on the operand paths is too small");
    throw InputError(fmt::format(
        "layer \"{}\": no tile fits the buffers of \"{}\": even one {}x{} fold with a temporal "
        "chunk of 1{} does not fit ({})",
        layer.name, config.name, config.array.rows, config.array.cols,
        row_wise_epilogue ? " and whole output rows for its fused norm" : "", where));
  }
  return finish();
}

// Blocks exist to cut DRAM traffic: a block plan competes only when
// it moves fewer bytes than the best single-level plan (one that moves as
// many is another tiling of the same work, which the cost model cannot
// tell apart from it reliably).
Mapping Search::finish() {
  const std::uint64_t single = std::get<1>(best_key);
  // Cheapest bound first (the array's cycles and the bytes on the bus, less
  // what the layer before can hide, with price_nest's slack), so that the
  // best so far prunes the rest; a tile's grid is built once for its
  // candidates of one operand.
  auto bound = [&](const BlockCandidate& c) {
    return std::max(static_cast<double>(c.compute), static_cast<double>(c.traffic) / bus_rate) -
           static_cast<double>(context.dma_idle_cycles);
  };
  std::stable_sort(deferred.begin(), deferred.end(),
                   [&](const auto& a, const auto& b) { return bound(a) < bound(b); });
  std::optional<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, char>> built;
  Grid grid;
  for (const BlockCandidate& c : deferred) {
    if (c.traffic >= single) continue;
    if (0.95 * bound(c) > static_cast<double>(std::get<0>(best_key))) break;
    // Within a block, the same steps with the blocked operand on chip (its
    // MOVE legs inwards, if any, are the same).
    const auto tile = std::make_tuple(c.tm, c.tn, c.tk, c.tg, c.dim);
    if (built != tile) {
      grid = grid_of(tile_bytes(layer, c.tm, c.tn, c.tk, c.tg, types), c.tm, c.tn, c.tk, c.tg);
      for (std::size_t i = 0; i < grid.n_kinds; ++i)
        (c.dim == 'm' ? grid.kinds[i].dram.input : grid.kinds[i].dram.weight) = 0;
      (c.dim == 'm' ? grid.step_in : grid.step_w) = 0;
      built = tile;
    }
    price_nest(grid, c.tm, c.tn, c.tk, c.tg, c.chunking, c.dim, c.block);
  }
  return annotated(best);
}

void Search::price_k_inner(std::uint64_t tm, std::uint64_t tn, std::uint64_t tk, std::uint64_t tg,
                           Mapping::Chunking chunking) {
  const TileBytes b = tile_bytes(layer, tm, tn, tk, tg, types);
  // (A block takes at least its operand's tile's room.)
  if (!fits(context, b)) return;
  const std::uint64_t nm = ceil_div(g.m, tm), nn = ceil_div(g.n, tn), nk = ceil_div(g.k, tk),
                      ng = ceil_div(g.batch, tg);
  const std::uint64_t steps = nm * nn * nk * ng;
  // Cheaper first: every step is at least one GEMM instruction,
  // which pays a fold's fill and drain (the bound below).
  if (found && 0.95 * static_cast<double>(std::max(steps * fold_fill_drain, untiled_compute)) -
                       static_cast<double>(context.dma_idle_cycles) >
                   static_cast<double>(std::get<0>(best_key)))
    return;
  Grid grid = grid_of(b, tm, tn, tk, tg);
  price_nest(grid, tm, tn, tk, tg, chunking, 0, 0);
  // The outer level: blocks of one operand in the first buffer on its
  // path, each loaded once and read by every tile of the nest over it that
  // uses it. Layers of one group only; not for SCALE-Sim's. Nor with an
  // edge tile along n: within a block the n tiles take turns every few
  // steps, and a narrow tile's steps wait for the wide one's output slots
  // to drain (its epilogue and store), which the step kinds (priced in
  // steady state per tile size) do not see. Each block plan that fits is
  // priced once the single-level search is done (finish), if it moves
  // fewer bytes than its best plan.
  if (!blocks || tg < g.batch || g.batch != 1 || layer.scalesim_semantics || g.n % tn != 0) return;
  const std::uint64_t written = grid.step_out / nk, residual = grid.step_res / nk;
  // Defers the plans with blocks of `dim` ('m': input rows, 'n': weight
  // columns) of `first`, 2 `first`, ... up to one block for the whole
  // operand, at most `sizes` of them: with k split the traffic does not
  // depend on the size, so one; with k whole, under the search's budget,
  // the two largest that fit (a larger block streams the other operand
  // fewer times; the blocks' bytes grow with the size, so those that fit
  // are the smaller ones).
  auto defer = [&](char dim, std::uint64_t first, std::uint64_t sizes) {
    const bool in = dim == 'm';
    const arch::Operand op = in ? arch::Operand::kInput : arch::Operand::kWeight;
    const std::uint64_t full = in ? g.m : g.n;
    std::array<std::uint64_t, 64> fitting{};  // sizes double: at most 64
    std::size_t n_fitting = 0;
    for (std::uint64_t s = first; s < 2 * full; s *= 2) {
      const std::uint64_t bytes = in ? input_block_bytes(layer, std::min(s, full), types)
                                     : weight_block_bytes(layer, std::min(s, full), types);
      if (!fits_with_block(context, b, op, bytes)) break;
      fitting[n_fitting++] = s;
    }
    for (std::size_t f = n_fitting > sizes ? n_fitting - sizes : 0; f < n_fitting; ++f) {
      Mapping plan{tm, tn, tk, tg};
      (in ? plan.block_m : plan.block_n) = fitting[f];
      // The other operand's passes: the weights once per block with k
      // whole, else once per m tile; the input once per block with k whole,
      // else once per n tile.
      std::uint64_t passes = 0;
      for (auto [size, count] : split(full, fitting[f]))
        passes += count * (in ? reuse_factors(ceil_div(size, tm), nn, nk, true).second
                              : reuse_factors(nm, ceil_div(size, tn), nk, false).first);
      const std::uint64_t other = in ? grid.step_w / nm : grid.step_in / nn;
      const std::uint64_t traffic =
          block_loads(layer, plan, types).bytes + passes * other + written + residual;
      deferred.push_back({tm, tn, tk, tg, chunking, dim, fitting[f], traffic, grid.compute_total});
    }
  };
  // Input blocks of a multiple of tm rows: they save traffic only where the
  // single-level nest loads an input tile more than once (nn > 1, and m or
  // k split). With k whole, a block of one m tile is the single-level nest
  // with m outermost.
  if (blocks_possible(context, arch::Operand::kInput) && nn > 1 && (nm > 1 || nk > 1))
    defer('m', nk > 1 ? tm : 2 * tm, nk > 1 ? 1 : 2);
  // Weight blocks (a global-buffer weight block reused across many array
  // tiles) of a multiple of tn columns: they save traffic where the
  // single-level nest loads a weight tile more than once (nm > 1), or, with
  // k whole, the input once per n tile (nn > 1). Weights a producer writes
  // (attention's K and V) are not blocked.
  if (blocks_possible(context, arch::Operand::kWeight) &&
      layer.second == OperandSource::kParameters && nm > 1 && (nk > 1 || nn > 1))
    defer('n', nk > 1 ? tn : 2 * tn, nk > 1 ? 1 : 2);
}

// Each kind of step of a tile's grid (tile sizes at the grid's edges
// differ), with its exact compute and DRAM tile bytes; at most 16 kinds.
Search::Grid Search::grid_of(const TileBytes& b, std::uint64_t tm, std::uint64_t tn,
                             std::uint64_t tk, std::uint64_t tg) const {
  Grid grid;
  grid.b = b;
  // Sums over steps of each operand's DRAM tile bytes: each (m, k)
  // input tile appears in nn steps, each (k, n) weight tile in nm,
  // each (m, n) output tile in nk.
  for (auto [sm, cm] : split(g.m, tm))
    for (auto [sn, cn] : split(g.n, tn))
      for (auto [sk, ck] : split(g.k, tk))
        for (auto [sg, cg] : split(g.batch, tg)) {
          const TileBytes tb = tile_bytes(layer, sm, sn, sk, sg, types);
          Geometry& k = grid.kinds[grid.n_kinds++];
          k.count = cm * cn * ck * cg;
          k.compute = arch::gemm_cycles(config.array, {sm, sn, sk, sg}, true, rate).count();
          k.chain = chain_cycles(context, tb);
          k.epilogue = epilogue(sm, sn, sg);
          k.dram = dram_tile_bytes(context, tb);
          k.drain = drain_cycles(context, tb.output, k.dram.output > 0);
          k.moves = drain_cycles(context, tb.output, false);
          k.edge = {sm != std::min(tm, g.m), sn != std::min(tn, g.n)};
          k.k_remainder = sk != std::min(tk, g.k);
          k.ck = ck;
          grid.step_in += k.count * k.dram.input;
          grid.step_w += k.count * k.dram.weight;
          grid.step_out += k.count * k.dram.output;
          grid.step_res += k.count * k.dram.residual;
          grid.compute_total += k.count * k.compute;
        }
  grid.drain = last_drain(tm, tn, tk, tg);
  return grid;
}

void Search::price_nest(const Grid& grid, std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
                        std::uint64_t tg, Mapping::Chunking chunking, char block_dim,
                        std::uint64_t block) {
  const bool in_blocks = block_dim == 'm', w_blocks = block_dim == 'n';
  TileBytes d_full = dram_tile_bytes(context, grid.b);
  if (in_blocks) d_full.input = 0;  // on chip, in its block
  if (w_blocks) d_full.weight = 0;
  const std::uint64_t nm = ceil_div(g.m, tm), nn = ceil_div(g.n, tn), nk = ceil_div(g.k, tk),
                      ng = ceil_div(g.batch, tg);
  const std::uint64_t steps = nm * nn * nk * ng;
  const auto& geometry = grid.kinds;
  const std::size_t n_kinds = grid.n_kinds;
  const std::uint64_t step_in = grid.step_in, step_w = grid.step_w, step_out = grid.step_out,
                      step_res = grid.step_res;
  const std::uint64_t drain = grid.drain, compute_total = grid.compute_total;
  // Blocks: their bytes and LOADs, and the other operand's loads. Within
  // an input block the nest is nmk (its input costs nothing there): each
  // weight tile loads once per block with k whole, else once per m tile.
  // Within a weight block it is mnk: each input tile loads once per block
  // with k whole, else once per n tile. The blocked operand's tiles are
  // read (or moved inwards) from the block as the single-level nest would
  // load them.
  const bool blocked = in_blocks || w_blocks;
  Mapping plan{tm, tn, tk, tg};
  BlockLoads blk;
  // Over the blocks: the other operand's loads from DRAM, and the blocked
  // one's reads from its block.
  std::uint64_t other_loads = 0, block_reads = 0;
  if (blocked) {
    (in_blocks ? plan.block_m : plan.block_n) = block;
    blk = block_loads(layer, plan, types);
    for (auto [size, count] : split(in_blocks ? g.m : g.n, block)) {
      const std::uint64_t bm = in_blocks ? ceil_div(size, tm) : nm,
                          bn = w_blocks ? ceil_div(size, tn) : nn;
      const auto [in_reuse, w_reuse] = reuse_factors(bm, bn, nk, in_blocks);
      other_loads += count * (in_blocks ? w_reuse : in_reuse);
      block_reads += count * (in_blocks ? bm * in_reuse : bn * w_reuse) * nk;
    }
  }
  for (bool n_outer : {true, false}) {
    if ((in_blocks && !n_outer) || (w_blocks && n_outer)) continue;
    const auto [in_reuse, w_reuse] = in_blocks  ? std::make_pair(std::uint64_t{0}, other_loads)
                                     : w_blocks ? std::make_pair(other_loads, std::uint64_t{0})
                                                : reuse_factors(nm, nn, nk, n_outer);
    // DRAM bytes, exact at the edges: each input tile loaded in_reuse
    // times, each weight tile w_reuse times (a blocked operand: each block
    // once), each output tile stored once (and its residual tile loaded
    // once).
    const std::uint64_t written = step_out / nk;
    const std::uint64_t traffic =
        step_in / nn * in_reuse + blk.bytes + step_w / nm * w_reuse + written + step_res / nk;
    // A bound no cost can beat: the array's cycles and the bytes on
    // the bus, less the most the layer before can hide (with 5%
    // slack for the cost model's rounding of edge steps). A plan
    // bounded above the best so far cannot win; skip pricing it.
    if (found) {
      const double bound =
          std::max(static_cast<double>(compute_total), static_cast<double>(traffic) / bus_rate) -
          static_cast<double>(context.dma_idle_cycles);
      if (0.95 * bound > static_cast<double>(std::get<0>(best_key))) continue;
    }
    // Per step, on average: an input tile is loaded in_reuse times over
    // the nn steps that use it, a weight tile w_reuse times over nm, an
    // output tile stored once over nk; a blocked operand's tiles are read
    // or moved from the block instead, and the blocks after the first
    // stream in under the steps, their bytes and LOADs spread over them.
    Shares shares;
    shares.in = static_cast<double>(in_reuse) / static_cast<double>(nn);
    shares.w = static_cast<double>(w_reuse) / static_cast<double>(nm);
    shares.out = 1.0 / static_cast<double>(nk);
    auto moves = [&](arch::Operand op) {
      return context.path_length[static_cast<std::size_t>(op)] > 1 ? 1.0 : 0.0;
    };
    const double n = static_cast<double>(steps);
    shares.in_transfers = in_blocks
                              ? static_cast<double>(block_reads) / n * moves(arch::Operand::kInput)
                              : shares.in * static_cast<double>(tpt_in);
    shares.w_transfers = w_blocks
                             ? static_cast<double>(block_reads) / n * moves(arch::Operand::kWeight)
                             : shares.w * static_cast<double>(tpt_w);
    shares.block_bytes = static_cast<double>(blk.bytes - blk.first_bytes) / n;
    shares.block_loads = static_cast<double>(blk.loads - (blocked ? 1 : 0)) / n;
    Mapping p{tm, tn, tk, tg, n_outer ? "nmk" : "mnk", chunking};
    p.block_m = plan.block_m;
    p.block_n = plan.block_n;
    const bool n_outer_now = n_outer_in_effect(p);
    const std::optional<double> store_before_last =
        step_kinds(geometry, n_kinds, nm, nn, nk, tk, n_outer_now, shares);
    // The first step loads its input and weight tiles whole (a blocked
    // operand: its first block) and its residual tile when it finishes an
    // output tile.
    StepKind first = kinds.front();
    const std::uint64_t first_res = nk == 1 ? d_full.residual : 0;
    const std::uint64_t first_in = in_blocks ? blk.first_bytes : d_full.input;
    const std::uint64_t first_w = w_blocks ? blk.first_bytes : d_full.weight;
    first.bytes = static_cast<double>(first_in + first_w + first_res);
    first.transfers = static_cast<double>((in_blocks ? 1 : tpt_in) + (w_blocks ? 1 : tpt_w) +
                                          (nk == 1 ? tpt_res : 0));
    first.loads = (first_in + first_w + first_res) > 0 ? 1 : 0;
    first.store_bytes = first.stores = 0;
    p.estimated_cycles = estimated_cycles(config, kinds, first, store_before_last) + drain +
                         epilogue_queue(tm, tn, tk, tg, n_outer_now);
    consider(p, traffic, written, steps);
  }
}

std::optional<double> Search::step_kinds(const std::array<Geometry, 16>& geometry,
                                         std::size_t n_kinds, std::uint64_t nm, std::uint64_t nn,
                                         std::uint64_t nk, std::uint64_t tk, bool n_outer,
                                         const Shares& shares) {
  const double in_frac = shares.in, w_frac = shares.w, out_frac = shares.out;
  kinds.clear();
  // Per geometry, the index in `kinds` of its steps before the last k part
  // and of its storing steps (SIZE_MAX: none).
  std::array<std::size_t, 16> plain_at, storing_at;
  plain_at.fill(SIZE_MAX);
  storing_at.fill(SIZE_MAX);
  for (std::size_t i = 0; i < n_kinds; ++i) {
    const Geometry& k = geometry[i];
    StepKind kind;
    kind.count = k.count;
    kind.compute_cycles = k.compute;
    kind.bytes =
        in_frac * static_cast<double>(k.dram.input) + w_frac * static_cast<double>(k.dram.weight) +
        out_frac * static_cast<double>(k.dram.output + k.dram.residual) + shares.block_bytes;
    kind.transfers = shares.in_transfers + shares.w_transfers +
                     out_frac * static_cast<double>(tpt_out + tpt_res) + shares.block_loads;
    kind.loads = std::max({in_frac * (k.dram.input > 0), w_frac * (k.dram.weight > 0),
                           out_frac * (k.dram.residual > 0), shares.block_loads});
    kind.store_bytes = out_frac * static_cast<double>(k.dram.output);
    kind.stores = k.dram.output > 0 ? out_frac : 0.0;
    kind.chain_cycles = k.chain;
    kind.epilogue_cycles = out_frac * static_cast<double>(k.epilogue);
    kind.out_move_cycles = out_frac * static_cast<double>(k.moves);
    if (nk == 1) {
      kinds.push_back(kind);
      continue;
    }
    // With k split, an output tile is finished, epilogued and
    // stored once, at its last k step, as one burst on the bus:
    // the steps of the last k part carry it (all of them when it
    // is the remainder, one in ck of them otherwise). Its
    // epilogue overlaps the next steps' compute, and its output
    // slot is reused 2 nk steps later, not 2.
    // Its residual tile loads in that step too.
    const double out = static_cast<double>(k.dram.output);
    const double res = static_cast<double>(k.dram.residual);
    const double tpt = static_cast<double>(tpt_out + tpt_res);
    kind.bytes -= out_frac * (out + res);
    kind.transfers -= out_frac * tpt;
    kind.loads =
        std::max({in_frac * (k.dram.input > 0), w_frac * (k.dram.weight > 0), shares.block_loads});
    kind.store_bytes = kind.stores = 0;
    kind.out_move_cycles = 0;
    kind.store_chain = false;
    // Yet an output tile holds its slot from its first k step until it has
    // drained (its epilogue, its MOVEs out and, unless resident, its
    // store), and the array's output buffer has out_slots of them: each of
    // its nk steps takes at least that chain's share.
    const double tile_chain = static_cast<double>(nk * k.compute + k.epilogue + k.drain);
    kind.min_cycles = std::max(kind.min_cycles, tile_chain / static_cast<double>(out_slots * nk));
    StepKind storing = kind;
    storing.bytes += out + res;
    storing.transfers += tpt;
    storing.loads = std::max(storing.loads, res > 0 ? 1.0 : 0.0);
    storing.store_bytes = out;
    storing.stores = k.dram.output > 0 ? 1.0 : 0.0;
    storing.out_move_cycles = static_cast<double>(k.moves);
    const bool k_last = k.k_remainder || g.k % tk == 0;
    storing.count = k_last ? kind.count / k.ck : 0;
    kind.count -= storing.count;
    if (kind.count > 0) {
      plain_at[i] = kinds.size();
      kinds.push_back(kind);
    }
    if (storing.count > 0) {
      storing_at[i] = kinds.size();
      kinds.push_back(storing);
    }
  }
  // With k in two parts, the second an edge, the two alternate, and each
  // of the two slots always holds the same part: the next tile's first
  // part loads into the slot the first part's GEMM frees, and likewise the
  // second. A pair of steps takes the longer of the two slot chains, not
  // their mean (on tpu_v1_like, Mamba's in_proj: K = 768 as 512 + 256).
  if (nk == 2 && g.k % tk != 0) {
    for (std::size_t e = 0; e < n_kinds; ++e) {
      if (!geometry[e].k_remainder || storing_at[e] == SIZE_MAX) continue;
      for (std::size_t f = 0; f < n_kinds; ++f) {
        if (geometry[f].k_remainder || geometry[f].edge != geometry[e].edge ||
            plain_at[f] == SIZE_MAX)
          continue;
        StepKind& edge = kinds[storing_at[e]];
        const StepKind& full = kinds[plain_at[f]];
        edge.min_cycles = std::max(edge.min_cycles, std::max(slot_chain_cycles(config, edge),
                                                             slot_chain_cycles(config, full)) -
                                                        step_cycles(config, full));
      }
    }
  }
  // With k whole, tiles alternate along the innermost of m and n
  // with more than one tile (nmk: m, else n; mnk: n, else m): an
  // edge step is paired with full steps (step_cycles).
  const std::uint64_t counts[2] = {nm, nn};
  std::size_t inner = n_outer ? 0 : 1;
  if (counts[inner] < 2) inner = 1 - inner;
  if (nk == 1 && counts[inner] >= 2) {
    for (std::size_t i = 0; i < n_kinds; ++i) {
      if (!geometry[i].edge[inner]) continue;
      for (std::size_t j = 0; j < n_kinds; ++j) {
        auto partner = geometry[i].edge;
        partner[inner] = false;
        if (geometry[j].edge != partner) continue;
        kinds[i].min_cycles =
            std::max(slot_chain_cycles(config, kinds[i]), slot_chain_cycles(config, kinds[j])) -
            step_cycles(config, kinds[j]);
      }
    }
  }
  // What the step before the last stores: nothing when k is
  // split (it is the previous k step); else the last's
  // neighbour along the innermost of m and n, full-sized there.
  std::optional<double> store_before_last;
  if (nk > 1) {
    store_before_last = 0.0;
  } else if (counts[inner] >= 2 && geometry[n_kinds - 1].edge[inner]) {
    auto partner = geometry[n_kinds - 1].edge;
    partner[inner] = false;
    for (std::size_t j = 0; j < n_kinds; ++j)
      if (geometry[j].edge == partner) store_before_last = kinds[j].store_bytes;
  }
  return store_before_last;
}

void Search::search_streamed() {
  // Chunked: one fold, the temporal extent in chunks, temporal innermost.
  // The reduction loop sits above the chunks, so ws/is spill partial sums.
  const std::uint64_t fold_m = role_m == Role::kTemporal ? 0 : candidates_unit(role_m, config);
  const std::uint64_t fold_n =
      role_n == Role::kTemporal ? 0 : (row_wise_epilogue ? g.n : candidates_unit(role_n, config));
  const std::uint64_t fold_k =
      role_k == Role::kTemporal ? 0 : candidates_unit(role_k, config, true, rate);
  const std::string_view order = tdim == 'k' ? "mnk" : tdim == 'm' ? "nkm" : "mkn";
  for (std::uint64_t d = 2; ceil_div(full_t, d / 2) > 1; d *= 2) {
    const std::uint64_t tt = ceil_div(full_t, d);
    const std::uint64_t tm = fold_m ? std::min(fold_m, g.m) : tt;
    const std::uint64_t tn = fold_n ? std::min(fold_n, g.n) : tt;
    const std::uint64_t tk = fold_k ? std::min(fold_k, g.k) : tt;
    const TileBytes b = tile_bytes(layer, tm, tn, tk, 1, types);
    if (!fits(context, b)) continue;
    const Extents count{ceil_div(g.m, tm), ceil_div(g.n, tn), ceil_div(g.k, tk)};
    const std::uint64_t steps = count.m * count.n * count.k * g.batch;
    std::uint64_t written = 0;
    const TileBytes db = dram_tile_bytes(context, b);
    // Each output tile's residual tile loads once, with its last chunk.
    const std::uint64_t out_tiles = count.m * count.n * g.batch;
    const std::uint64_t traffic =
        loop_nest_traffic(order, count, g.batch, db, &written) + out_tiles * db.residual;
    const std::uint64_t transfers = steps * 3 + out_tiles * tpt_res;
    Mapping p{tm, tn, tk, 1, order, Mapping::Chunking::kStreamFold};
    p.estimated_cycles =
        estimated_cycles(config, mapped_compute_cycles(config, g, p, rate), traffic, transfers,
                         steps, chain_cycles(context, b, order[2] != 'k'), written) +
        last_drain(tm, tn, tk, 1);
    consider(p, traffic, written, steps);
    // The largest chunk that fits: a streamed fold's compute does not depend
    // on the chunk, and neither does its traffic, so smaller chunks only
    // add instructions (SCALE-Sim likewise fills its buffers as far as they
    // go).
    break;
  }
}

void Search::consider(Mapping p, std::uint64_t traffic, std::uint64_t written,
                      std::uint64_t steps) {
  p.estimated_cycles -= hidden_prefetch(p);
  if (context.run_idle_bus_cycles) {
    set_first_weight_tiles(p);
    p.prefetch_charge_cycles = p.first_weight_bus_cycles -
                               std::min(p.first_weight_bus_cycles, *context.run_idle_bus_cycles);
    p.estimated_cycles += p.prefetch_charge_cycles;
  }
  p.dram_bytes = traffic;
  p.dram_write_bytes = written;
  const auto key = std::make_tuple(p.estimated_cycles, traffic, steps);
  if (weighed) weighed->emplace_back(key, p);
  if (key < best_key) {
    best_key = key;
    best = p;
    found = true;
  }
}

// What is left of the first weight tile's load once it has used the cycles
// the DMA idles before this layer (MapContext::dma_idle_cycles). With both
// weight slots free before the layer (MapContext::dma_idle_both_slots_cycles),
// the second step's new weight tile loads there too, saving what its load
// exceeds the first step's compute by. Under the previous layer's drain
// (MapContext::drain_overlap_cycles), the rest of the first load and the
// first step's compute are hidden as well.
std::uint64_t Search::hidden_prefetch(const Mapping& p) const {
  const std::uint64_t fm = std::min(p.tm, g.m), fn = std::min(p.tn, g.n), fk = std::min(p.tk, g.k),
                      fg = std::min(p.tg, g.batch);
  TileBytes first = dram_tile_bytes(context, tile_bytes(layer, fm, fn, fk, fg, types));
  // With input blocks, the first load is the first block's.
  if (p.block_m > 0) first.input = input_block_bytes(layer, std::min(p.block_m, g.m), types);
  if (p.block_n > 0) first.weight = weight_block_bytes(layer, std::min(p.block_n, g.n), types);
  const std::uint64_t hidden = prefetched_cycles(context, first, context.dma_idle_cycles);
  std::uint64_t second = 0;
  const std::uint64_t both = context.dma_idle_both_slots_cycles;
  const std::uint64_t tail_part = context.dma_idle_cycles - both;
  const std::uint64_t both_left = both - std::min(both, hidden - std::min(hidden, tail_part));
  const bool new_weight = g.k > fk || (p.order == std::string_view("mnk") && g.n > fn);
  if (both_left > 0 && first.weight > 0 && new_weight &&
      p.chunking != Mapping::Chunking::kStreamFold) {
    const std::uint64_t sk = g.k > fk ? std::min(fk, g.k - fk) : fk;
    const std::uint64_t sn = g.k > fk ? fn : std::min(fn, g.n - fn);
    const TileBytes next = dram_tile_bytes(context, tile_bytes(layer, fm, sn, sk, fg, types));
    const std::uint64_t load = transfer_cycles(config, next.weight);
    const std::uint64_t c0 = arch::gemm_cycles(config.array, {fm, fn, fk, fg}, true, rate).count();
    second = std::min(both_left, load > c0 ? load - c0 : 0);
  }
  // Under the previous layer's drain: what is left of the first load, and
  // the first step's compute. But the first GEMM starts no sooner than the
  // drain it runs under begins (the wait for the output slot after the
  // previous layer's last GEMM) nor than its first load is done, which
  // starts when that layer's last step frees the slot (the tail part of
  // the idle window, before that GEMM ends): what the load takes beyond
  // both delays the GEMM as much.
  std::uint64_t first_step = hidden;
  if (context.drain_overlap_cycles > 0) {
    const std::uint64_t first_bytes = first.input + first.weight;
    const std::uint64_t load = first_bytes > 0 ? transfer_cycles(config, first_bytes) : 0;
    // The first output tile's steps write only its slot, free under the
    // drain: with k innermost, all its k steps (each after its weight
    // tile's load, double buffered).
    std::uint64_t c0 = arch::gemm_cycles(config.array, {fm, fn, fk, fg}, true, rate).count();
    if (p.order[2] == 'k' && p.chunking != Mapping::Chunking::kStreamFold) {
      for (std::uint64_t k0 = fk; k0 < g.k; k0 += fk) {
        const std::uint64_t kj = std::min(fk, g.k - k0);
        const std::uint64_t cj =
            arch::gemm_cycles(config.array, {fm, fn, kj, fg}, true, rate).count();
        const TileBytes tj = dram_tile_bytes(context, tile_bytes(layer, fm, fn, kj, fg, types));
        c0 += std::max(
            cj, tj.weight + tj.input > 0 ? transfer_cycles(config, tj.weight + tj.input) : 0);
      }
    }
    const std::uint64_t under_drain =
        std::min(context.drain_overlap_cycles, load - std::min(load, hidden) + c0);
    first_step = std::min(
        hidden + under_drain,
        context.drain_overlap_cycles + std::min(load, tail_part + context.drain_slot_wait_cycles));
  }
  return std::min(first_step + second, p.estimated_cycles);
}

// The fused epilogue (activations, norms, a residual add on the vector
// unit, one instruction each) of one output tile, between its last GEMM and
// its store.
// Each takes its closed-form vector cycles, or longer when the slot port of
// the output buffer, which serves the tile's read and its write one after
// the other (and the residual's read when the residual is staged there),
// takes longer.
std::uint64_t Search::epilogue(std::uint64_t sm, std::uint64_t sn, std::uint64_t sg) const {
  const auto& out_port = config.sram[out_buffer];
  const std::uint64_t bytes = bytes_for(sm * sn * sg, types.activation);
  std::uint64_t cycles = 0;
  for (std::size_t j = 0; j < epilogue_ops.size(); ++j) {
    arch::VectorWork work = epilogue_ops[j];
    work.rows = sm * sg;
    work.row_length = sn;
    const bool add = layer.residual && j == layer.residual_add_index();
    const bool shared = add && config.vector.buffer == out_buffer;
    std::uint64_t port = out_port.slot_port_rate().time_for((shared ? 3 : 2) * bytes).count();
    if (add && !shared)
      port = std::max(port,
                      config.sram[config.vector.buffer].slot_port_rate().time_for(bytes).count());
    cycles += std::max(arch::vector_cycles(config.vector, work).count(), port);
  }
  return cycles;
}

// The drain of the grid's last tile (its far corner).
std::uint64_t Search::last_drain(std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
                                 std::uint64_t tg) const {
  const TileBytes tb =
      tile_bytes(layer, last(g.m, tm), last(g.n, tn), last(g.k, tk), last(g.batch, tg), types);
  return epilogue(last(g.m, tm), last(g.n, tn), last(g.batch, tg)) +
         drain_cycles(context, tb.output, dram_tile_bytes(context, tb).output > 0);
}

// The epilogue of the output tile before the last may still hold the
// vector unit (which runs its instructions in program order) when the last
// tile's GEMMs are done, so the last tile's epilogue waits for what is left
// of it: when the last tile is quicker (an edge tile, or k split into few
// steps) and the steps are paced by the array, not by the epilogues (then
// their periods carry the epilogues already, step_cycles). The tile before
// the last is its neighbour along the inner of m and n that has more than
// one tile.
std::uint64_t Search::epilogue_queue(std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
                                     std::uint64_t tg, bool n_outer) const {
  const std::uint64_t nm = ceil_div(g.m, tm), nn = ceil_div(g.n, tn), nk = ceil_div(g.k, tk);
  if (nm == 1 && nn == 1) return 0;
  const bool along_m = n_outer ? nm > 1 : nn == 1;
  const std::uint64_t sm = last(g.m, tm), sn = last(g.n, tn), sg = last(g.batch, tg);
  const std::uint64_t pm = along_m ? std::min(tm, g.m) : sm, pn = along_m ? sn : std::min(tn, g.n);
  const std::uint64_t before = epilogue(pm, pn, sg);
  auto gemm = [&](std::uint64_t m, std::uint64_t n, std::uint64_t k) {
    return arch::gemm_cycles(config.array, {m, n, k, sg}, true, rate).count();
  };
  if (nk == 1 && before > gemm(pm, pn, g.k)) return 0;  // paced by the epilogues
  const std::uint64_t compute =
      (nk - 1) * gemm(sm, sn, std::min(tk, g.k)) + gemm(sm, sn, last(g.k, tk));
  return before > compute ? before - compute : 0;
}

// With two output slots, the next layer's first output tile takes the
// slot of this layer's tile before the last, which is free once that
// tile's epilogue and its first leg out of the array's output buffer (a
// MOVE, or the store) are done: how much later than the last GEMM's end
// that is (0 when sooner). The tile before the last is epilogue_queue's.
std::uint64_t Search::other_slot_wait(std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
                                      std::uint64_t tg, bool n_outer) const {
  const std::uint64_t nm = ceil_div(g.m, tm), nn = ceil_div(g.n, tn), nk = ceil_div(g.k, tk);
  if ((nm == 1 && nn == 1) || out_slots != 2 ||
      (context.output_resident &&
       context.path_length[static_cast<std::size_t>(arch::Operand::kOutput)] == 1))
    return 0;
  const bool along_m = n_outer ? nm > 1 : nn == 1;
  const std::uint64_t sm = last(g.m, tm), sn = last(g.n, tn), sg = last(g.batch, tg);
  const std::uint64_t pm = along_m ? std::min(tm, g.m) : sm, pn = along_m ? sn : std::min(tn, g.n);
  const std::uint64_t bytes = tile_bytes(layer, pm, pn, std::min(tk, g.k), sg, types).output;
  const std::uint64_t first_leg =
      context.path_length[static_cast<std::size_t>(arch::Operand::kOutput)] > 1
          ? config.dma.setup_cycles + ceil_div(bytes, config.dma.bytes_per_cycle)
          : transfer_cycles(config, bytes);
  const std::uint64_t release = epilogue(pm, pn, sg) + first_leg;
  auto gemm = [&](std::uint64_t k) {
    return arch::gemm_cycles(config.array, {sm, sn, k, sg}, true, rate).count();
  };
  const std::uint64_t compute = (nk - 1) * gemm(std::min(tk, g.k)) + gemm(last(g.k, tk));
  return release > compute ? release - compute : 0;
}

// The DRAM bus cycles of the plan's first weight tile and of the second
// step's, when that step loads a new one: the next k part, the next n tile
// (m outer), or, when a group's grid is one step, the next group's
// (Mapping::first_weight_bus_cycles, second_weight_bus_cycles).
void Search::set_first_weight_tiles(Mapping& m) const {
  const std::uint64_t fm = std::min(m.tm, g.m), fn = std::min(m.tn, g.n), fk = std::min(m.tk, g.k),
                      fg = std::min(m.tg, g.batch);
  auto bus_cycles = [&](std::uint64_t bytes) {
    return static_cast<std::uint64_t>(std::ceil(static_cast<double>(bytes) / bus_rate));
  };
  TileBytes first = dram_tile_bytes(context, tile_bytes(layer, fm, fn, fk, fg, types));
  if (m.block_n > 0) first.weight = weight_block_bytes(layer, std::min(m.block_n, g.n), types);
  m.first_weight_bus_cycles = bus_cycles(first.weight);
  const bool next_group = g.k <= fk && g.n <= fn && g.m <= fm && g.batch > fg;
  const bool new_weight =
      g.k > fk || (m.order == std::string_view("mnk") && g.n > fn) || next_group;
  if (first.weight == 0 || !new_weight || m.block_n > 0) return;
  const std::uint64_t sk = g.k > fk ? std::min(fk, g.k - fk) : fk;
  const std::uint64_t sn = g.k > fk || next_group ? fn : std::min(fn, g.n - fn);
  const std::uint64_t sg = next_group ? std::min(fg, g.batch - fg) : fg;
  m.second_weight_bus_cycles =
      bus_cycles(dram_tile_bytes(context, tile_bytes(layer, fm, sn, sk, sg, types)).weight);
}

// The chosen plan's last (far-corner) tile's compute and drain.
Mapping Search::annotated(Mapping m) const {
  const std::uint64_t queue = epilogue_queue(m.tm, m.tn, m.tk, m.tg, n_outer_in_effect(m));
  m.tail_drain_cycles = last_drain(m.tm, m.tn, m.tk, m.tg) + queue;
  m.tail_slot_wait_cycles =
      std::min(m.tail_drain_cycles, other_slot_wait(m.tm, m.tn, m.tk, m.tg, n_outer_in_effect(m)));
  m.tail_drain_cycles -= m.tail_slot_wait_cycles;
  set_first_weight_tiles(m);
  m.tail_bus_free_cycles = queue + epilogue(last(g.m, m.tm), last(g.n, m.tn), last(g.batch, m.tg)) +
                           drain_cycles(context,
                                        tile_bytes(layer, last(g.m, m.tm), last(g.n, m.tn),
                                                   last(g.k, m.tk), last(g.batch, m.tg), types)
                                            .output,
                                        false);
  const arch::GemmShape tail{last(g.m, m.tm), last(g.n, m.tn), last(g.k, m.tk),
                             last(g.batch, m.tg)};
  m.tail_compute_cycles = m.chunking == Mapping::Chunking::kStreamFold
                              ? mapped_compute_cycles(config, tail, m, rate)
                              : arch::gemm_cycles(config.array, tail, true, rate).count();
  // With k whole and m inside n (or one n tile), the grid's last weight
  // tile serves the last n column's nm steps: the other weight slot is free
  // while they compute, and the next layer's first weight tile loads there
  // in what their own transfers leave of the bus. With input blocks, the
  // last n column is the last block's, whose input is on chip.
  const std::uint64_t nm = ceil_div(m.block_m > 0 ? last(g.m, m.block_m) : g.m, m.tm),
                      nn = ceil_div(g.n, m.tn);
  const bool one_weight_run = m.block_n == 0 && m.chunking != Mapping::Chunking::kStreamFold &&
                              g.k <= m.tk && g.batch <= m.tg &&
                              (m.order == std::string_view("nmk") || nn == 1) && nm > 1;
  if (one_weight_run) {
    const arch::GemmShape full{std::min(m.tm, g.m), tail.n, tail.k, tail.batch};
    const std::uint64_t compute =
        (nm - 1) * arch::gemm_cycles(config.array, full, true, rate).count() +
        m.tail_compute_cycles;
    TileBytes b =
        dram_tile_bytes(context, tile_bytes(layer, full.m, full.n, full.k, full.batch, types));
    if (m.block_m > 0) b.input = 0;
    const double busy = static_cast<double>(nm * (b.input + b.output + b.residual)) / bus_rate;
    m.tail_compute_cycles = std::max<std::uint64_t>(
        m.tail_compute_cycles,
        static_cast<std::uint64_t>(std::max(0.0, static_cast<double>(compute) - busy)));
    // A step's period, on average over the layer, less its bus time.
    const double steps = static_cast<double>(ceil_div(g.m, m.tm) * nn);
    m.weight_run = true;
    m.run_idle_bus_cycles = static_cast<std::uint64_t>(
        std::max(0.0, static_cast<double>(m.estimated_cycles) / steps - busy / nm));
  }
  return m;
}

}  // namespace

TESSEL_REGISTER_MAPPER("single_level",
                       "one array-side tile for every buffer level, ranked by expected cycles",
                       SingleLevel);
TESSEL_REGISTER_MAPPER("multi_level",
                       "single_level's tiles, or input blocks in the outer buffer read by the "
                       "tiles of a nest over each, ranked by expected cycles",
                       MultiLevel);

}  // namespace tessel::workloads
