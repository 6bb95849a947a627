#include "workloads/lowering/attention.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <tuple>

#include <fmt/format.h>

#include "arch/error.h"
#include "arch/systolic.h"
#include "arch/vector.h"
#include "workloads/lowering/mapping_cost.h"
#include "workloads/lowering/schedule.h"

namespace tessel::workloads {

namespace {

using arch::Operand;
using Step = AttentionStep;

std::uint64_t hops(const MapContext& context, Operand op) {
  return context.path_length[static_cast<std::size_t>(op)];
}

// Instructions that take a tile of `op` out of the array's buffer: MOVEs to
// the first buffer on the path, then a STORE, or into the resident home
// (at least the one write), as the emitter's store_chain emits them.
std::uint64_t store_instructions(const MapContext& context) {
  const std::uint64_t n = hops(context, Operand::kOutput);
  return context.output_resident ? std::max<std::uint64_t>(1, n - 1) : n;
}

}  // namespace

std::uint64_t dram_step_bytes(const Step& s, const AttentionTileBytes& b) {
  switch (s.kind) {
    case Step::kLoadQuery:
      return b.query;
    case Step::kLoadKey:
      return b.key;
    case Step::kLoadValue:
      return b.value;
    case Step::kStore:
      return b.output;
    default:
      return 0;
  }
}

AttentionTileBytes attention_bytes(const Step& s, const Layer& layer, const LayerTypes& types) {
  const std::uint64_t d = layer.k, cols = layer.attention->cols;
  const DType a = types.activation, w = types.weight;
  // Rows of whole bytes, as the transfers move them.
  return {s.tg * s.tm * bytes_for(d, a),    s.tg * d * bytes_for(s.bc, w),
          s.tg * s.tm * bytes_for(s.bc, a), s.tg * s.tm * bytes_for(s.bc, a),
          s.tg * s.bc * bytes_for(cols, w), s.tg * s.tm * bytes_for(cols, a)};
}

arch::GemmShape scores_shape(const Step& s, const Layer& layer) {
  return {s.tm, s.bc, layer.k, s.tg};
}

arch::GemmShape context_shape(const Step& s, const Layer& layer) {
  return {s.tm, layer.attention->cols, s.bc, s.tg};
}

arch::VectorWork attention_vector_work(const Step& s, const Layer& layer) {
  arch::VectorWork w;
  w.rows = s.tg * s.tm;
  w.row_length = s.kind == Step::kSoftmax ? s.bc : layer.attention->cols;
  w.op = s.kind == Step::kSoftmax   ? arch::VectorOp::kOnlineSoftmax
         : s.kind == Step::kRescale ? arch::VectorOp::kRowScale
                                    : arch::VectorOp::kRowNormalize;
  return w;
}

bool attention_fits(const MapContext& context, const Layer& layer, const Mapping& mapping,
                    const LayerTypes& types) {
  const Step full{Step::kScores, 0, mapping.tg, 0, mapping.tm, 0, mapping.tn, 0, 0};
  const AttentionTileBytes b = attention_bytes(full, layer, types);
  // Nothing of the layer is staged in place: its operands are all in DRAM
  // and its output tiles are staged before they go home.
  MapContext staged = context;
  staged.input_resident = staged.weight_resident = staged.output_resident = false;
  staged.residual_resident = true;
  return fits(staged, TileBytes{b.query + b.probs, b.key + b.value, b.scores + b.output, 0});
}

AttentionCounts attention_counts(const MapContext& context, const Layer& layer,
                                 const Mapping& mapping) {
  const LayerTypes types = layer_types(layer, context.config);
  AttentionCounts c;
  c.instructions = 1;  // the barrier
  for_each_attention_class(layer, mapping, [&](const Step& s, std::uint64_t count) {
    const std::uint64_t bytes = count * dram_step_bytes(s, attention_bytes(s, layer, types));
    switch (s.kind) {
      case Step::kLoadQuery:
        c.dram_bytes += bytes;
        c.instructions += count * hops(context, Operand::kInput);
        break;
      case Step::kLoadKey:
      case Step::kLoadValue:
        c.dram_bytes += bytes;
        c.instructions += count * hops(context, Operand::kWeight);
        break;
      case Step::kStore:
        if (!context.output_resident) {
          c.dram_bytes += bytes;
          c.dram_write_bytes += bytes;
        }
        c.instructions += count * store_instructions(context);
        break;
      default:
        c.instructions += count;
    }
  });
  return c;
}

namespace {

// Two staging slots of one role, taken in turn: when each is free (its
// occupant's last reader is done).
struct SlotPair {
  std::array<std::uint64_t, 2> free{};
  int turn = 1;
  // The next slot: returns when it is free.
  std::uint64_t take() {
    turn ^= 1;
    return free[static_cast<std::size_t>(turn)];
  }
  void read(std::uint64_t done, int slot) {
    auto& f = free[static_cast<std::size_t>(slot)];
    f = std::max(f, done);
  }
  void read(std::uint64_t done) { read(done, turn); }
};

// The units of sim/ as a list schedule: each step starts when its inputs
// are there, its slot is free and its unit is.
class UnitSchedule {
 public:
  UnitSchedule(const MapContext& context, const Layer& layer)
      : m_context(context),
        m_config(context.config),
        m_layer(layer),
        m_types(layer_types(layer, context.config)),
        m_channels(context.config.dma.channels, 0),
        m_channel_rate(Rate::bytes_per_cycle(context.config.dma.bytes_per_cycle)) {}

  void play(const Step& s) {
    const AttentionTileBytes b = attention_bytes(s, m_layer, m_types);
    const std::size_t j = s.block % 2;  // two blocks are in flight at once
    switch (s.kind) {
      case Step::kLoadQuery:
        m_query = load(b.query, Operand::kInput, m_q.take());
        break;
      case Step::kLoadKey:
        m_key = load(b.key, Operand::kWeight, m_k.take());
        break;
      case Step::kLoadValue:
        m_value = load(b.value, Operand::kWeight, m_v.take());
        break;
      case Step::kScores: {
        const std::uint64_t free = m_s.take();
        m_s_slot[j] = m_s.turn;
        m_scores[j] = array(gemm(scores_shape(s, m_layer)), std::max({m_query, m_key, free}));
        m_q.read(m_scores[j]);
        m_k.read(m_scores[j]);
        break;
      }
      case Step::kSoftmax:
        m_scores[j] = vector(s, m_scores[j]);
        break;
      case Step::kRescale:
        m_output = vector(s, m_output);
        break;
      case Step::kMoveProbs:
        m_probs = transfer(b.probs, std::max(m_scores[j], m_p.take()), false);
        m_s.read(m_probs, m_s_slot[j]);
        break;
      case Step::kContext:
        if (s.block == 0) m_output = m_o.take();
        m_output = array(gemm(context_shape(s, m_layer)), std::max({m_probs, m_value, m_output}));
        m_p.read(m_output);
        m_v.read(m_output);
        break;
      case Step::kNormalize:
        m_output = vector(s, m_output);
        break;
      case Step::kStore: {
        // store_instructions: MOVEs, then a STORE unless it goes home.
        std::uint64_t at = m_output;
        const std::uint64_t n = store_instructions(m_context);
        for (std::uint64_t h = m_context.output_resident ? 0 : 1; h < n; ++h)
          at = transfer(b.output, at, false);
        m_store_start = at;
        if (!m_context.output_resident) at = transfer(b.output, at, true);
        m_o.read(at);
        m_end = std::max(m_end, at);
        break;
      }
    }
    m_end = std::max({m_end, m_array, m_vector});
  }

  // The layer's end and what the next layer may overlap (Mapping's tail_*
  // figures): the last context GEMM ends the array's work; the DMA has no
  // load left after the last K or V tile is in; the last output tile's
  // normalization and MOVEs out come before its store.
  AttentionSchedule result() const {
    AttentionSchedule r;
    r.cycles = m_end;
    r.tail_drain_cycles = m_end - std::min(m_end, m_array);
    r.tail_bus_free_cycles = m_context.output_resident ? r.tail_drain_cycles
                                                       : std::min(m_end, m_store_start) -
                                                             std::min(m_store_start, m_array);
    r.tail_compute_cycles = m_array - std::min(m_array, m_last_load);
    return r;
  }

 private:
  std::uint64_t gemm(const arch::GemmShape& g) const {
    return arch::gemm_cycles(m_config.array, g, true, m_types.rate).count();
  }
  std::uint64_t array(std::uint64_t cycles, std::uint64_t ready) {
    return m_array = std::max(m_array, ready) + cycles;
  }
  std::uint64_t vector(const Step& s, std::uint64_t ready) {
    return m_vector =
               std::max(m_vector, ready) +
               arch::vector_cycles(m_config.vector, attention_vector_work(s, m_layer)).count();
  }
  // A DMA transfer on the channel free first: setup, the bytes at the
  // channel's rate and, to or from DRAM, on the bus (first come first
  // served) and the latency, which holds no channel.
  std::uint64_t transfer(std::uint64_t bytes, std::uint64_t ready, bool dram) {
    auto c = std::min_element(m_channels.begin(), m_channels.end());
    const std::uint64_t start = std::max(*c, ready) + m_config.dma.setup_cycles;
    std::uint64_t done = start + m_channel_rate.time_for(bytes).count();
    if (!dram) return *c = done;
    m_bus = std::max(m_bus, start) + m_config.dram.rate.time_for(bytes).count();
    *c = std::max(done, m_bus);
    return *c + m_config.dram.latency_cycles.count();
  }
  // A LOAD into the first buffer on the path, then its MOVEs inwards.
  std::uint64_t load(std::uint64_t bytes, Operand op, std::uint64_t ready) {
    std::uint64_t at = transfer(bytes, ready, true);
    for (std::uint64_t h = 1; h < hops(m_context, op); ++h) at = transfer(bytes, at, false);
    m_last_load = std::max(m_last_load, at);
    return at;
  }

  const MapContext& m_context;
  const arch::Config& m_config;
  const Layer& m_layer;
  const LayerTypes m_types;
  std::vector<std::uint64_t> m_channels;  // when each is free
  const Rate m_channel_rate;
  std::uint64_t m_bus = 0, m_array = 0, m_vector = 0, m_end = 0;
  std::uint64_t m_last_load = 0, m_store_start = 0;
  // When the current tiles are there: S_j (then P_j, after its softmax) per
  // block parity.
  std::uint64_t m_query = 0, m_key = 0, m_value = 0, m_probs = 0, m_output = 0;
  std::array<std::uint64_t, 2> m_scores{};
  std::array<int, 2> m_s_slot{};
  SlotPair m_q, m_k, m_v, m_s, m_p, m_o;
};

}  // namespace

AttentionWork attention_work(const arch::Config& config, const Layer& layer,
                             const Mapping& mapping) {
  const LayerTypes types = layer_types(layer, config);
  AttentionWork out;
  for_each_attention_class(layer, mapping, [&](const Step& s, std::uint64_t count) {
    out.dram_bytes += count * dram_step_bytes(s, attention_bytes(s, layer, types));
    switch (s.kind) {
      case Step::kScores:
        out.array_cycles +=
            count *
            arch::gemm_cycles(config.array, scores_shape(s, layer), true, types.rate).count();
        break;
      case Step::kContext:
        out.array_cycles +=
            count *
            arch::gemm_cycles(config.array, context_shape(s, layer), true, types.rate).count();
        break;
      case Step::kSoftmax:
      case Step::kRescale:
      case Step::kNormalize:
        out.vector_cycles +=
            count * arch::vector_cycles(config.vector, attention_vector_work(s, layer)).count();
        break;
      default:
        break;
    }
  });
  return out;
}

AttentionSchedule attention_schedule(const MapContext& context, const Layer& layer,
                                     const Mapping& mapping) {
  UnitSchedule schedule(context, layer);
  walk_attention(layer, mapping, [&](const Step& s) { schedule.play(s); });
  return schedule.result();
}

Mapping map_attention(const Layer& layer, const MapContext& context) {
  const arch::Config& config = context.config;
  const LayerTypes types = layer_types(layer, config);
  const std::uint64_t side = std::max(config.array.rows, config.array.cols);
  struct Candidate {
    std::uint64_t bound;
    Mapping mapping;
  };
  std::vector<Candidate> all;
  for (auto tg : tile_candidates(layer.batch, 1))
    for (auto tm : tile_candidates(layer.m, config.array.rows))
      for (auto bc : tile_candidates(layer.n, side)) {
        Mapping m;
        m.tm = tm;
        m.tn = bc;
        m.tk = layer.k;
        m.tg = tg;
        m.order = "gmj";
        if (!attention_fits(context, layer, m, types)) continue;
        // The busiest unit's work bounds the cycles from below.
        const AttentionWork work = attention_work(config, layer, m);
        const auto bus = static_cast<std::uint64_t>(static_cast<double>(work.dram_bytes) /
                                                    bus_bytes_per_cycle(config));
        all.push_back({std::max({work.array_cycles, work.vector_cycles, bus}), m});
      }
  if (all.empty()) {
    Mapping m;
    m.tm = std::min<std::uint64_t>(layer.m, config.array.rows);
    m.tn = std::min(layer.n, side);
    m.tk = layer.k;
    m.tg = 1;
    const Step s{Step::kScores, 0, 1, 0, m.tm, 0, m.tn, 0, 0};
    const AttentionTileBytes b = attention_bytes(s, layer, types);
    throw InputError(fmt::format(
        "layer \"{}\": fused attention fits no buffers of \"{}\": a {}-row query tile with a "
        "{}-position KV block needs {} B of inputs, {} B of weights and {} B of outputs per slot "
        "(schedule.fusion: none lowers its scores, softmax and context apart)",
        layer.name, config.name, m.tm, m.tn, b.query + b.probs, b.key + b.value,
        b.scores + b.output));
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const Candidate& a, const Candidate& b) { return a.bound < b.bound; });
  std::optional<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>> best_key;
  Mapping best;
  for (Candidate& c : all) {
    if (best_key && c.bound > std::get<0>(*best_key)) break;
    Mapping& m = c.mapping;
    const AttentionCounts counts = attention_counts(context, layer, m);
    const AttentionSchedule schedule = attention_schedule(context, layer, m);
    m.estimated_cycles = schedule.cycles;
    m.tail_compute_cycles = schedule.tail_compute_cycles;
    m.tail_drain_cycles = schedule.tail_drain_cycles;
    m.tail_bus_free_cycles = schedule.tail_bus_free_cycles;
    m.dram_bytes = counts.dram_bytes;
    m.dram_write_bytes = counts.dram_write_bytes;
    m.instructions = counts.instructions;
    const auto key = std::make_tuple(m.estimated_cycles, m.dram_bytes, m.instructions);
    if (!best_key || key < *best_key) best_key = key, best = m;
  }
  // Its first K and V blocks, in DRAM (a KV cache), load as soon as their
  // slots are free (Mapping::first_weight_bus_cycles).
  const Step first{Step::kLoadKey,
                   0,
                   std::min(best.tg, layer.batch),
                   0,
                   std::min(best.tm, layer.m),
                   0,
                   std::min(best.tn, layer.n),
                   0,
                   0};
  const AttentionTileBytes b = attention_bytes(first, layer, types);
  const double bus = bus_bytes_per_cycle(config);
  best.first_weight_bus_cycles = static_cast<std::uint64_t>(std::ceil(b.key / bus));
  best.second_weight_bus_cycles = static_cast<std::uint64_t>(std::ceil(b.value / bus));
  return best;
}

namespace {

// Whether layer x of `w` is the row softmax of S's whole output.
bool softmax_of(const Workload& w, std::size_t x, std::size_t s) {
  const Layer& X = w.layers[x];
  const Layer& S = w.layers[s];
  return X.kind == LayerKind::kVector && X.work.op == arch::VectorOp::kSoftmax &&
         X.inputs == std::vector<std::size_t>{s} && X.work.row_length == S.n &&
         X.work.rows == S.batch * S.m && X.dtype == S.dtype;
}

// Attention found from a scores GEMM: its members (S, its softmax layer
// unless S's epilogue is the softmax, C) and the fused layer.
struct Found {
  std::vector<std::size_t> members;
  Layer layer;
};

std::optional<Found> find_attention(const Workload& w,
                                    const std::vector<std::vector<std::size_t>>& readers,
                                    std::size_t s) {
  const Layer& S = w.layers[s];
  if (S.kind != LayerKind::kGemm || S.residual || S.attention ||
      S.second == OperandSource::kParameters || readers[s].size() != 1)
    return std::nullopt;
  std::vector<std::size_t> members{s};
  if (!S.fused) {
    const std::size_t x = readers[s][0];
    if (!softmax_of(w, x, s) || readers[x].size() != 1) return std::nullopt;
    members.push_back(x);
  } else if (S.fused->op != arch::VectorOp::kSoftmax || S.fused->row_length != S.n) {
    return std::nullopt;
  }
  const std::size_t c = readers[members.back()][0];
  const Layer& C = w.layers[c];
  const bool context = C.kind == LayerKind::kGemm && !C.fused && !C.residual && !C.attention &&
                       !C.inputs.empty() && C.inputs[0] == members.back() && C.m == S.m &&
                       C.k == S.n && C.batch == S.batch && C.second != OperandSource::kParameters &&
                       (C.second == OperandSource::kExternal || C.second_producer < s) &&
                       C.dtype == S.dtype && C.weight_dtype == S.weight_dtype;
  if (!context) return std::nullopt;
  for (std::size_t i = 1; i < C.inputs.size(); ++i)
    if (C.inputs[i] >= s) return std::nullopt;
  members.push_back(c);
  Found out{members, S};
  out.layer.fused.reset();
  out.layer.attention = Layer::Attention{C.second, C.second_producer, C.n};
  out.layer.inputs.insert(out.layer.inputs.end(), C.inputs.begin() + 1, C.inputs.end());
  return out;
}

}  // namespace

std::vector<Fused> attention_candidates(const Fused& base, const arch::Config& config,
                                        const IMapper& mapper) {
  const Workload& w = base.workload;
  const auto readers = readers_of(w);
  const std::size_t n = w.layers.size();
  std::vector<std::size_t> head(n);
  std::vector<Layer> merged(n);
  for (std::size_t i = 0; i < n; ++i) head[i] = i;
  bool any = false;
  for (std::size_t s = 0; s < n; ++s) {
    std::optional<Found> f = find_attention(w, readers, s);
    if (!f) continue;
    const MapContext context(config);
    std::uint64_t fused_cycles = 0;
    try {
      fused_cycles = mapper.map(f->layer, context).estimated_cycles;
    } catch (const InputError&) {
      continue;  // no tile fits: the layers stay apart
    }
    std::uint64_t apart = 0;
    for (auto m : f->members) apart += map_alone(w, m, config, mapper).estimated_cycles;
    if (fused_cycles > apart) continue;
    for (auto m : f->members) head[m] = s;
    merged[s] = std::move(f->layer);
    any = true;
  }
  if (!any) return {};
  Fused out = merge_groups(w, head, merged);
  // Groups of the original workload's layers.
  for (auto& g : out.groups) {
    std::vector<std::size_t> original;
    for (auto member : g)
      original.insert(original.end(), base.groups[member].begin(), base.groups[member].end());
    std::sort(original.begin(), original.end());
    g = std::move(original);
  }
  return {out};
}

}  // namespace tessel::workloads
