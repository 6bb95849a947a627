#include "workloads/lowering/schedule.h"

#include <algorithm>
#include <array>
#include <bit>
#include <map>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "arch/error.h"
#include "arch/vector.h"
#include "workloads/lowering/fusion.h"
#include "workloads/lowering/layer_types.h"
#include "workloads/lowering/mapper.h"
#include "workloads/lowering/mapping_cost.h"
#include "workloads/lowering/stripes.h"

namespace tessel::workloads {

std::optional<RowsShape> rows_shape(const Layer& layer) {
  RowsShape r;
  switch (layer.kind) {
    case LayerKind::kVector:
      r = {layer.work.rows, layer.in_elements, layer.out_elements, true,
           std::max<std::size_t>(1, layer.inputs.size())};
      break;
    case LayerKind::kDataMove:
      if (layer.move == MoveKind::kReshape) return std::nullopt;
      r = {layer.elements, layer.elements, layer.elements, false, 1};
      break;
    case LayerKind::kEmbedding:
      r = {layer.tokens, layer.tokens * layer.dim, layer.tokens * layer.dim, false, 1};
      break;
    default:
      return std::nullopt;
  }
  return r;
}

namespace {

// At most this many staging budgets are tried (a bound on the search's
// cost; the search normally stops earlier, see choose_schedule).
constexpr std::uint64_t kMaxStagingSplits = 24;

// Layers off the MAC array are tiled by rows through the vector unit's
// buffer: the largest row tile whose staged inputs and output fit a slot
// (resident ones take no staging space), split further while the pipeline
// would still have few tiles to overlap (at least 4 when rows allow).
Mapping map_rows(std::size_t index, const Layer& layer, const LayerTypes& types,
                 const MapContext& context, const Residency& residency) {
  Mapping plan;
  plan.order = "-";
  plan.instructions = 1;  // the barrier
  const auto shape = rows_shape(layer);
  if (!shape) return plan;
  const int vb = static_cast<int>(context.config.vector.buffer);
  const auto& buffer = context.config.sram[vb];
  const std::uint64_t budget = context.tile_budget_bytes[vb];
  const std::uint64_t rows = shape->rows;
  auto tile_in = [&](std::uint64_t r) { return shape->in_bytes(r, types.activation); };
  auto tile_out = [&](std::uint64_t r) { return shape->out_bytes(r, types.activation); };
  std::size_t staged_inputs = 0;
  bool second_staged = false;  // staged as a weight tile (lower_rows.cpp)
  for (std::size_t i = 0; i < shape->inputs; ++i) {
    const bool resident =
        i < layer.inputs.size() && residency.resident(residency.tensor_of[layer.inputs[i]]);
    if (!resident) ++staged_inputs;
    if (!resident && i == 1) second_staged = true;
  }
  const bool out_resident = context.output_resident;
  // A computing layer stages its non-resident inputs and its output in the
  // slot; a pure move stages its data once, unless one side is resident.
  auto need = [&](std::uint64_t r) {
    const std::uint64_t in = ceil_div(tile_in(r), shape->inputs) * staged_inputs;
    if (shape->computes) return in + (out_resident ? 0 : tile_out(r));
    return staged_inputs == 0 || out_resident ? 0 : tile_in(r);
  };
  if (need(1) > budget) {
    throw InputError(
        fmt::format("layer \"{}\": one row ({} B in, {} B out) does not fit the "
                    "vector buffer \"{}\" ({} B per slot)",
                    layer.name, tile_in(1), tile_out(1), buffer.name, budget));
  }
  std::uint64_t tr = rows;
  while (need(tr) > budget) tr = ceil_div(tr, 2);
  while (ceil_div(rows, tr) < 4 && tr > 1 && need(tr) > 4096) tr = ceil_div(tr, 2);
  plan.tm = tr;
  // The cost model's figures: vector work over the tiles, DRAM bytes of the
  // non-resident sides, one transfer per staged side per tile. A tile takes
  // the longer of its vector work and the busiest slot port of the vector
  // buffer, which serves the tile's reads and writes one after another: a
  // resident tensor sits on the port of its region's slot, and staged tiles
  // alternate between the slots.
  const std::uint32_t slots = buffer.slots();
  auto port_cycles = [&](std::uint64_t r) {
    std::array<double, 2> bytes{};  // per slot; a buffer has at most two
    auto add = [&](std::optional<std::uint32_t> region, double b) {
      if (region) {
        bytes[*region % slots] += b;
      } else {
        for (std::uint32_t i = 0; i < slots; ++i) bytes[i] += b / slots;
      }
    };
    auto region_of = [&](std::size_t producer) -> std::optional<std::uint32_t> {
      const std::size_t t = residency.tensor_of[producer];
      if (!residency.resident(t)) return std::nullopt;
      return residency.home[t].region;
    };
    const double share = static_cast<double>(ceil_div(tile_in(r), shape->inputs));
    for (std::size_t i = 0; i < shape->inputs; ++i)
      add(i < layer.inputs.size() ? region_of(layer.inputs[i]) : std::nullopt, share);
    add(out_resident ? region_of(index) : std::nullopt, static_cast<double>(tile_out(r)));
    const double busiest = *std::max_element(bytes.begin(), bytes.end());
    return buffer.slot_port_rate().time_for(static_cast<std::uint64_t>(std::ceil(busiest)));
  };
  std::uint64_t compute = 0;
  if (shape->computes) {
    for (auto [r, count] : split(rows, tr)) {
      arch::VectorWork work = layer.work;
      work.rows = r;
      compute +=
          max(arch::vector_cycles(context.config.vector, work), port_cycles(r)).count() * count;
    }
  }
  const std::uint64_t tiles = ceil_div(rows, tr);
  // Per tile (lower_rows.cpp): the staged inputs' LOADs (none for a pure move
  // into a resident output, which reads DRAM straight into it), then the
  // VECTOR and its STORE (none into a resident output), or the move.
  const bool computes = shape->computes;
  plan.instructions += tiles * ((computes || !out_resident ? staged_inputs : 0) +
                                (computes ? 1 + (out_resident ? 0 : 1) : 1));
  // Each tile loads its share of each staged input, rounded up to bytes as
  // the emitter's LOADs are (a sub-byte or odd split rounds per tile).
  std::uint64_t in_bytes = 0, out_bytes = 0;
  for (auto [r, count] : split(rows, tr)) {
    in_bytes += count * ceil_div(tile_in(r), shape->inputs) * staged_inputs;
    out_bytes += count * tile_out(r);
  }
  plan.dram_write_bytes = out_resident ? 0 : out_bytes;
  plan.dram_bytes = in_bytes + plan.dram_write_bytes;
  const std::uint64_t transfers = tiles * (staged_inputs + (out_resident ? 0 : 1));
  plan.estimated_cycles = estimated_cycles(context.config, compute, plan.dram_bytes, transfers,
                                           tiles, 0, plan.dram_write_bytes);
  // The layer ends when its last tile's store has completed (as the
  // GEMMs' last drain, mapping_cost.h), which no later step hides.
  const std::uint64_t last_rows = rows - (tiles - 1) * tr;
  if (!out_resident && shape->out_elements > 0)
    plan.estimated_cycles += transfer_cycles(context.config, tile_out(last_rows));
  // A second input staged as weight tiles holds the slots the next array
  // layer's first weight tile loads into: it waits for the tile before the
  // last, whose slot is free once that tile is stored; the bus then idles
  // for what of the last tile's vector work that store leaves
  // (Mapping::row_tail_prefetch).
  if (computes && second_staged && tiles >= 2 && !out_resident && shape->out_elements > 0 &&
      buffer.holds_operand(arch::Operand::kWeight)) {
    arch::VectorWork work = layer.work;
    work.rows = last_rows;
    const std::uint64_t last =
        max(arch::vector_cycles(context.config.vector, work), port_cycles(last_rows)).count();
    const std::uint64_t store = transfer_cycles(context.config, tile_out(tr));
    plan.row_tail_prefetch = true;
    plan.tail_compute_cycles = last - std::min(last, store);
  }
  return plan;
}

// The DMA idles during an array layer's last step and through the on-chip
// layers after it (MapContext::dma_idle_cycles); after `layer` is mapped as
// `m`, the window the next layer sees.
void advance_dma_idle(MapContext& context, const Layer& layer, const Mapping& m) {
  if (layer.on_array()) {
    // Its last steps, then the drain before any store: both weight slots
    // are free in the drain.
    context.dma_idle_cycles = m.tail_compute_cycles + m.tail_bus_free_cycles;
    context.dma_idle_both_slots_cycles = m.tail_bus_free_cycles;
  } else if (m.dram_bytes == 0) {
    context.dma_idle_cycles += m.estimated_cycles;
    context.dma_idle_both_slots_cycles += m.estimated_cycles;
  } else {
    context.dma_idle_cycles = context.dma_idle_both_slots_cycles = 0;
  }
}

// Whether layer l of `workload` reads the output of layer p (through a
// reshape too).
bool layer_reads(const Workload& workload, std::size_t l, std::size_t p,
                 const Residency& residency) {
  const Layer& layer = workload.layers[l];
  auto of_p = [&](std::size_t q) { return q == p || residency.tensor_of[q] == p; };
  if (std::any_of(layer.inputs.begin(), layer.inputs.end(), of_p)) return true;
  if (layer.attention && layer.attention->value == OperandSource::kProducer &&
      of_p(layer.attention->value_producer))
    return true;
  return layer.on_array() && layer.second == OperandSource::kProducer &&
         of_p(layer.second_producer);
}

// The next array layer's first weight tiles load as soon as this layer's
// last steps free their slots: the first when its step before the last is
// done (Mapping::tail_compute_cycles before its last GEMM ends), the second
// when the last is. The DRAM bus serves transfers first come, first served,
// so a layer that ends with a store to DRAM issued after them (its epilogue
// and MOVEs out first, Mapping::tail_bus_free_cycles) waits for their bus
// time, in its window. When the next layer does not read this one, its
// tiles are loaded and its GEMMs run meanwhile, as in the drain: the wait
// comes out of its window. The next array layer is the next layer on the
// array, past on-chip layers that move no DRAM bytes. In a weight run
// (Mapping::weight_run) the first tile loads at the run's start instead, and
// what of its bus time one step's idle bus does not absorb delays the run.
// Applied to each staging split's plans before their costs are compared
// (the plans of both layers are needed), so the choice of split and fusion
// sees them.
// The layer whose first weight tiles array layer l's last steps (or the
// last row tiles of a layer holding the weight slots,
// Mapping::row_tail_prefetch) prefetch, when l stores its output to DRAM:
// the next array layer, past on-chip layers that move no DRAM bytes (they
// leave the weight slots and the bus to the prefetch). `ms` has the
// mappings of the layers before it at least.
std::optional<std::size_t> prefetch_target(const Workload& workload, const Residency& residency,
                                           const std::vector<Mapping>& ms, std::size_t l) {
  if (!(workload.layers[l].on_array() || ms[l].row_tail_prefetch) || ms[l].dram_write_bytes == 0 ||
      residency.resident(residency.tensor_of[l]))
    return std::nullopt;
  for (std::size_t a = l + 1; a < workload.layers.size(); ++a) {
    if (workload.layers[a].on_array()) return a;
    if (a >= ms.size() || ms[a].dram_bytes > 0) return std::nullopt;
  }
  return std::nullopt;
}

void add_prefetch_stalls(const Workload& workload, const Residency& residency,
                         std::vector<Mapping>& ms, const arch::Config& config) {
  const double setup = config.dma.setup_cycles;
  for (std::size_t l = 0; l + 1 < ms.size(); ++l) {
    const std::optional<std::size_t> target = prefetch_target(workload, residency, ms, l);
    if (!target || ms[*target].first_weight_bus_cycles == 0) continue;
    const std::size_t a = *target;
    const Mapping& next = ms[a];
    Mapping& m = ms[l];
    const double tail = static_cast<double>(m.tail_compute_cycles);
    const double before_store = static_cast<double>(m.tail_bus_free_cycles);
    double bus_end = -tail + setup + static_cast<double>(next.first_weight_bus_cycles);
    if (next.second_weight_bus_cycles > 0 && before_store > 0)
      bus_end = std::max(bus_end, setup) + static_cast<double>(next.second_weight_bus_cycles);
    double wait = bus_end - (before_store + setup);
    // In a weight run the first tile loads at the run's start, in one go:
    // the next layer's mapping counted the delay (its choice saw it); it is
    // this layer's.
    if (m.weight_run) {
      const std::uint64_t charge = next.prefetch_charge_cycles;
      m.estimated_cycles += charge;
      ms[a].estimated_cycles -= charge;
    }
    if (wait <= 0) continue;
    const auto cycles = static_cast<std::uint64_t>(wait);
    m.estimated_cycles += cycles;
    if (!layer_reads(workload, l + 1, l, residency))
      ms[l + 1].estimated_cycles -= std::min(cycles, ms[l + 1].estimated_cycles);
  }
}

// Mappings shared by the plans of a workload's fusion candidates: a layer,
// named by the original layers it runs, under one context (residency flags,
// DMA idle window, staging budget). Candidates that differ in a few fused
// groups map the rest once.
// What a mapping depends on besides the layer and the staging budget: the
// residency flags and the DMA windows of its MapContext.
using ContextKey = std::tuple<bool, bool, bool, bool, std::uint64_t, std::uint64_t, std::uint64_t,
                              std::uint64_t, std::optional<std::uint64_t>>;
ContextKey context_key(const MapContext& c) {
  return {c.input_resident,       c.weight_resident,        c.output_resident,
          c.residual_resident,    c.dma_idle_cycles,        c.dma_idle_both_slots_cycles,
          c.drain_overlap_cycles, c.drain_slot_wait_cycles, c.run_idle_bus_cycles};
}

struct SharedMappings {
  // The layer's group and rows in and out (stripe layers of one group
  // differ in them, stripes.h), its context, the resident buffer's staging
  // budget.
  using Key =
      std::tuple<std::vector<std::size_t>, std::uint64_t, std::uint64_t, ContextKey, std::uint64_t>;
  std::map<Key, Mapping> mappings;
};

class Planner {
 public:
  Planner(const Workload& workload, const std::vector<std::vector<std::size_t>>& groups,
          const arch::Config& config, SharedMappings& shared)
      : m_workload(workload),
        m_groups(groups),
        m_shared(shared),
        m_config(config),
        m_mapper(make_mapper(config.schedule.mapper, config.source)) {
    for (const Layer& layer : workload.layers) {
      m_types.push_back(layer_types(layer, config));
      m_output_bytes.push_back(bytes_for(layer.tensor_elements(), m_types.back().activation));
    }
    m_cache.resize(workload.layers.size());
    // Weights later layers share may stay resident (schedule.weights_resident).
    m_shared_weight_bytes.assign(workload.layers.size(), 0);
    if (config.schedule.weights_resident) {
      for (const Layer& layer : workload.layers) {
        if (!layer.weights_of || !layer.on_array()) continue;
        const std::size_t o = *layer.weights_of;
        m_shared_weight_bytes[o] =
            bytes_for(workload.layers[o].weight_elements(), m_types[o].weight);
      }
    }
  }

  Schedule run() {
    choose_schedule();
    return std::move(m_out);
  }

 private:
  // Tries each staging split of the resident buffer: places the tensors in
  // the rest (residency.h), maps every layer under those decisions, and keeps
  // the split with the lowest expected cycles, then the least DRAM traffic
  // (the first, layer-at-a-time, on ties).
  void choose_schedule() {
    const bool scalesim = std::any_of(m_workload.layers.begin(), m_workload.layers.end(),
                                      [](const Layer& l) { return l.scalesim_semantics; });
    const int rb =
        m_config.schedule.residency == arch::ScheduleConfig::Residency::kAuto && !scalesim
            ? resident_buffer(m_config)
            : -1;
    // Staging budgets per slot: the whole slot, then every power of two down
    // until no tile fits or nothing spills any more, so that a larger buffer
    // always offers at least the resources a smaller one did (each budget
    // with a larger resident area; the budgets it skips keep the tensors of
    // the last one tried, with smaller tiles) and the expected cost of the
    // best split never rises with capacity.
    std::optional<std::pair<std::uint64_t, std::uint64_t>> best_cost;
    const std::uint64_t slot = rb < 0 ? 0 : m_config.sram[rb].tile_budget_bytes();
    std::uint64_t budget = slot;
    for (std::uint64_t tries = 0; tries < kMaxStagingSplits; ++tries) {
      MapContext context(m_config);
      std::uint64_t area = 0;
      if (rb >= 0) {
        context.tile_budget_bytes[rb] = budget;
        area = m_config.sram[rb].capacity_bytes - budget * m_config.sram[rb].slots();
      }
      Residency residency =
          allocate_residency(m_workload, m_output_bytes, m_shared_weight_bytes, rb, area);
      std::vector<Mapping> mappings;
      std::uint64_t cycles = 0, dram = 0;
      bool mapped = true;
      try {
        context.dma_idle_cycles = context.dma_idle_both_slots_cycles = 0;
        for (std::size_t l = 0; l < m_workload.layers.size(); ++l) {
          const bool under_drain = l > 0 && !reads(l, l - 1, residency);
          context.drain_overlap_cycles = under_drain ? mappings.back().tail_drain_cycles : 0;
          context.drain_slot_wait_cycles = under_drain ? mappings.back().tail_slot_wait_cycles : 0;
          context.run_idle_bus_cycles = run_before(l, mappings, residency);
          mappings.push_back(map_layer(l, residency, context));
          const Mapping& m = mappings.back();
          cycles += m.estimated_cycles;
          dram += m.dram_bytes;
          advance_dma_idle(context, m_workload.layers[l], m);
        }
      } catch (const InputError&) {
        if (budget == slot) throw;  // the whole slot does not fit: a real error
        mapped = false;             // smaller budgets fit still less
      }
      if (!mapped) break;
      // The prefetches' waits count in the choice (they depend on both
      // layers' plans), so that a split's cost is what it is expected to take.
      add_prefetch_stalls(m_workload, residency, mappings, m_config);
      cycles = 0;
      for (const Mapping& m : mappings) cycles += m.estimated_cycles;
      const auto cost = std::make_pair(cycles, dram);
      // Once nothing spills, smaller budgets keep the same tensors and only
      // shrink the tiles: none can cost less.
      const bool spilled = residency.spilled;
      if (!best_cost || cost < *best_cost) {
        best_cost = cost;
        m_out.mappings = std::move(mappings);
        m_out.residency = std::move(residency);
      }
      if (rb < 0 || budget <= 1 || !spilled) break;
      budget = std::bit_floor(budget - 1);  // the next power of two below
    }
  }

  // When layer l is on the array and the prefetch target of the array
  // layer before it (prefetch_target), which ends in a weight run: that
  // run's idle bus per step (MapContext).
  std::optional<std::uint64_t> run_before(std::size_t l, const std::vector<Mapping>& mappings,
                                          const Residency& residency) const {
    // One DMA channel serves the run's transfers and the prefetch in turn,
    // oldest first, a queue this bus-level price does not model: measured,
    // it picks slower plans there (eyeriss_like MobileNetV2 +1%), so it is
    // left out (docs/mapping.md).
    if (!m_workload.layers[l].on_array() || m_config.dma.channels < 2) return std::nullopt;
    std::size_t p = l;
    while (p > 0 && !m_workload.layers[p - 1].on_array()) --p;
    if (p == 0) return std::nullopt;
    --p;  // the array layer before l
    if (prefetch_target(m_workload, residency, mappings, p) != l || !mappings[p].weight_run)
      return std::nullopt;
    return mappings[p].run_idle_bus_cycles;
  }

  // The splits are tried with shrinking budgets: a layer whose residency and
  // DMA idle window are unchanged and whose previous mapping still fits
  // keeps it (mapper.h: a mapper's choice depends on the budgets only
  // through which candidates fit, so the best of a superset that is still in
  // the subset stays best).
  Mapping map_layer(std::size_t l, const Residency& residency, MapContext& context) {
    const Layer& layer = m_workload.layers[l];
    context.resident_buffer = residency.buffer;
    context.input_resident =
        !layer.inputs.empty() && residency.resident(residency.tensor_of[layer.inputs[0]]);
    const TensorHome* weights = residency.resident_weights(l);
    context.weight_resident =
        layer.on_array() && (layer.second == OperandSource::kProducer
                                 ? residency.resident(residency.tensor_of[layer.second_producer])
                                 : weights != nullptr);
    context.output_resident = (residency.tensor_of[l] == l || layer.output_slice) &&
                              residency.resident(residency.tensor_of[l]);
    context.residual_resident =
        layer.residual && residency.resident(residency.tensor_of[layer.residual->producer]);
    if (!layer.on_array()) return map_rows(l, layer, m_types[l], context, residency);
    Mapping m = map_gemm(l, context);
    m.instructions = instruction_count(layer, m, context);
    // The owner of resident shared weights loads them whole, before its
    // first tile and overlapped with nothing.
    if (weights && residency.weight_owner[l] == l) {
      m.dram_bytes += weights->bytes;
      m.estimated_cycles += transfer_cycles(m_config, weights->bytes);
      ++m.instructions;
    }
    return m;
  }

  bool reads(std::size_t l, std::size_t p, const Residency& residency) const {
    return layer_reads(m_workload, l, p, residency);
  }

  Mapping map_gemm(std::size_t l, const MapContext& context) {
    const Layer& layer = m_workload.layers[l];
    auto& cached = m_cache[l];
    const ContextKey flags = context_key(context);
    const SharedMappings::Key key{
        m_groups[l], layer.in_h, layer.out_h, flags,
        context.resident_buffer < 0 ? 0 : context.tile_budget_bytes[context.resident_buffer]};
    if (cached && cached->first == flags) {
      const Mapping& m = cached->second;
      if (mapping_fits(context, layer, m, m_types[l])) {
        m_shared.mappings.emplace(key, m);
        return m;
      }
    }
    const auto hit = m_shared.mappings.find(key);
    const Mapping m = hit != m_shared.mappings.end() ? hit->second : m_mapper->map(layer, context);
    if (hit == m_shared.mappings.end()) m_shared.mappings.emplace(key, m);
    cached = std::make_pair(flags, m);
    return m;
  }

  const Workload& m_workload;
  const std::vector<std::vector<std::size_t>>& m_groups;
  SharedMappings& m_shared;
  const arch::Config& m_config;
  std::unique_ptr<IMapper> m_mapper;
  // Per layer: the residency flags and DMA idle window of the last split
  // tried, and its mapping.
  std::vector<std::optional<std::pair<ContextKey, Mapping>>> m_cache;
  std::vector<LayerTypes> m_types;
  std::vector<std::uint64_t> m_output_bytes;
  std::vector<std::uint64_t> m_shared_weight_bytes;  // per layer, at owners of shared weights
  Schedule m_out;
};

}  // namespace

Mapping map_alone(const Workload& workload, std::size_t layer, const arch::Config& config,
                  const IMapper& mapper) {
  const Layer& l = workload.layers[layer];
  const MapContext context(config);
  if (l.on_array()) return mapper.map(l, context);
  const Residency none =
      allocate_residency(workload, std::vector<std::uint64_t>(workload.layers.size()),
                         std::vector<std::uint64_t>(workload.layers.size()), -1, 0);
  return map_rows(layer, l, layer_types(l, config), context, none);
}

Schedule plan_schedule(const Workload& workload, const arch::Config& config) {
  std::optional<Schedule> best;
  std::pair<std::uint64_t, std::uint64_t> best_cost;
  SharedMappings shared;
  for (Fused& f : fusion_candidates(workload, config)) {
    // Requested stripes apply to every candidate (stripes.h).
    if (config.schedule.stripe_rows > 0) f = requested_stripes(f, config);
    std::optional<Schedule> s;
    try {
      s = Planner(f.workload, f.groups, config, shared).run();
    } catch (const InputError&) {
      if (!best) throw;  // the first (unfused) candidate does not map: a real error
      continue;          // a fused layer that maps nowhere with residency
    }
    std::pair<std::uint64_t, std::uint64_t> cost{0, 0};
    for (const Mapping& m : s->mappings) {
      cost.first += m.estimated_cycles;
      cost.second += m.dram_bytes;
    }
    if (best && cost >= best_cost) continue;
    best_cost = cost;
    best = std::move(s);
    best->workload = std::move(f.workload);
    best->groups = std::move(f.groups);
  }
  return std::move(*best);
}

}  // namespace tessel::workloads
