// Layers off the MAC array, tiled by rows through the vector unit's buffer
// (lowerer.h).
#include "workloads/lowering/lowerer.h"

#include <algorithm>
#include <optional>

#include "arch/vector.h"
#include "workloads/lowering/mapping_cost.h"
#include "workloads/lowering/schedule.h"

namespace tessel::workloads {

using arch::Operand;

// LOAD the inputs (or read them in place), VECTOR (if any), STORE the
// output (or write it in place).
std::vector<std::uint32_t> Lowerer::lower_rows(const Layer& layer, const Mapping& plan,
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
    std::vector<std::uint32_t> read_after;     // inputs read in place
    std::optional<std::uint32_t> staged_slot;  // where the first input was loaded
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
        if (i == 0 && sources.back().buffer == vb) staged_slot = sources.back().slot;
      }
      ops.push_back(op);
    }
    const Transfer out_t{Operand::kOutput, 1, tile_out(r),
                         m_output_base[m_li] + r0 * tile_out(r) / std::max<std::uint64_t>(r, 1), 0};
    if (shape->computes) {
      arch::VectorWork work = layer.work;
      work.rows = r;
      std::vector<std::uint32_t> deps = read_after;
      if (out_home) deps.insert(deps.end(), reuse.begin(), reuse.end());
      // A staged output tile shares its input's slot (the slot holds
      // both): in the other slot it would share a port with the next
      // tile's LOAD and, until stored, with the next VECTOR's reads.
      if (!out_home && staged_slot) m_em.turn_to(vb, Operand::kOutput, *staged_slot);
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

}  // namespace tessel::workloads
