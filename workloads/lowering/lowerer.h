#pragma once
// The lowering's emitter driver (internal to workloads/lowering/): one
// Lowerer per lower() call walks the lowered workload layer by layer and
// emits each layer's instructions with the Emitter (emitter.h), following
// its Mapping. One file per layer kind: lower_gemm.cpp (layers on the MAC
// array, with operand blocks), lower_attention.cpp (fused attention, the
// walk of attention.h), lower_rows.cpp (layers on the vector unit, or
// copies); lower.cpp runs them in order and closes each layer with a
// BARRIER.

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "arch/config.h"
#include "workloads/lowering/emitter.h"
#include "workloads/lowering/lower.h"
#include "workloads/lowering/residency.h"

namespace tessel::workloads {

class Lowerer {
 public:
  // Emits into `sink`; `out` gets the plan (its trace only the names).
  Lowerer(const Workload& workload, const arch::Config& config, Lowered& out, InstructionSink& sink)
      : m_workload(workload),
        m_config(config),
        m_out(out),
        m_em(config, sink),
        m_in_path(config.path(Operand::kInput)),
        m_w_path(config.path(Operand::kWeight)),
        m_out_path(config.path(Operand::kOutput)) {}

  // Plans the schedule (schedule.h) into `out`: its workload, groups,
  // mappings, residency and the trace's workload and layer names. Throws
  // InputError when a layer cannot be mapped.
  void plan();
  // Then emits every layer into the sink.
  void emit();

 private:
  using Operand = arch::Operand;
  // The tile key of a consumer's in-place reads of a resident tensor: its
  // producer's tiles are not the consumer's, so the order comes from the
  // producer's barrier, not from per-tile hazards.
  static constexpr std::uint64_t kConsumerTile = UINT64_MAX;
  // The first of the two regions input blocks alternate between (Mapping::
  // block_m); weight blocks' are the two below (trace.h, kFirstBlockRegion).
  static constexpr std::uint32_t kBlockRegion = kFirstBlockRegion + 2;
  // No dependencies.
  static inline const std::vector<std::uint32_t> kNone{};

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
    v.deps.assign(after.begin(), after.end());
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

  // Each returns the instructions the layer's barrier waits for.
  // A layer on the MAC array (lower_gemm.cpp).
  std::vector<std::uint32_t> lower_gemm(const Layer& layer, const Mapping& plan,
                                        const LayerTypes& types);
  // Fused attention (lower_attention.cpp).
  std::vector<std::uint32_t> lower_attention(const Layer& layer, const Mapping& plan,
                                             const LayerTypes& types);
  // A layer off the array (lower_rows.cpp).
  std::vector<std::uint32_t> lower_rows(const Layer& layer, const Mapping& plan,
                                        const LayerTypes& types);

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
  // Starts the next block of `op` in the region its parity names.
  Block start_block(Operand op, std::uint64_t address, std::uint64_t rows, std::uint64_t row_bytes,
                    std::uint64_t stride, std::uint64_t chunks);
  // The block's next chunk: a range of its rows, or, of an input block (its
  // rows contiguous in DRAM), a contiguous range of its bytes.
  void load_chunk(Block& block, const std::vector<std::uint32_t>& after);

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

}  // namespace tessel::workloads
