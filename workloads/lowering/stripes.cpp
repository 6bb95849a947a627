#include "workloads/lowering/stripes.h"

#include <algorithm>
#include <bit>
#include <map>
#include <optional>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>

#include "arch/error.h"
#include "workloads/lowering/layer_types.h"
#include "workloads/lowering/mapper.h"
#include "workloads/lowering/mapping_cost.h"
#include "workloads/lowering/residency.h"
#include "workloads/lowering/schedule.h"

namespace tessel::workloads {

namespace {

bool stripeable(const Layer& l) {
  return l.kind == LayerKind::kConv2d && !l.scalesim_semantics && !l.output_slice &&
         l.input_row0 == 0 && l.out_h > 1;
}

// The input rows a convolution's output rows [o0, o1) read, clipped to its
// input (rows outside are padding).
std::pair<std::uint64_t, std::uint64_t> window_rows(const Layer& l, std::uint64_t o0,
                                                    std::uint64_t o1) {
  const std::int64_t lo = static_cast<std::int64_t>(o0 * l.stride_h) - l.pad_h;
  const std::int64_t hi =
      static_cast<std::int64_t>((o1 - 1) * l.stride_h + l.dilation_h * (l.kernel_h - 1) + 1) -
      static_cast<std::int64_t>(l.pad_h);
  const auto clip = [&](std::int64_t r) {
    return static_cast<std::uint64_t>(std::clamp<std::int64_t>(r, 0, l.in_h));
  };
  return {clip(lo), clip(hi)};
}

// Member `l` on the rows `r` of one stripe (its edges left as they are).
Layer stripe_layer(const Layer& l, const StripeRows& r, bool first_member) {
  Layer out = l;
  out.name = fmt::format("{}@r{}-{}", l.name, r.out0, r.out1);
  out.input_row0 = first_member ? r.in0 : 0;
  out.in_h = r.in1 - r.in0;
  out.out_h = r.out1 - r.out0;
  return out;
}

std::uint64_t output_bytes(const Layer& l, const arch::Config& config, std::uint64_t rows) {
  return bytes_for(l.batch * rows * l.output_row_elements(), layer_types(l, config).activation);
}

}  // namespace

std::vector<std::vector<StripeRows>> stripe_rows(const Workload& w, const StripedChain& striped) {
  const auto& chain = striped.chain;
  if (chain.empty() || striped.rows == 0) throw std::logic_error("stripe_rows: empty chain");
  for (std::size_t j = 0; j < chain.size(); ++j) {
    const Layer& l = w.layers.at(chain[j]);
    if (l.kind != LayerKind::kConv2d ||
        (j > 0 && (l.inputs != std::vector<std::size_t>{chain[j - 1]} ||
                   w.layers[chain[j - 1]].out_h != l.in_h)))
      throw std::logic_error("stripe_rows: not a chain of convolutions: " + l.name);
  }
  const std::uint64_t out_h = w.layers[chain.back()].out_h;
  std::vector<std::vector<StripeRows>> out;
  for (std::uint64_t a = 0; a < out_h; a += striped.rows) {
    std::vector<StripeRows> s(chain.size());
    std::uint64_t o0 = a, o1 = std::min(out_h, a + striped.rows);
    for (std::size_t j = chain.size(); j-- > 0;) {
      const auto [i0, i1] = window_rows(w.layers[chain[j]], o0, o1);
      s[j] = {o0, o1, i0, i1};
      o0 = i0, o1 = i1;
    }
    out.push_back(std::move(s));
  }
  return out;
}

Fused stripe_chains(const Fused& base, const std::vector<StripedChain>& chains) {
  const Workload& w = base.workload;
  const std::size_t n = w.layers.size();
  // Per layer: the index of its chain, or -1.
  std::vector<int> chain_of(n, -1);
  for (std::size_t c = 0; c < chains.size(); ++c) {
    for (auto l : chains[c].chain) {
      if (chain_of.at(l) >= 0) throw std::logic_error("stripe_chains: chains share a layer");
      chain_of[l] = static_cast<int>(c);
    }
  }
  Fused out;
  out.workload.name = w.name;
  out.workload.skipped = w.skipped;
  // Per original layer: the new layer that completes its tensor (a chain's
  // last stripe of its last member), and its first new layer (the owner of
  // its weights).
  std::vector<std::size_t> done(n, 0), first(n, 0);
  auto renumber = [&](Layer& l) {
    for (auto& p : l.inputs) p = done[p];
    if (l.on_array() && l.second == OperandSource::kProducer)
      l.second_producer = done[l.second_producer];
    if (l.residual) l.residual->producer = done[l.residual->producer];
    if (l.weights_of) l.weights_of = first[*l.weights_of];
  };
  auto push = [&](Layer l, std::size_t original) {
    out.workload.layers.push_back(std::move(l));
    out.groups.push_back(base.groups[original]);
    return out.workload.layers.size() - 1;
  };
  for (std::size_t i = 0; i < n; ++i) {
    if (chain_of[i] < 0) {
      Layer l = w.layers[i];
      renumber(l);
      first[i] = done[i] = push(std::move(l), i);
      continue;
    }
    const StripedChain& c = chains[chain_of[i]];
    if (i != c.chain.back()) continue;  // striped at the last member
    const auto rows = stripe_rows(w, c);
    std::vector<std::size_t> previous(c.chain.size());
    for (std::size_t s = 0; s < rows.size(); ++s) {
      for (std::size_t j = 0; j < c.chain.size(); ++j) {
        const std::size_t m = c.chain[j];
        const StripeRows& r = rows[s][j];
        Layer l = stripe_layer(w.layers[m], r, j == 0);
        const bool owns_weights = !l.weights_of;
        renumber(l);
        if (j > 0) l.inputs = {previous[j - 1]};
        if (l.residual) {
          // The skip tensor's row where this stripe's rows start: of the
          // whole tensor, or, read from an earlier member, of its stripe.
          const auto skip =
              std::find(c.chain.begin(), c.chain.begin() + j, w.layers[m].residual->producer);
          l.residual->row0 =
              r.out0 - (skip == c.chain.begin() + j ? 0 : rows[s][skip - c.chain.begin()].out0);
        }
        if (owns_weights && s > 0) l.weights_of = first[m];
        if (j + 1 == c.chain.size()) {
          l.output_slice = Layer::RowSlice{s == 0 ? out.workload.layers.size() : first[m], r.out0,
                                           w.layers[m].out_h};
        }
        previous[j] = push(std::move(l), m);
        if (s == 0) first[m] = previous[j];
        done[m] = previous[j];
      }
    }
  }
  return out;
}

namespace {

// Maximal chains of convolutions, each reading only the one before. With
// `skips`, a member's tensor may also be read by a later member's fused
// residual add on the same rows (an identity block's skip), so a chain runs
// through residual blocks; without, each member is the only reader of the
// one before. Either way nothing outside reads a member but the last. With
// `off_chip`, only links whose tensors cannot stay on chip layer at a time
// (resident buffer `rb`).
std::vector<std::vector<std::size_t>> conv_chains(const Workload& w, const arch::Config& config,
                                                  int rb, bool off_chip, bool skips) {
  const std::uint64_t capacity = config.sram[rb].capacity_bytes;
  const auto readers = readers_of(w);
  auto links = [&](std::size_t l, std::size_t r) {
    const Layer& b = w.layers[r];
    return stripeable(b) && b.inputs == std::vector<std::size_t>{l} &&
           b.in_h == w.layers[l].out_h && !(b.residual && b.residual->producer == l);
  };
  auto skip_reader = [&](std::size_t l, std::size_t r) {
    const Layer& b = w.layers[r];
    return skips && stripeable(b) && b.residual && b.residual->producer == l &&
           b.out_h == w.layers[l].out_h;
  };
  // The next member after l: its one linked reader, when every other
  // reader reads l through a residual add only.
  auto next = [&](std::size_t l) -> std::optional<std::size_t> {
    const Layer& a = w.layers[l];
    if (!stripeable(a)) return std::nullopt;
    std::optional<std::size_t> link;
    for (auto r : readers[l]) {
      if (links(l, r) && !link) {
        link = r;
      } else if (!skip_reader(l, r)) {
        return std::nullopt;
      }
    }
    if (!link) return std::nullopt;
    const std::uint64_t in =
        bytes_for(a.batch * a.in_h * a.input_row_elements(), layer_types(a, config).activation);
    if (off_chip && in + output_bytes(a, config, a.out_h) <= capacity / 2) return std::nullopt;
    return link;
  };
  // Whether chain[0, p) is a chain: every member but the last read inside
  // it only, and every skip read on rows its producer computes (stride 1
  // from the producer to the reader, so the reader's rows lie within the
  // producer's in every stripe).
  auto valid = [&](const std::vector<std::size_t>& chain, std::size_t p) {
    for (std::size_t i = 0; i + 1 < p; ++i) {
      for (auto r : readers[chain[i]]) {
        const auto at = static_cast<std::size_t>(std::find(chain.begin(), chain.begin() + p, r) -
                                                 chain.begin());
        if (at >= p) return false;
        for (std::size_t q = i + 1; q <= at; ++q)
          if (skip_reader(chain[i], r) && w.layers[chain[q]].stride_h != 1) return false;
      }
    }
    return true;
  };
  std::vector<std::vector<std::size_t>> out;
  std::vector<bool> taken(w.layers.size(), false);
  for (std::size_t l = 0; l < w.layers.size(); ++l) {
    if (taken[l]) continue;
    std::vector<std::size_t> chain{l};
    for (auto r = next(l); r; r = next(*r)) chain.push_back(*r);
    std::size_t p = chain.size();
    while (p >= 2 && !valid(chain, p)) --p;
    if (p < 2) continue;
    chain.resize(p);
    for (auto m : chain) taken[m] = true;
    out.push_back(std::move(chain));
  }
  return out;
}

// The most a stripe keeps live between members at once: while member j
// runs, its output stripe and every earlier member's that j or a later
// member still reads (as its input or its residual add's skip).
// `rows`: stripe_rows(w, c).
std::uint64_t live_bytes(const Workload& w, const StripedChain& c,
                         const std::vector<std::vector<StripeRows>>& rows,
                         const arch::Config& config) {
  const std::size_t n = c.chain.size();
  std::vector<std::size_t> last_read(n, 0);  // per member: its last reader's position
  for (std::size_t k = 1; k < n; ++k) {
    last_read[k - 1] = std::max(last_read[k - 1], k);
    const Layer& l = w.layers[c.chain[k]];
    if (!l.residual) continue;
    const auto at = std::find(c.chain.begin(), c.chain.begin() + k, l.residual->producer);
    if (at != c.chain.begin() + k) last_read[at - c.chain.begin()] = k;
  }
  std::uint64_t most = 0;
  for (const auto& s : rows) {
    for (std::size_t j = 0; j + 1 < n; ++j) {
      std::uint64_t b = 0;
      for (std::size_t i = 0; i <= j; ++i) {
        if (i == j || last_read[i] >= j)
          b += output_bytes(w.layers[c.chain[i]], config, s[i].out1 - s[i].out0);
      }
      most = std::max(most, b);
    }
  }
  return most;
}

// Expected cycles of `c` striped, each stripe layer mapped on its own: the
// tensors between members resident in the first `share` bytes of buffer
// `rb` (the rest stages tiles), and the weights, with
// schedule.weights_resident, loaded whole by the first stripe and resident
// for the others; nullopt when some stripe layer maps nowhere. `rows`:
// stripe_rows(w, c).
std::optional<std::uint64_t> striped_cycles(const Workload& w, const StripedChain& c,
                                            const std::vector<std::vector<StripeRows>>& rows,
                                            const arch::Config& config, const IMapper& mapper,
                                            int rb, std::uint64_t share) {
  const auto& buffer = config.sram[rb];
  std::uint64_t total = 0;
  // Stripes of one member with the same rows in and out map alike.
  std::map<std::tuple<std::size_t, std::uint64_t, std::uint64_t>, std::uint64_t> mapped;
  for (std::size_t s = 0; s < rows.size(); ++s) {
    for (std::size_t j = 0; j < c.chain.size(); ++j) {
      const Layer& member = w.layers[c.chain[j]];
      const StripeRows& r = rows[s][j];
      const auto key = std::make_tuple(j, r.out1 - r.out0, r.in1 - r.in0);
      const bool shared = config.schedule.weights_resident && !member.weights_of;
      auto hit = mapped.find(key);
      if (hit == mapped.end()) {
        MapContext context(config);
        context.tile_budget_bytes[rb] = (buffer.capacity_bytes - share) / buffer.slots();
        context.resident_buffer = rb;
        context.input_resident = j > 0;
        context.output_resident = j + 1 < c.chain.size();
        context.residual_resident =
            member.residual && std::find(c.chain.begin(), c.chain.begin() + j,
                                         member.residual->producer) != c.chain.begin() + j;
        context.weight_resident = shared;
        try {
          hit = mapped
                    .emplace(key,
                             mapper.map(stripe_layer(member, r, j == 0), context).estimated_cycles)
                    .first;
        } catch (const InputError&) {
          return std::nullopt;
        }
      }
      total += hit->second;
      if (shared && s == 0)
        total += transfer_cycles(
            config, bytes_for(member.weight_elements(), layer_types(member, config).weight));
    }
  }
  return total;
}

}  // namespace

std::vector<Fused> stripe_candidates(const Fused& base, const arch::Config& config) {
  const Workload& w = base.workload;
  const int rb = resident_buffer(config);
  if (rb < 0) return {};
  const auto chains = conv_chains(w, config, rb, true, true);
  if (chains.empty()) return {};
  const std::uint64_t share = config.sram[rb].capacity_bytes / 2;
  const auto mapper = make_mapper(config.schedule.mapper, config.source);
  // A chain's members apart, each mapped on its own at the whole buffers,
  // its tensors through DRAM (a link's tensors do not fit half the
  // buffer); and striped in its best height, when that is faster.
  // Each layer mapped on its own once (a chain and its blocks share them).
  std::vector<std::optional<std::uint64_t>> alone_cycles(w.layers.size());
  auto alone = [&](std::size_t m) {
    if (!alone_cycles[m]) alone_cycles[m] = map_alone(w, m, config, *mapper).estimated_cycles;
    return *alone_cycles[m];
  };
  auto apart = [&](const std::vector<std::size_t>& chain) {
    std::uint64_t cycles = 0;
    for (auto m : chain) cycles += alone(m);
    return cycles;
  };
  auto best_striped = [&](const std::vector<std::size_t>& chain)
      -> std::optional<std::pair<std::uint64_t, std::uint64_t>> {  // (cycles, rows)
    std::optional<std::pair<std::uint64_t, std::uint64_t>> best;
    const std::uint64_t out_h = w.layers[chain.back()].out_h;
    for (std::uint64_t rows = std::bit_floor(out_h - 1); rows >= 1; rows /= 2) {
      const StripedChain c{chain, rows};
      const auto rows_of = stripe_rows(w, c);
      if (live_bytes(w, c, rows_of, config) > share) continue;
      const auto cycles = striped_cycles(w, c, rows_of, config, *mapper, rb, share);
      if (cycles && (!best || *cycles < best->first)) best = std::make_pair(*cycles, rows);
    }
    return best;
  };
  // The better of a chain apart and striped: its expected cycles, and the
  // stripe height when striped.
  struct Priced {
    std::uint64_t cycles;
    std::optional<std::uint64_t> rows;
  };
  auto price = [&](const std::vector<std::size_t>& chain) -> Priced {
    const std::uint64_t alone = apart(chain);
    const auto best = best_striped(chain);
    if (best && best->first < alone) return {best->first, best->second};
    return {alone, std::nullopt};
  };
  // The chains without skips (each block of a chain through residual
  // blocks), priced once.
  const auto simple = conv_chains(w, config, rb, true, false);
  std::vector<Priced> simple_priced;
  std::vector<StripedChain> blocks;
  for (const auto& s : simple) {
    simple_priced.push_back(price(s));
    if (simple_priced.back().rows) blocks.push_back({s, *simple_priced.back().rows});
  }
  // A chain through residual blocks is striped whole, or as its blocks,
  // whichever is expected faster.
  std::vector<StripedChain> striped;
  for (const auto& chain : chains) {
    std::vector<StripedChain> parts;
    std::uint64_t parts_cycles = 0;
    std::vector<bool> covered(chain.size(), false);
    bool is_block = false;
    for (std::size_t k = 0; k < simple.size(); ++k) {
      if (std::find(chain.begin(), chain.end(), simple[k].front()) == chain.end()) continue;
      is_block = is_block || simple[k] == chain;
      parts_cycles += simple_priced[k].cycles;
      if (simple_priced[k].rows) parts.push_back({simple[k], *simple_priced[k].rows});
      for (auto m : simple[k])
        covered[std::find(chain.begin(), chain.end(), m) - chain.begin()] = true;
    }
    if (!is_block) {
      for (std::size_t i = 0; i < chain.size(); ++i)
        if (!covered[i]) parts_cycles += alone(chain[i]);
      const Priced whole = price(chain);
      if (whole.rows && whole.cycles <= parts_cycles) {
        striped.push_back({chain, *whole.rows});
        continue;
      }
    }
    striped.insert(striped.end(), parts.begin(), parts.end());
  }
  auto same = [](const std::vector<StripedChain>& a, const std::vector<StripedChain>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
      return x.chain == y.chain && x.rows == y.rows;
    });
  };
  std::vector<Fused> out;
  if (!striped.empty()) out.push_back(stripe_chains(base, striped));
  if (!blocks.empty() && !same(blocks, striped)) out.push_back(stripe_chains(base, blocks));
  return out;
}

Fused requested_stripes(const Fused& candidate, const arch::Config& config) {
  const std::uint64_t rows = config.schedule.stripe_rows;
  const Workload& w = candidate.workload;
  auto fail = [&](const std::string& what) {
    throw InputError(fmt::format("{}: arch.schedule.stripe_rows: {} rows per stripe: {}",
                                 config.source, rows, what));
  };
  const int rb = resident_buffer(config);
  if (rb < 0)
    fail(
        fmt::format("\"{}\" has no buffer that holds tensors between layers (docs/mapping.md, "
                    "residency), so stripes cannot stay on chip",
                    config.name));
  const auto chains = conv_chains(w, config, rb, false, false);
  if (chains.empty())
    fail(
        fmt::format("workload \"{}\" has no chain of convolutions to stripe (each the only "
                    "reader of the one before)",
                    w.name));
  std::vector<StripedChain> striped;
  const auto& buffer = config.sram[rb];
  for (const auto& chain : chains) {
    const StripedChain c{chain, std::min(rows, w.layers[chain.back()].out_h)};
    const std::uint64_t need = live_bytes(w, c, stripe_rows(w, c), config);
    if (need > buffer.capacity_bytes)
      fail(
          fmt::format("layer \"{}\": its stripe's tensors between members need {} B at once in "
                      "buffer \"{}\", which has {} B",
                      w.layers[chain.front()].name, need, buffer.name, buffer.capacity_bytes));
    striped.push_back(c);
  }
  return stripe_chains(candidate, striped);
}

}  // namespace tessel::workloads
