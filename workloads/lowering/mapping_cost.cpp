#include "workloads/lowering/mapping_cost.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "arch/systolic.h"
#include "workloads/lowering/attention.h"

namespace tessel::workloads {

using arch::Operand;

TileBytes tile_bytes(const Layer& l, std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
                     std::uint64_t tg, const LayerTypes& t) {
  const std::uint64_t out = bytes_for(tm * tn * tg, t.activation);
  return {bytes_for(l.input_tile_elements(tm, tk) * tg, t.activation),
          bytes_for(tk * tn * tg, t.weight), out, l.residual ? out : 0};
}

std::vector<std::uint64_t> tile_candidates(std::uint64_t full, std::uint64_t unit) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t v = unit; v < full; v *= 2) out.push_back(v);
  out.push_back(full);
  return out;
}

bool fits(const MapContext& context, const TileBytes& b) {
  return !overflow(context, b);
}

std::optional<Overflow> overflow(const MapContext& context, const TileBytes& b) {
  const auto& sram = context.config.sram;
  for (std::size_t i = 0; i < sram.size(); ++i) {
    const bool r = static_cast<int>(i) == context.resident_buffer;
    std::uint64_t need = 0;
    if (sram[i].holds_operand(Operand::kInput) && !(r && context.input_resident)) need += b.input;
    if (sram[i].holds_operand(Operand::kWeight) && !(r && context.weight_resident))
      need += b.weight;
    if (sram[i].holds_operand(Operand::kOutput) && !(r && context.output_resident))
      need += b.output;
    if (i == context.config.vector.buffer && !context.residual_resident) need += b.residual;
    if (need > context.tile_budget_bytes[i]) return Overflow{i, need};
  }
  return std::nullopt;
}

std::uint64_t input_block_bytes(const Layer& layer, std::uint64_t rows, const LayerTypes& types) {
  return bytes_for(layer.input_tile_elements(rows, layer.gemm().k), types.activation);
}

std::uint64_t weight_block_bytes(const Layer& layer, std::uint64_t cols, const LayerTypes& types) {
  // k rows of `cols` weights each, as the block's LOADs move them (a row of
  // packed sub-byte weights rounds up to whole bytes).
  return layer.gemm().k * bytes_for(cols, types.weight);
}

std::uint64_t block_chunks(std::uint64_t units, std::uint64_t steps) {
  return std::clamp<std::uint64_t>(steps, 1, std::max<std::uint64_t>(units, 1));
}

BlockLoads block_loads(const Layer& layer, const Mapping& m, const LayerTypes& types) {
  const arch::GemmShape g = layer.gemm();
  const bool weights = m.block_n > 0;
  const std::uint64_t full = weights ? g.n : g.m, block = weights ? m.block_n : m.block_m,
                      tile = weights ? m.tn : m.tm;
  // Steps per tile along the blocked dimension.
  const std::uint64_t per_tile =
      (weights ? ceil_div(g.m, m.tm) : ceil_div(g.n, m.tn)) * ceil_div(g.k, m.tk);
  auto bytes = [&](std::uint64_t size) {
    return weights ? weight_block_bytes(layer, size, types) : input_block_bytes(layer, size, types);
  };
  // Every block is full-sized but the last; each after the first loads in
  // chunks under a full block's steps.
  const std::uint64_t blocks = ceil_div(full, block);
  const std::uint64_t last = full - (blocks - 1) * block;
  BlockLoads out;
  out.first_bytes = bytes(std::min(block, full));
  if (blocks == 1) {
    out.bytes = out.first_bytes;
    out.loads = 1;
    return out;
  }
  const std::uint64_t steps = ceil_div(block, tile) * per_tile;
  const std::uint64_t last_bytes = bytes(last);
  out.bytes = (blocks - 1) * out.first_bytes + last_bytes;
  out.loads = 1 + (blocks - 2) * block_chunks(weights ? g.k : out.first_bytes, steps) +
              block_chunks(weights ? g.k : last_bytes, steps);
  return out;
}

bool blocks_possible(const MapContext& context, arch::Operand op) {
  const auto first = static_cast<int>(context.first_buffer[static_cast<std::size_t>(op)]);
  return !context.resident(op) && (context.resident_buffer < 0 || context.resident_buffer == first);
}

bool fits_with_block(const MapContext& context, const TileBytes& b, arch::Operand op,
                     std::uint64_t block_bytes) {
  const std::size_t first = context.first_buffer[static_cast<std::size_t>(op)];
  const auto& sram = context.config.sram;
  for (std::size_t i = 0; i < sram.size(); ++i) {
    const bool r = static_cast<int>(i) == context.resident_buffer;
    std::uint64_t need = 0;
    auto tile = [&](Operand o, std::uint64_t bytes, bool resident) {
      if (!sram[i].holds_operand(o)) return;
      if (o == op && i == first) {
        need += block_bytes;
      } else if (!(r && resident)) {
        need += bytes;
      }
    };
    tile(Operand::kInput, b.input, context.input_resident);
    tile(Operand::kWeight, b.weight, context.weight_resident);
    tile(Operand::kOutput, b.output, context.output_resident);
    if (i == context.config.vector.buffer && !context.residual_resident) need += b.residual;
    if (need > context.tile_budget_bytes[i]) return false;
  }
  return true;
}

bool mapping_fits(const MapContext& context, const Layer& layer, const Mapping& m,
                  const LayerTypes& types) {
  if (layer.attention) return attention_fits(context, layer, m, types);
  const TileBytes b = tile_bytes(layer, m.tm, m.tn, m.tk, m.tg, types);
  const arch::GemmShape g = layer.gemm();
  if (m.block_m > 0)
    return blocks_possible(context, Operand::kInput) &&
           fits_with_block(context, b, Operand::kInput,
                           input_block_bytes(layer, std::min(m.block_m, g.m), types));
  if (m.block_n > 0)
    return blocks_possible(context, Operand::kWeight) &&
           fits_with_block(context, b, Operand::kWeight,
                           weight_block_bytes(layer, std::min(m.block_n, g.n), types));
  return fits(context, b);
}

TileBytes dram_tile_bytes(const MapContext& context, const TileBytes& b) {
  return {context.input_resident ? 0 : b.input, context.weight_resident ? 0 : b.weight,
          context.output_resident ? 0 : b.output, context.residual_resident ? 0 : b.residual};
}

std::uint64_t transfers_per_tile(const MapContext& context, arch::Operand op) {
  return context.resident(op) && context.path_length[static_cast<std::size_t>(op)] == 1 ? 0 : 1;
}

Split split(std::uint64_t full, std::uint64_t t) {
  Split out;
  if (full / t) out.parts[out.size++] = {t, full / t};
  if (full % t) out.parts[out.size++] = {full % t, 1};
  return out;
}

std::uint64_t tiled_compute_cycles(const arch::Config& config, const arch::GemmShape& g,
                                   std::uint64_t tm, std::uint64_t tn, std::uint64_t tk,
                                   std::uint64_t tg, arch::MacRate rate) {
  std::uint64_t compute = 0;
  for (auto [sm, cm] : split(g.m, tm))
    for (auto [sn, cn] : split(g.n, tn))
      for (auto [sk, ck] : split(g.k, tk))
        for (auto [sg, cg] : split(g.batch, tg))
          compute += arch::gemm_cycles(config.array, {sm, sn, sk, sg}, true, rate).count() * cm *
                     cn * ck * cg;
  return compute;
}

std::uint64_t mapped_compute_cycles(const arch::Config& config, const arch::GemmShape& g,
                                    const Mapping& mapping, arch::MacRate rate) {
  if (mapping.chunking == Mapping::Chunking::kStreamFold) {
    const auto& a = config.array;
    return arch::gemm_cycles(a.dataflow, a.rows, a.cols, g, true, rate,
                             arch::WeightPreload::kSerial)
        .count();
  }
  return tiled_compute_cycles(config, g, mapping.tm, mapping.tn, mapping.tk, mapping.tg, rate);
}

std::pair<std::uint64_t, std::uint64_t> reuse_factors(std::uint64_t nm, std::uint64_t nn,
                                                      std::uint64_t nk, bool n_outer) {
  if (n_outer) return {(nk == 1 && nm == 1) ? 1 : nn, nk == 1 ? 1 : nm};
  return {nk == 1 ? 1 : nn, (nk == 1 && nn == 1) ? 1 : nm};
}

std::uint64_t loop_nest_traffic(std::string_view order, const Extents& count, std::uint64_t ng,
                                const TileBytes& b, std::uint64_t* written) {
  // An operand tile reloads whenever one of its dimensions' indices
  // changes: as often as all the loops down to the innermost of its
  // dimensions that has more than one tile (once if none has).
  auto loads = [&](char d0, char d1) {
    std::uint64_t n = 1, upto = 1;
    for (char d : order) {
      n *= count.of(d);
      if ((d == d0 || d == d1) && count.of(d) > 1) upto = n;
    }
    return upto;
  };
  const std::uint64_t steps = count.m * count.n * count.k;
  std::uint64_t stores = 0, reloads = 0;
  if (order[2] == 'k') {
    stores = steps / count.k;  // once per (m, n), after its last k
  } else {
    stores = steps;                     // every visit leaves partial sums
    reloads = steps - steps / count.k;  // and every visit after the first k reads them
  }
  if (written) *written = ng * stores * b.output;
  return ng *
         (loads('m', 'k') * b.input + loads('k', 'n') * b.weight + (stores + reloads) * b.output);
}

double bus_bytes_per_cycle(const arch::Config& config) {
  return std::min(config.dram.rate.millibytes_per_cycle() / 1000.0,
                  static_cast<double>(config.dma.bytes_per_cycle) * config.dma.channels);
}

namespace {

// A step's DMA work: its bytes on the bus at the slower of DRAM and the
// DMA channels (loads and stores), and the serial parts around the loads
// (DRAM latency, MOVE legs, the transfers' setup spread over the channels)
// and around the stores (setup, latency).
struct DmaWork {
  double load_stream = 0, store_stream = 0, load_serial = 0, store_serial = 0;
};

DmaWork dma_work(const arch::Config& config, const StepKind& s) {
  const double rate = bus_bytes_per_cycle(config);
  const double latency = static_cast<double>(config.dram.latency_cycles.count());
  const double setup = config.dma.setup_cycles * std::ceil(s.transfers / config.dma.channels);
  return {(s.bytes - s.store_bytes) / rate, s.store_bytes / rate,
          s.loads * (latency + static_cast<double>(s.chain_cycles)) + setup,
          s.stores * (latency + config.dma.setup_cycles)};
}

// The first step's load, which nothing hides.
double load_cycles(const arch::Config& config, const StepKind& s) {
  const DmaWork d = dma_work(config, s);
  return d.load_stream + d.load_serial;
}

// The load of step i + 2 and the store of step i both wait for step i's
// GEMM; without an epilogue between them the store is issued first and
// holds the bus ahead of the load (first come, first served).
double store_ahead(const StepKind& s, const DmaWork& d) {
  return s.epilogue_cycles > 0 ? 0.0 : d.store_stream;
}

// The chain from a step's GEMM until its output slots can take the tile of
// the step two later. Without MOVEs out (the array's output buffer is the
// first on the output path), the slot waits for the epilogue and the store.
// With them, the array's slot is free once the MOVE out has read it, and
// the outer buffer's slot, which that MOVE writes, once the store two steps
// before has read it: each slot's chain on its own.
double output_slot_chain(const StepKind& s, const DmaWork& d) {
  if (!s.store_chain) return 0;
  const double c = static_cast<double>(s.compute_cycles);
  const double store = d.store_stream + d.store_serial;
  if (s.out_move_cycles <= 0 || s.stores <= 0)
    return c + s.epilogue_cycles + s.out_move_cycles + store;
  return std::max(c + s.epilogue_cycles + s.out_move_cycles, s.out_move_cycles + store);
}

bool two_steps_in_flight(const arch::Config& config, const StepKind& s) {
  return static_cast<double>(config.dma.channels) * config.dma.max_outstanding >=
         2 * std::ceil(s.transfers);
}

}  // namespace

double step_cycles(const arch::Config& config, const StepKind& s) {
  const DmaWork d = dma_work(config, s);
  const double c = static_cast<double>(s.compute_cycles);
  const double v = s.epilogue_cycles;
  const double moves = s.out_move_cycles;
  if (!two_steps_in_flight(config, s))
    return std::max({c, v, s.min_cycles,
                     d.load_stream + d.load_serial + moves + d.store_stream + d.store_serial,
                     output_slot_chain(s, d) / 2});
  return std::max({c, v, s.min_cycles, d.load_stream + d.store_stream,
                   (c + store_ahead(s, d) + d.load_stream + d.load_serial) / 2,
                   output_slot_chain(s, d) / 2});
}

double slot_chain_cycles(const arch::Config& config, const StepKind& s) {
  if (!two_steps_in_flight(config, s)) return 0;
  const DmaWork d = dma_work(config, s);
  const double c = static_cast<double>(s.compute_cycles);
  return std::max(c + store_ahead(s, d) + d.load_stream + d.load_serial, output_slot_chain(s, d));
}

namespace {

// When a two-slot chain sets the pace (a step's GEMM waits for the chain
// of the step two before it: its output slot's drain, or its tiles' load
// after that step's GEMM; slot_chain_cycles) and it is longer than two
// GEMMs, the GEMMs run in pairs: steps 2j + 1 and 2j + 2 start at j
// chains and j chains plus one GEMM. The steady state prices every step at
// half a chain, so with an even number of steps the last tile's drain
// starts sooner than that: by half a chain less one GEMM, or less one
// epilogue when the epilogue is longer (the vector unit runs in order, so
// the last tile's epilogue follows the one before, which began after the
// GEMM before), or less the step's bus time when that is longer. With an
// odd number of steps, on time. Steps of one kind, or output tiles of two
// k parts (paired_tiles_saving).
double paired_steps_saving(const arch::Config& config, const std::vector<StepKind>& steps,
                           std::uint64_t count);

// Output tiles of two k parts, a full part and then the edge part that
// finishes the tile (its MOVEs out and store; the kinds share the tile's
// epilogue, half each), pair as single steps do: tile chain X = both
// GEMMs, the epilogue, the MOVEs out and the store, and with an even number
// of tiles the last tile's drain starts X / 2 less the longest of both
// GEMMs, the epilogue and the tile's bus time sooner than the steady state
// gives (Mamba's in_proj_z on tpu_v1_like: six 1,024 x 256 tiles, K = 512 +
// 256).
double paired_tiles_saving(const arch::Config& config, const StepKind& a, const StepKind& b) {
  const bool k_parts = a.count == b.count && a.out_move_cycles == 0 && a.store_bytes == 0 &&
                       (b.out_move_cycles > 0 || b.store_bytes > 0);
  if (!k_parts || b.count < 2 || b.count % 2 != 0) return 0;
  const DmaWork da = dma_work(config, a), db = dma_work(config, b);
  const double c = static_cast<double>(a.compute_cycles + b.compute_cycles);
  const double epilogue = a.epilogue_cycles + b.epilogue_cycles;
  const double chain = c + epilogue + b.out_move_cycles + db.store_stream + db.store_serial;
  const double bus = da.load_stream + db.load_stream + db.store_stream;
  return std::max(0.0, chain / 2 - std::max({c, epilogue, bus}));
}

double paired_steps_saving(const arch::Config& config, const std::vector<StepKind>& steps,
                           std::uint64_t count) {
  if (steps.size() == 2) return paired_tiles_saving(config, steps[0], steps[1]);
  if (steps.size() != 1 || count < 2 || count % 2 != 0) return 0;
  const StepKind& s = steps.front();
  const DmaWork d = dma_work(config, s);
  const double c = static_cast<double>(s.compute_cycles);
  // The load chain pairs only where the tiles load straight into the
  // array's buffers: through a staging buffer (MOVE legs inwards) an
  // operand has four slots, and its loads run further ahead.
  const double load_chain = s.chain_cycles > 0 || !two_steps_in_flight(config, s)
                                ? 0.0
                                : c + store_ahead(s, d) + d.load_stream + d.load_serial;
  const double half_chain = std::max(load_chain, output_slot_chain(s, d)) / 2;
  // The pair's second GEMM also waits for its share of the bus (or the
  // step's other bounds): what is left of the chain beyond the longest.
  return std::max(0.0, half_chain - std::max({c, s.epilogue_cycles, s.min_cycles,
                                              d.load_stream + d.store_stream}));
}

}  // namespace

std::uint64_t estimated_cycles(const arch::Config& config, const std::vector<StepKind>& steps,
                               const StepKind& first, std::optional<double> store_before_last) {
  // load(1) + sum over steps i < S of the steady-state step time + the
  // last step. A step's time covers the next step's load and the previous
  // step's store, so the first step has no store to carry, and the last
  // has no load: it computes while the step before it is stored.
  double total = load_cycles(config, first);
  std::uint64_t count = 0;
  for (const auto& s : steps) count += s.count;
  if (count <= 1) {
    if (!steps.empty()) total += static_cast<double>(steps.front().compute_cycles);
    return static_cast<std::uint64_t>(std::ceil(total));
  }
  for (const auto& s : steps) total += static_cast<double>(s.count) * step_cycles(config, s);
  const StepKind& head = steps.front();
  // Each period counts a store of its own step's size for the store of the
  // step before it: the first step carries none, and the last step's time
  // (below) counts the store of the step before it. Of the periods' stores
  // the one to take out is the one the last step counts again, the store of
  // the step before the last: with tiles of one size, the head's; with an
  // edge tile last (one store per step), an edge tile's.
  const StepKind& last = steps.back();  // the far corner: the remainders
  const double before_last = store_before_last.value_or(last.store_bytes);
  StepKind carried = head;
  if (steps.size() > 1 && head.stores == 1.0) {
    carried.bytes += before_last - head.store_bytes;
    carried.store_bytes = before_last;
  }
  total -=
      std::max(0.0, step_cycles(config, carried) - step_cycles(config, carried.without_store()));
  const double rate = bus_bytes_per_cycle(config);
  // The last step computes while the one before is stored. When the
  // epilogue outlasts the compute (the vector unit sets the pace), the
  // steps' periods are their epilogues and what is not hidden is the first
  // GEMM, before the first epilogue can start: the head's compute.
  const double fill =
      head.epilogue_cycles >= static_cast<double>(head.compute_cycles) && head.epilogue_cycles > 0
          ? static_cast<double>(head.compute_cycles)
          : 0.0;
  const double tail =
      std::max({static_cast<double>(last.compute_cycles), before_last / rate, fill});
  total += tail - step_cycles(config, last);
  total -= paired_steps_saving(config, steps, count);
  return static_cast<std::uint64_t>(std::ceil(total));
}

std::uint64_t estimated_cycles(const arch::Config& config, std::uint64_t compute,
                               std::uint64_t traffic, std::uint64_t transfers, std::uint64_t steps,
                               std::uint64_t chain, std::uint64_t store_bytes) {
  steps = std::max<std::uint64_t>(steps, 1);
  const double n = static_cast<double>(steps);
  // Every step alike: the averages, and the first load like any other.
  // A step loads (and pays the DRAM latency) when some of the traffic is
  // loaded: a layer on resident tensors loads nothing.
  const StepKind step{steps,
                      ceil_div(compute, steps),
                      static_cast<double>(traffic) / n,
                      static_cast<double>(transfers) / n,
                      traffic > store_bytes ? 1.0 : 0.0,
                      chain,
                      static_cast<double>(store_bytes) / n,
                      store_bytes > 0 ? 1.0 : 0.0};
  return estimated_cycles(config, {step}, step.without_store());
}

std::uint64_t transfer_cycles(const arch::Config& config, std::uint64_t bytes) {
  const Rate rate = Rate::bytes_per_kilocycle(std::min(
      config.dram.rate.millibytes_per_cycle(), std::uint64_t{config.dma.bytes_per_cycle} * 1000));
  return config.dma.setup_cycles + rate.time_for(bytes).count() +
         config.dram.latency_cycles.count();
}

std::uint64_t chain_cycles(const MapContext& context, const TileBytes& bytes, bool partial_sums) {
  const auto& dma = context.config.dma;
  auto chain = [&](arch::Operand op, std::uint64_t tile) {
    const std::uint64_t hops = context.path_length[static_cast<std::size_t>(op)] - 1;
    return hops * (dma.setup_cycles + ceil_div(tile, dma.bytes_per_cycle));
  };
  const std::uint64_t operands =
      std::max(chain(Operand::kInput, bytes.input), chain(Operand::kWeight, bytes.weight));
  if (!partial_sums) return operands;
  return std::max(operands, 2 * chain(Operand::kOutput, bytes.output) +
                                context.config.dram.latency_cycles.count());
}

std::uint64_t prefetched_cycles(const MapContext& context, const TileBytes& first,
                                std::uint64_t idle_cycles) {
  if (idle_cycles == 0 || first.weight == 0) return 0;
  // The tiles' loads and their MOVE legs inwards (the weight's into the
  // array's weight buffer, whose slot is free as well).
  auto load = [&](std::uint64_t in, std::uint64_t w) {
    StepKind s;
    s.bytes = static_cast<double>(in + w);
    s.transfers = static_cast<double>((in > 0 ? transfers_per_tile(context, Operand::kInput) : 0) +
                                      (w > 0 ? transfers_per_tile(context, Operand::kWeight) : 0));
    s.loads = in + w > 0 ? 1 : 0;
    if (in + w > 0) s.chain_cycles = chain_cycles(context, TileBytes{in, w, 0, 0});
    return load_cycles(context.config, s);
  };
  const double saved = load(first.input, first.weight) - load(first.input, 0);
  return std::min(idle_cycles, static_cast<std::uint64_t>(std::max(0.0, saved)));
}

std::uint64_t drain_cycles(const MapContext& context, std::uint64_t output_tile_bytes,
                           bool to_dram) {
  if (output_tile_bytes == 0) return 0;
  const auto& dma = context.config.dma;
  const std::uint64_t hops = context.path_length[static_cast<std::size_t>(Operand::kOutput)] - 1;
  const std::uint64_t moves =
      hops * (dma.setup_cycles + ceil_div(output_tile_bytes, dma.bytes_per_cycle));
  return moves + (to_dram ? transfer_cycles(context.config, output_tile_bytes) : 0);
}

namespace {

// How often a tile key that depends on the loop dimensions `dims` changes
// over the nest `order` (outermost first): the product of the tile counts
// from the outermost loop down to the innermost dimension of `dims` that
// iterates; 1 when none does (the tile is loaded once).
std::uint64_t key_changes(std::string_view order, const Extents& count, std::string_view dims) {
  std::uint64_t product = 1, changes = 1;
  for (char d : order) {
    if (count.of(d) <= 1) continue;
    product *= count.of(d);
    if (dims.find(d) != std::string_view::npos) changes = product;
  }
  return changes;
}

// The instructions of the nest over a grid of `count` tiles in `ng` groups,
// the barrier not included.
std::uint64_t nest_instructions(const Layer& layer, const Mapping& m, const MapContext& context,
                                const Extents& count, std::uint64_t ng) {
  const std::uint64_t steps = ng * count.m * count.n * count.k;
  const std::uint64_t out_tiles = ng * count.m * count.n;
  auto chain = [&](arch::Operand op) {  // a LOAD (or in-place read), then the MOVEs inwards
    const std::uint64_t len = context.path_length[static_cast<int>(op)];
    return context.resident(op) ? len - 1 : len;
  };
  std::uint64_t n = steps;  // the GEMMs
  n += ng * key_changes(m.order, count, "mk") * chain(arch::Operand::kInput);
  n += ng * key_changes(m.order, count, "kn") * chain(arch::Operand::kWeight);
  n += out_tiles * layer.epilogue(1, 1).size();
  if (layer.residual && !context.residual_resident) n += out_tiles;
  const std::uint64_t out_len = context.path_length[static_cast<int>(arch::Operand::kOutput)];
  if (context.output_resident && out_len == 1) return n;  // accumulated in place
  const bool k_inner = m.order[2] == 'k';
  // MOVEs out, then the STORE or the write into the resident tensor.
  n += (k_inner ? out_tiles : steps) * (context.output_resident ? out_len - 1 : out_len);
  if (!k_inner) n += (steps - out_tiles) * chain(arch::Operand::kOutput);  // partial sums back
  return n;
}

}  // namespace

std::uint64_t instruction_count(const Layer& layer, const Mapping& m, const MapContext& context) {
  if (layer.attention) return attention_counts(context, layer, m).instructions;
  const arch::GemmShape g = layer.gemm();
  const std::uint64_t nn = ceil_div(g.n, m.tn), nk = ceil_div(g.k, m.tk);
  const std::uint64_t nm = ceil_div(g.m, m.tm);
  if (m.block_m == 0 && m.block_n == 0)
    return 1 + nest_instructions(layer, m, context, {nm, nn, nk}, ceil_div(g.batch, m.tg));
  // The blocks' LOADs, then the nest over each, the block resident.
  MapContext inner = context;
  (m.block_m > 0 ? inner.input_resident : inner.weight_resident) = true;
  std::uint64_t n = 1 + block_loads(layer, m, layer_types(layer, context.config)).loads;
  if (m.block_m > 0) {
    for (auto [rows, blocks] : split(g.m, m.block_m))
      n += blocks * nest_instructions(layer, m, inner, {ceil_div(rows, m.tm), nn, nk}, 1);
  } else {
    for (auto [cols, blocks] : split(g.n, m.block_n))
      n += blocks * nest_instructions(layer, m, inner, {nm, ceil_div(cols, m.tn), nk}, 1);
  }
  return n;
}

}  // namespace tessel::workloads
