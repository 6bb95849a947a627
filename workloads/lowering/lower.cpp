#include "workloads/lowering/lower.h"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "arch/dataflow.h"
#include "arch/error.h"
#include "arch/vector.h"
#include "workloads/lowering/attention.h"
#include "workloads/lowering/emitter.h"
#include "workloads/lowering/mapping_cost.h"
#include "workloads/lowering/residency.h"
#include "workloads/lowering/schedule.h"

namespace tessel::workloads {

namespace {

using arch::Operand;

// The tile key of a consumer's in-place reads of a resident tensor: its
// producer's tiles are not the consumer's, so the order comes from the
// producer's barrier, not from per-tile hazards.
constexpr std::uint64_t kConsumerTile = UINT64_MAX;
// The first of the two regions input blocks alternate between (Mapping::
// block_m); weight blocks' are the two below (trace.h, kFirstBlockRegion).
constexpr std::uint32_t kBlockRegion = kFirstBlockRegion + 2;
// No dependencies.
const std::vector<std::uint32_t> kNone;

// Lowers one workload; one instance per lower() call.
class Lowerer {
 public:
  Lowerer(const Workload& workload, const arch::Config& config, Lowered& out)
      : m_workload(workload),
        m_config(config),
        m_out(out),
        m_em(config, out.trace),
        m_in_path(config.path(Operand::kInput)),
        m_w_path(config.path(Operand::kWeight)),
        m_out_path(config.path(Operand::kOutput)) {}

  void run() {
    Schedule schedule = plan_schedule(m_workload, m_config);
    m_out.workload = std::move(schedule.workload);
    m_out.groups = std::move(schedule.groups);
    m_out.mappings = std::move(schedule.mappings);
    // Each mapping counts its instructions exactly (mapping_cost.h), so the
    // trace is allocated once, not regrown (which held up to three times
    // its size at once).
    std::uint64_t instructions = 0;
    for (const Mapping& m : m_out.mappings) instructions += m.instructions;
    m_out.trace.instructions.reserve(instructions);
    m_out.residency = std::move(schedule.residency);
    const Workload& workload = m_out.workload;
    m_out.trace.workload = workload.name;
    m_input_base = allocate(0);
    for (const Layer& layer : workload.layers) {
      m_types.push_back(layer_types(layer, m_config));
      m_output_bytes.push_back(bytes_for(layer.tensor_elements(), m_types.back().activation));
    }
    m_weight_base.assign(workload.layers.size(), 0);
    m_weight_preload.assign(workload.layers.size(), 0);
    for (std::uint32_t li = 0; li < workload.layers.size(); ++li) {
      const Layer& layer = workload.layers[li];
      m_out.trace.layers.push_back(layer.name);
      m_li = li;
      // A stripe layer writes its rows of the tensor its first stripe owns.
      const auto& slice = layer.output_slice;
      m_output_base.push_back(
          slice && slice->tensor != li
              ? m_output_base[slice->tensor] +
                    bytes_for(slice->row0 * layer.output_row_elements(), m_types[li].activation)
              : allocate(m_output_bytes[li]));
      const Mapping& plan = m_out.mappings[li];
      const std::vector<std::uint32_t> finals =
          layer.attention    ? lower_attention(layer, plan, m_types[li])
          : layer.on_array() ? lower_gemm(layer, plan, m_types[li])
                             : lower_rows(layer, plan, m_types[li]);
      Instruction barrier;
      barrier.op = Opcode::kBarrier;
      barrier.layer = li;
      barrier.deps = finals.empty() ? producer_barriers(layer.inputs) : finals;
      // Readers of a striped tensor name its last stripe: its barrier
      // follows every earlier stripe's.
      if (slice && slice->tensor != li) barrier.deps.push_back(m_slice_barrier.at(slice->tensor));
      m_barrier.push_back(m_em.emit(std::move(barrier)));
      if (slice) m_slice_barrier[slice->tensor] = m_barrier.back();
    }
  }

 private:
  // Where a tensor lives when resident (its region, on the port of slot
  // region % slots), or nullopt when it lives in DRAM.
  std::optional<Location> home(std::size_t producer) const {
    if (m_out.residency.buffer < 0) return std::nullopt;
    const std::size_t t = m_out.residency.tensor_of[producer];
    if (!m_out.residency.resident(t)) return std::nullopt;
    return region_location(m_out.residency.home[t].region);
  }
  // A resident region, served by the port of slot region % slots.
  Location region_location(std::uint32_t region) const {
    const int b = m_out.residency.buffer;
    return Location{b, region % m_config.sram[b].slots(), region};
  }
  std::optional<Location> input_home(const Layer& layer, std::size_t which = 0) const {
    return layer.inputs.size() > which ? home(layer.inputs[which]) : std::nullopt;
  }
  // Barriers a write into this layer's resident output waits for: the last
  // readers of the tensors whose address range it reuses.
  std::vector<std::uint32_t> reuse_barriers() const {
    return barriers_of(m_out.residency.home[m_out.residency.tensor_of[m_li]].wait_layers);
  }
  std::vector<std::uint32_t> barriers_of(const std::vector<std::size_t>& layers) const {
    std::vector<std::uint32_t> out;
    for (auto l : layers) out.push_back(m_barrier[l]);
    return out;
  }

  std::uint64_t allocate(std::uint64_t bytes) {
    const std::uint64_t a = m_next_address;
    m_next_address += (bytes + 4095) / 4096 * 4096;
    return a;
  }

  std::vector<std::uint32_t> producer_barriers(const std::vector<std::size_t>& producers) const {
    std::vector<std::uint32_t> out;
    for (auto p : producers) out.push_back(m_barrier[p]);
    return out;
  }

  // Where the tensor layer p writes starts in DRAM (a striped tensor's
  // first row, not p's slice).
  std::uint64_t tensor_base(std::size_t p) const {
    const auto& slice = m_out.workload.layers[p].output_slice;
    return m_output_base[slice ? slice->tensor : p];
  }
  std::uint64_t input_address(const Layer& layer, std::size_t which = 0) const {
    const std::uint64_t base =
        layer.inputs.size() > which ? tensor_base(layer.inputs[which]) : m_input_base;
    return base +
           bytes_for(layer.input_row0 * layer.input_row_elements(), m_types[m_li].activation);
  }

  // DRAM (or the resident tensor `from`) -> path[0] -> ... -> path.back();
  // returns the innermost location. When nothing is emitted (a resident
  // tensor read in place), `after` goes to `reader_deps` instead.
  Location load_chain(const std::vector<std::size_t>& path, const Transfer& t,
                      const std::vector<std::uint32_t>& after,
                      std::optional<Location> from = std::nullopt,
                      std::vector<std::uint32_t>* reader_deps = nullptr) {
    Location at;
    std::size_t p = 1;
    if (from) {
      at = *from;
      if (path.size() > 1)
        at = m_em.fetch(m_li, t, at, static_cast<int>(path[1]), after), p = 2;
      else if (reader_deps)
        reader_deps->insert(reader_deps->end(), after.begin(), after.end());
    } else {
      at = m_em.fetch(m_li, t, std::nullopt, static_cast<int>(path[0]), after);
    }
    for (; p < path.size(); ++p) {
      at = m_em.fetch(m_li, t, at, static_cast<int>(path[p]), {});
    }
    return at;
  }

  // Innermost buffer -> ... -> path[0] -> DRAM, or into the resident tile
  // `to` (tile key `tile`) of path[0]; returns the last instruction.
  std::uint32_t store_chain(const std::vector<std::size_t>& path, Location at, const Transfer& t,
                            std::optional<Location> to = std::nullopt, std::uint64_t tile = 0) {
    for (std::size_t p = path.size() - 1; p > (to ? 1 : 0); --p) {
      at = m_em.fetch(m_li, t, at, static_cast<int>(path[p - 1]), {});
    }
    if (to) return m_em.fetch_to(m_li, t, at, *to, tile, reuse_barriers());
    return m_em.store(m_li, t, at);
  }

  // A VECTOR instruction reading `sources` (operands `source_ops`) and
  // writing `output` (operand kOutput, tile key `tile`); returns its id.
  std::uint32_t vector(const arch::VectorWork& work, const std::vector<Location>& sources,
                       const std::vector<Role>& source_ops, Location output, std::uint64_t in_bytes,
                       std::uint64_t out_bytes, std::uint64_t tile = 0,
                       const std::vector<std::uint32_t>& after = {},
                       Role out_role = Operand::kOutput) {
    Instruction v;
    v.op = Opcode::kVector;
    v.layer = m_li;
    v.work = work;
    v.sources = sources;
    v.output = output;
    v.in_bytes = in_bytes;
    v.out_bytes = out_bytes;
    v.deps = after;
    for (std::size_t s = 0; s < sources.size(); ++s) {
      m_em.read_deps(sources[s], source_ops[s], v.deps, tile);
    }
    m_em.write_deps(output, out_role, v.deps, tile);
    const auto id = m_em.emit(std::move(v));
    for (std::size_t s = 0; s < sources.size(); ++s) {
      m_em.did_read(sources[s], source_ops[s], id, tile);
    }
    m_em.did_write(output, out_role, id, tile);
    return id;
  }

  std::vector<std::uint32_t> lower_gemm(const Layer& layer, const Mapping& plan,
                                        const LayerTypes& types) {
    const arch::GemmShape g = layer.gemm();
    const std::uint64_t in_bits = bits(types.activation), w_bits = bits(types.weight);
    auto row_bytes = [](std::uint64_t elements, std::uint64_t b) {
      return ceil_div(elements * b, 8);
    };
    const std::uint64_t input_base = input_address(layer);
    const std::size_t owner = m_out.residency.weight_owner[m_li];
    if (layer.second != OperandSource::kProducer && owner == m_li)
      m_weight_base[m_li] = allocate(bytes_for(layer.weight_elements(), types.weight));
    const std::uint64_t weight_base = layer.second == OperandSource::kProducer
                                          ? tensor_base(layer.second_producer)
                                          : m_weight_base[owner];
    const std::uint64_t output_base = m_output_base[m_li];
    const std::vector<std::uint32_t> input_after = producer_barriers(layer.inputs);
    std::vector<std::uint32_t> weight_after = layer.second == OperandSource::kProducer
                                                  ? producer_barriers({layer.second_producer})
                                                  : std::vector<std::uint32_t>{};

    const std::optional<Location> in_home = input_home(layer);
    std::optional<Location> w_home =
        layer.second == OperandSource::kProducer ? home(layer.second_producer) : std::nullopt;
    const TensorHome* shared =
        layer.second == OperandSource::kProducer ? nullptr : m_out.residency.resident_weights(m_li);
    if (shared) {
      // Resident shared weights: the owner loads them whole into their
      // region once; every user reads them there.
      w_home = region_location(shared->region);
      if (owner == m_li) {
        const Transfer t{Operand::kWeight, g.k * g.batch, row_bytes(g.n, w_bits), weight_base,
                         row_bytes(g.n, w_bits)};
        m_weight_preload[m_li] =
            m_em.fetch_to(m_li, t, std::nullopt, *w_home, 0, barriers_of(shared->wait_layers));
      }
      weight_after = {m_weight_preload[owner]};
    }
    // A fused residual add reads the skip tensor's tile matching each output
    // tile: in place when resident, else loaded into the vector buffer with
    // the output tile's last k step (its producer's barrier first).
    std::optional<Location> res_home;
    std::uint64_t res_base = 0;
    std::vector<std::uint32_t> res_after;
    if (layer.residual) {
      res_home = home(layer.residual->producer);
      // The skip tensor's rows that match this layer's output rows.
      res_base = tensor_base(layer.residual->producer) +
                 bytes_for(layer.residual->row0 * layer.output_row_elements(), types.activation);
      res_after = {m_barrier[layer.residual->producer]};
    }
    const int vb = static_cast<int>(m_config.vector.buffer);
    const std::optional<Location> out_home = home(m_li);
    // A resident output written in place by the array (its buffer is the
    // array's output buffer) waits for the range it reuses to be free.
    const bool out_in_place = out_home && m_out_path.size() == 1;
    const std::vector<std::uint32_t> reuse =
        out_home ? reuse_barriers() : std::vector<std::uint32_t>{};
    std::vector<std::uint32_t> stores;
    const Extents count{ceil_div(g.m, plan.tm), ceil_div(g.n, plan.tn), ceil_div(g.k, plan.tk)};
    const std::uint64_t ng = ceil_div(g.batch, plan.tg);
    const char tdim = arch::dataflow_row(m_config.array.dataflow).temporal_dim;
    const bool k_inner = plan.order[2] == 'k';
    // Extra dependencies of the next GEMM: operands read in place.
    std::vector<std::uint32_t> gemm_after;
    std::optional<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>> in_resident, w_resident;
    std::map<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t>, std::uint32_t> partial_store;
    Location in_loc, w_loc, out_loc;
    const int ob = static_cast<int>(m_out_path.back());
    // A buffer that stages both operands holds each step's input and weight
    // tiles in one slot (ping-pong halves): the layer's first ones start in
    // the same slot, so while a step's GEMM reads one slot's port the next
    // step's loads fill the other's (they stay together while both change
    // every step).
    for (auto b : m_in_path)
      if (std::find(m_w_path.begin(), m_w_path.end(), b) != m_w_path.end())
        m_em.align_slots(static_cast<int>(b), Operand::kInput, Operand::kWeight);

    // With blocks (Mapping::block_m: input rows, block_n: weight columns)
    // the nest runs over each block's tiles in turn, the blocked operand's
    // tiles read from the block; else once, over the whole grid.
    const bool in_blocks = plan.block_m > 0, w_blocks = plan.block_n > 0;
    const std::uint64_t extent = w_blocks ? g.n : g.m;
    const std::uint64_t block_size = in_blocks ? plan.block_m : w_blocks ? plan.block_n : extent;
    // A block of `size` rows (columns) from b0, loaded in `chunks`.
    auto start = [&](std::uint64_t b0, std::uint64_t size, std::uint64_t chunks) {
      if (in_blocks) {
        const std::uint64_t bytes = input_block_bytes(layer, size, types);
        const bool gemm_like = layer.kind == LayerKind::kGemm;
        return start_block(Operand::kInput, input_base + row_bytes(b0 * g.k, in_bits),
                           gemm_like ? size : 1, gemm_like ? row_bytes(g.k, in_bits) : bytes,
                           gemm_like ? row_bytes(g.k, in_bits) : bytes, chunks);
      }
      return start_block(Operand::kWeight, weight_base + row_bytes(b0, w_bits), g.k,
                         row_bytes(size, w_bits), row_bytes(g.n, w_bits), chunks);
    };
    std::optional<Block> block, next_block;
    for (std::uint64_t gi = 0; gi < ng; ++gi) {
      const std::uint64_t g0 = gi * plan.tg, tg = std::min(plan.tg, g.batch - g0);
      for (std::uint64_t b0 = 0; b0 < extent; b0 += block_size) {
        const std::uint64_t size = std::min(block_size, extent - b0);
        const Extents inner{in_blocks ? ceil_div(size, plan.tm) : count.m,
                            w_blocks ? ceil_div(size, plan.tn) : count.n, count.k};
        const std::uint64_t block_steps = inner.m * inner.n * inner.k;
        std::uint64_t step = 0;
        std::optional<Location> in_from = in_home, w_from = w_home;
        const std::vector<std::uint32_t>& block_after = in_blocks ? input_after : weight_after;
        // A tile LOAD waits for its producers; a tile read from a block
        // finds the block's LOADs by the region's hazards instead.
        const std::vector<std::uint32_t>& in_tile_after = in_blocks ? kNone : input_after;
        const std::vector<std::uint32_t>& w_tile_after = w_blocks ? kNone : weight_after;
        if (in_blocks || w_blocks) {
          if (!next_block) {
            next_block = start(b0, size, 1);
            load_chunk(*next_block, block_after);
          }
          block = std::move(next_block);
          next_block.reset();
          if (b0 + block_size < extent) {
            const std::uint64_t next = std::min(block_size, extent - b0 - block_size);
            next_block = start(
                b0 + block_size, next,
                block_chunks(in_blocks ? input_block_bytes(layer, next, types) : g.k, block_steps));
          }
          (in_blocks ? in_from : w_from) = block->at;
          (in_blocks ? in_resident : w_resident).reset();
        }
        for (std::uint64_t a = 0; a < inner.of(plan.order[0]); ++a)
          for (std::uint64_t c = 0; c < inner.of(plan.order[1]); ++c)
            for (std::uint64_t e = 0; e < inner.of(plan.order[2]); ++e) {
              const std::uint64_t idx[3] = {a, c, e};
              std::uint64_t mi = 0, ni = 0, ki = 0;
              for (int d = 0; d < 3; ++d) {
                (plan.order[d] == 'm' ? mi : plan.order[d] == 'n' ? ni : ki) = idx[d];
              }
              if (in_blocks) mi += b0 / plan.tm;
              if (w_blocks) ni += b0 / plan.tn;
              const std::uint64_t m0 = mi * plan.tm, tm = std::min(plan.tm, g.m - m0);
              const std::uint64_t n0 = ni * plan.tn, tn = std::min(plan.tn, g.n - n0);
              const std::uint64_t k0 = ki * plan.tk, tk = std::min(plan.tk, g.k - k0);
              const auto in_key = std::make_tuple(gi, mi, ki);
              if (in_resident != in_key) {
                const std::uint64_t bytes =
                    bytes_for(layer.input_tile_elements(tm, tk) * tg, types.activation);
                const bool gemm_like = layer.kind == LayerKind::kGemm;
                Transfer t{Operand::kInput, gemm_like ? tm * tg : 1,
                           gemm_like ? row_bytes(tk, in_bits) : bytes,
                           input_base + row_bytes((g0 * g.m + m0) * g.k + k0, in_bits),
                           row_bytes(g.k, in_bits)};
                in_loc = load_chain(m_in_path, t, in_tile_after, in_from, &gemm_after);
                in_resident = in_key;
              }
              const auto w_key = std::make_tuple(gi, ki, ni);
              if (w_resident != w_key) {
                Transfer t{Operand::kWeight, tk * tg, row_bytes(tn, w_bits),
                           weight_base + row_bytes((g0 * g.k + k0) * g.n + n0, w_bits),
                           row_bytes(g.n, w_bits)};
                w_loc = load_chain(m_w_path, t, w_tile_after, w_from, &gemm_after);
                w_resident = w_key;
              }
              const Transfer out_t{Operand::kOutput, tm * tg, row_bytes(tn, in_bits),
                                   output_base + row_bytes((g0 * g.m + m0) * g.n + n0, in_bits),
                                   row_bytes(g.n, in_bits)};
              const auto out_key = std::make_tuple(gi, mi, ni);
              // Stripes of one resident tensor tell their tiles apart.
              const std::uint64_t out_tile = (layer.output_slice ? std::uint64_t{m_li} << 32 : 0) +
                                             (gi * count.m + mi) * count.n + ni;
              const bool final_k = ki + 1 == count.k;
              std::optional<Location> res_loc;
              if (layer.residual && final_k) {
                if (res_home) {
                  res_loc = *res_home;
                } else {
                  Transfer t = out_t;
                  t.op = Operand::kInput;
                  t.address = res_base + (out_t.address - output_base);
                  t.residual = true;
                  res_loc = m_em.fetch(m_li, t, std::nullopt, vb, res_after);
                }
              }
              if (out_in_place) {
                out_loc = *out_home;  // accumulates in place, partial sums included
              } else if (ki == 0 || !k_inner) {
                if (ki > 0) {
                  // Partial sums come back (from DRAM, or from the resident
                  // output) after the previous visit's store.
                  out_loc = load_chain(m_out_path, out_t, {partial_store.at(out_key)}, out_home);
                } else {
                  out_loc = {ob, m_em.next_slot(ob, Operand::kOutput)};
                }
              }
              Instruction gm;
              gm.op = Opcode::kGemm;
              gm.layer = m_li;
              gm.shape = {tm, tn, tk, tg};
              gm.dataflow = m_config.array.dataflow;
              gm.input = in_loc;
              gm.weight = w_loc;
              gm.output = out_loc;
              gm.accumulate = ki > 0;
              gm.input_dtype = gm.output_dtype = types.activation;
              gm.weight_dtype = types.weight;
              const std::uint64_t t_index = tdim == 'm' ? mi : tdim == 'n' ? ni : ki;
              gm.fold_overhead =
                  plan.chunking != Mapping::Chunking::kStreamFold || t_index + 1 == count.of(tdim);
              gm.deps = std::move(gemm_after);
              gemm_after.clear();
              if (out_in_place) gm.deps.insert(gm.deps.end(), reuse.begin(), reuse.end());
              m_em.write_deps(out_loc, Operand::kOutput, gm.deps, out_tile);
              m_em.read_deps(in_loc, Operand::kInput, gm.deps, kConsumerTile);
              m_em.read_deps(w_loc, Operand::kWeight, gm.deps, kConsumerTile);
              const auto id = m_em.emit(std::move(gm));
              m_em.did_read(in_loc, Operand::kInput, id, kConsumerTile);
              m_em.did_read(w_loc, Operand::kWeight, id, kConsumerTile);
              m_em.did_write(out_loc, Operand::kOutput, id, out_tile);
              if (final_k) {
                // The epilogue, one VECTOR each, in place on the output tile.
                const std::uint64_t bytes = bytes_for(tm * tn * tg, types.activation);
                std::uint32_t last = id;
                const auto ops = layer.epilogue(tm * tg, tn);
                for (std::size_t j = 0; j < ops.size(); ++j) {
                  if (layer.residual && j == layer.residual_add_index()) {
                    last = vector(ops[j], {out_loc, *res_loc}, {Operand::kOutput, Role::residual()},
                                  out_loc, 2 * bytes, bytes, out_tile,
                                  res_home ? res_after : std::vector<std::uint32_t>{});
                  } else {
                    last = vector(ops[j], {out_loc}, {Operand::kOutput}, out_loc, bytes, bytes,
                                  out_tile);
                  }
                }
                if (out_in_place) stores.push_back(last);
              }
              if ((final_k || !k_inner) && !out_in_place) {
                const auto st = store_chain(m_out_path, out_loc, out_t, out_home, out_tile);
                if (final_k) {
                  stores.push_back(st);
                } else {
                  partial_store[out_key] = st;
                }
              }
              // The next block streams in, its chunks spread over the steps.
              ++step;
              if (next_block) {
                while (next_block->loaded < ceil_div(step * next_block->chunks, block_steps))
                  load_chunk(*next_block, block_after);
              }
            }
      }
    }
    return stores;
  }

  // Operand blocks (Mapping::block_m, block_n), loaded as block_loads
  // (mapping_cost.h) counts: into one of two regions of the first buffer on
  // the operand's path, which alternate block by block (on the ports of
  // alternate slots). A block's chunks all write the region under one
  // hazard key, each after the one before, so its readers (the GEMMs
  // reading it in place, or the MOVEs out of it) wait for its last chunk,
  // and its first chunk waits for the readers of the block that used the
  // region before.
  struct Block {
    Operand op;
    Location at;
    // In DRAM: `rows` of `row_bytes`, `stride` apart.
    std::uint64_t address, rows, row_bytes, stride;
    std::uint64_t chunks, loaded = 0;
  };
  Block start_block(Operand op, std::uint64_t address, std::uint64_t rows, std::uint64_t row_bytes,
                    std::uint64_t stride, std::uint64_t chunks) {
    const bool input = op == Operand::kInput;
    const int b = static_cast<int>((input ? m_in_path : m_w_path).front());
    std::uint32_t& parity = m_block_parity[input ? 0 : 1];
    parity ^= 1;
    const std::uint32_t region = kBlockRegion - (input ? 0 : 2) + parity;
    return {op,        Location{b, parity % m_config.sram[b].slots(), region},
            address,   rows,
            row_bytes, stride,
            chunks};
  }
  // The block's next chunk: a range of its rows, or, of an input block (its
  // rows contiguous in DRAM), a contiguous range of its bytes.
  void load_chunk(Block& block, const std::vector<std::uint32_t>& after) {
    const std::uint64_t j = block.loaded++;
    Transfer t{block.op, block.rows, block.row_bytes, block.address, block.stride};
    if (block.chunks > 1 && block.op == Operand::kInput) {
      const std::uint64_t bytes = block.rows * block.row_bytes;
      const std::uint64_t from = bytes * j / block.chunks;
      t.rows = 1;
      t.row_bytes = t.stride_bytes = bytes * (j + 1) / block.chunks - from;
      t.address += from;
    } else {
      const std::uint64_t r0 = block.rows * j / block.chunks;
      t.rows = block.rows * (j + 1) / block.chunks - r0;
      t.address += r0 * block.stride;
    }
    const auto& path = block.op == Operand::kInput ? m_in_path : m_w_path;
    m_em.fetch_to(m_li, t, std::nullopt, block.at, path.size() == 1 ? kConsumerTile : 0, after);
  }

  // Fused attention (attention.h): the steps of walk_attention, each as
  // one GEMM, VECTOR, LOAD chain, MOVE or store chain.
  std::vector<std::uint32_t> lower_attention(const Layer& layer, const Mapping& plan,
                                             const LayerTypes& types) {
    const std::uint64_t d = layer.k, kv = layer.n, cols = layer.attention->cols, rows = layer.m;
    const DType a = types.activation, w = types.weight;
    const bool value_external = layer.attention->value == OperandSource::kExternal;
    // K and V: their producers' tensors, or, from outside (a KV cache), allocated here.
    const std::uint64_t key_base = layer.second == OperandSource::kProducer
                                       ? tensor_base(layer.second_producer)
                                       : allocate(layer.batch * d * bytes_for(kv, w));
    const std::uint64_t value_base = value_external
                                         ? allocate(layer.batch * kv * bytes_for(cols, w))
                                         : tensor_base(layer.attention->value_producer);
    const std::uint64_t query_base = input_address(layer), output_base = m_output_base[m_li];
    const std::vector<std::uint32_t> query_after = producer_barriers(layer.inputs);
    const std::vector<std::uint32_t> key_after = layer.second == OperandSource::kProducer
                                                     ? producer_barriers({layer.second_producer})
                                                     : std::vector<std::uint32_t>{};
    const std::vector<std::uint32_t> value_after =
        value_external ? std::vector<std::uint32_t>{}
                       : producer_barriers({layer.attention->value_producer});
    const std::optional<Location> out_home = home(m_li);
    const int ob = static_cast<int>(m_out_path.back()), ib = static_cast<int>(m_in_path.back());
    Location query, key, value, probs, output;
    Location scores[2];
    std::vector<std::uint32_t> stores;
    auto gemm = [&](const arch::GemmShape& shape, Location in, Role in_role, Location wt,
                    Role w_role, Location out, Role out_role, bool accumulate) {
      Instruction gm;
      gm.op = Opcode::kGemm;
      gm.layer = m_li;
      gm.shape = shape;
      gm.dataflow = m_config.array.dataflow;
      gm.input = in;
      gm.weight = wt;
      gm.output = out;
      gm.accumulate = accumulate;
      gm.input_dtype = gm.output_dtype = a;
      gm.weight_dtype = w;
      m_em.write_deps(out, out_role, gm.deps);
      m_em.read_deps(in, in_role, gm.deps);
      m_em.read_deps(wt, w_role, gm.deps);
      const auto id = m_em.emit(std::move(gm));
      m_em.did_read(in, in_role, id);
      m_em.did_read(wt, w_role, id);
      m_em.did_write(out, out_role, id);
    };
    walk_attention(layer, plan, [&](const AttentionStep& s) {
      const AttentionTileBytes b = attention_bytes(s, layer, types);
      Location& block_scores = scores[s.block % 2];
      switch (s.kind) {
        case AttentionStep::kLoadQuery: {
          const Transfer t{Operand::kInput, s.tg * s.tm, bytes_for(d, a),
                           query_base + bytes_for((s.g0 * rows + s.m0) * d, a), bytes_for(d, a)};
          query = load_chain(m_in_path, t, query_after);
          break;
        }
        case AttentionStep::kLoadKey: {
          const Transfer t{Operand::kWeight, s.tg * d, bytes_for(s.bc, w),
                           key_base + bytes_for(s.g0 * d * kv + s.j0, w), bytes_for(kv, w)};
          key = load_chain(m_w_path, t, key_after);
          break;
        }
        case AttentionStep::kLoadValue: {
          const Transfer t{Operand::kWeight,   s.tg * s.bc,
                           bytes_for(cols, w), value_base + bytes_for((s.g0 * kv + s.j0) * cols, w),
                           bytes_for(cols, w), false,
                           Role::kv_values()};
          value = load_chain(m_w_path, t, value_after);
          break;
        }
        case AttentionStep::kScores:
          block_scores = Location{ob, m_em.next_slot(ob, Role::scores())};
          gemm(scores_shape(s, layer), query, Operand::kInput, key, Operand::kWeight, block_scores,
               Role::scores(), false);
          break;
        case AttentionStep::kSoftmax:
          vector(attention_vector_work(s, layer), {block_scores}, {Role::scores()}, block_scores,
                 b.scores, b.probs, 0, {}, Role::scores());
          break;
        case AttentionStep::kMoveProbs: {
          const Transfer t{Operand::kInput, s.tg * s.tm,   bytes_for(s.bc, a), 0, 0,
                           false,           Role::probs(), Role::scores()};
          probs = m_em.fetch(m_li, t, block_scores, ib, {});
          break;
        }
        case AttentionStep::kContext:
          if (s.block == 0) output = Location{ob, m_em.next_slot(ob, Operand::kOutput)};
          gemm(context_shape(s, layer), probs, Role::probs(), value, Role::kv_values(), output,
               Operand::kOutput, s.block > 0);
          break;
        case AttentionStep::kRescale:
        case AttentionStep::kNormalize:
          vector(attention_vector_work(s, layer), {output}, {Operand::kOutput}, output, b.output,
                 b.output);
          break;
        case AttentionStep::kStore: {
          const Transfer t{Operand::kOutput, s.tg * s.tm, bytes_for(cols, a),
                           output_base + bytes_for((s.g0 * rows + s.m0) * cols, a),
                           bytes_for(cols, a)};
          stores.push_back(store_chain(m_out_path, output, t, out_home, s.tile));
          break;
        }
      }
    });
    return stores;
  }

  // LOAD the inputs (or read them in place), VECTOR (if any), STORE the
  // output (or write it in place).
  std::vector<std::uint32_t> lower_rows(const Layer& layer, const Mapping& plan,
                                        const LayerTypes& types) {
    const auto shape = rows_shape(layer);
    if (!shape) return {};
    const int vb = static_cast<int>(m_config.vector.buffer);
    const std::uint64_t rows = shape->rows, tr = plan.tm;
    auto tile_in = [&](std::uint64_t r) { return shape->in_bytes(r, types.activation); };
    auto tile_out = [&](std::uint64_t r) { return shape->out_bytes(r, types.activation); };
    const std::vector<std::uint32_t> after = layer.kind == LayerKind::kEmbedding
                                                 ? std::vector<std::uint32_t>{}
                                                 : producer_barriers(layer.inputs);
    const std::optional<Location> out_home = home(m_li);
    std::vector<std::uint32_t> reuse = out_home ? reuse_barriers() : std::vector<std::uint32_t>{};
    std::vector<std::uint32_t> stores;
    for (std::uint64_t r0 = 0; r0 < rows; r0 += tr) {
      const std::uint64_t r = std::min(tr, rows - r0);
      const std::uint64_t tile = r0 / tr;
      std::vector<Location> sources;
      std::vector<Role> ops;
      std::vector<std::uint32_t> read_after;  // inputs read in place
      const std::uint64_t in_bytes = tile_in(r);
      std::vector<Transfer> in_t;
      for (std::size_t i = 0; i < shape->inputs; ++i) {
        const Operand op = i == 0 ? Operand::kInput : Operand::kWeight;
        const std::uint64_t share = ceil_div(in_bytes, shape->inputs);
        in_t.push_back(Transfer{
            op, layer.kind == LayerKind::kEmbedding ? r : 1,
            layer.kind == LayerKind::kEmbedding ? bytes_for(layer.dim, types.activation) : share,
            input_address(layer, i) + r0 * share / std::max<std::uint64_t>(r, 1), 0});
        const std::optional<Location> in_home =
            layer.kind == LayerKind::kEmbedding ? std::nullopt : input_home(layer, i);
        if (in_home) {
          sources.push_back(*in_home);
          read_after = after;
        } else if (shape->computes || !out_home) {
          sources.push_back(m_em.fetch(m_li, in_t.back(), std::nullopt, vb, after));
        }
        ops.push_back(op);
      }
      const Transfer out_t{Operand::kOutput, 1, tile_out(r),
                           m_output_base[m_li] + r0 * tile_out(r) / std::max<std::uint64_t>(r, 1),
                           0};
      if (shape->computes) {
        arch::VectorWork work = layer.work;
        work.rows = r;
        std::vector<std::uint32_t> deps = read_after;
        if (out_home) deps.insert(deps.end(), reuse.begin(), reuse.end());
        const Location out = out_home.value_or(Location{vb, m_em.next_slot(vb, Operand::kOutput)});
        const auto v = vector(work, sources, ops, out, in_bytes, tile_out(r), tile, deps);
        stores.push_back(out_home ? v : m_em.store(m_li, out_t, out));
      } else if (out_home) {
        // Straight into the resident output: from DRAM, or from a resident input.
        Transfer t = in_t[0];
        t.op = Operand::kInput;
        std::vector<std::uint32_t> deps = after;
        deps.insert(deps.end(), reuse.begin(), reuse.end());
        const std::optional<Location> src =
            sources.empty() ? std::nullopt : std::optional<Location>(sources[0]);
        stores.push_back(m_em.fetch_to(m_li, t, src, *out_home, tile, deps));
      } else {
        Transfer t = out_t;
        t.op = Operand::kInput;
        // Out of a resident input, the store waits for its producer.
        stores.push_back(m_em.store(m_li, t, sources[0], read_after));
      }
    }
    return stores;
  }

  const Workload& m_workload;
  const arch::Config& m_config;
  Lowered& m_out;
  Emitter m_em;
  std::vector<LayerTypes> m_types;            // per layer
  std::vector<std::uint64_t> m_output_bytes;  // per layer
  const std::vector<std::size_t> m_in_path, m_w_path, m_out_path;
  std::uint32_t m_li = 0;
  std::uint64_t m_next_address = 0;
  std::uint64_t m_input_base = 0;
  std::vector<std::uint64_t> m_output_base;     // per layer
  std::vector<std::uint64_t> m_weight_base;     // per layer, at weight owners
  std::vector<std::uint32_t> m_weight_preload;  // per layer: the LOAD of resident shared weights
  std::vector<std::uint32_t> m_barrier;         // per layer
  std::map<std::size_t, std::uint32_t> m_slice_barrier;  // per striped tensor: its last stripe's
  std::uint32_t m_block_parity[2] = {1, 1};  // per input, weight: the block region last loaded
};

}  // namespace

Lowered lower(const Workload& workload, const arch::Config& config) {
  validate_edges(workload, workload.name);
  Lowered out;
  Lowerer(workload, config, out).run();
  return out;
}

}  // namespace tessel::workloads
