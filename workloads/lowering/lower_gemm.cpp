// Layers on the MAC array, with operand blocks (lowerer.h).
#include "workloads/lowering/lowerer.h"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#include "arch/dataflow.h"
#include "workloads/lowering/mapping_cost.h"

namespace tessel::workloads {

using arch::Operand;

std::vector<std::uint32_t> Lowerer::lower_gemm(const Layer& layer, const Mapping& plan,
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
  // A residual tile staged in the buffer the array reads its input tiles
  // from takes this step's input tile's slot when the next step loads a
  // new input tile (into the other slot), so that its add and the next
  // GEMM's input reads use two ports; on its own turn of slots the add
  // could share the next GEMM's port. When the next step reads the same
  // input tile, the residual goes on with its turn from there (the two
  // slots alternate, so that each residual loads while the add before it
  // runs; the GEMM reads one slot for many steps). Only where the output
  // tiles never pass through that buffer (gemmini_like stores them from its
  // accumulator): where they do, their MOVEs and stores share its ports
  // whatever the residual's slot, and placing the residuals so made
  // fsd_npu_like and tpu_v1_like perception 1% slower (docs/mapping.md).
  const std::uint32_t vb_slots = m_config.sram[static_cast<std::size_t>(vb)].slots();
  const bool residual_beside_input = layer.residual && !res_home && vb_slots == 2 &&
                                     m_in_path.back() == static_cast<std::size_t>(vb) &&
                                     std::find(m_out_path.begin(), m_out_path.end(),
                                               static_cast<std::size_t>(vb)) == m_out_path.end();
  // Whether the step after (a, c, e) of a nest of `inner` tiles reads
  // another input tile: its m or k index changes, or the nest ends (the
  // next block or group starts).
  auto next_input_changes = [&](const Extents& inner, std::uint64_t a, std::uint64_t c,
                                std::uint64_t e) {
    const std::uint64_t now[3] = {a, c, e};
    std::uint64_t next[3] = {a, c, e};
    int d = 2;
    while (d >= 0 && ++next[d] == inner.of(plan.order[static_cast<std::size_t>(d)])) next[d--] = 0;
    if (d < 0) return true;
    for (std::size_t i = 0; i < 3; ++i)
      if (plan.order[i] != 'n' && next[i] != now[i]) return true;
    return false;
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
                if (residual_beside_input && in_loc.buffer == vb &&
                    next_input_changes(inner, a, c, e))
                  m_em.turn_to(vb, Role::residual(), in_loc.slot);
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
            gm.deps.assign(gemm_after.begin(), gemm_after.end());
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

Lowerer::Block Lowerer::start_block(Operand op, std::uint64_t address, std::uint64_t rows,
                                    std::uint64_t row_bytes, std::uint64_t stride,
                                    std::uint64_t chunks) {
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
void Lowerer::load_chunk(Block& block, const std::vector<std::uint32_t>& after) {
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

}  // namespace tessel::workloads
