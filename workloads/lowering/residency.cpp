#include "workloads/lowering/residency.h"

#include <algorithm>

namespace tessel::workloads {

int resident_buffer(const arch::Config& config) {
  const auto in = config.path(arch::Operand::kInput);
  const auto out = config.path(arch::Operand::kOutput);
  if (in.front() != out.front() || in.front() != config.vector.buffer) return -1;
  return static_cast<int>(in.front());
}

Residency allocate_residency(const Workload& workload, const std::vector<std::uint64_t>& bytes,
                             const std::vector<std::uint64_t>& weight_bytes, int buffer,
                             std::uint64_t area_bytes) {
  const std::size_t n = workload.layers.size();
  Residency r;
  r.buffer = buffer;
  r.area_bytes = buffer < 0 ? 0 : area_bytes;
  r.tensor_of.resize(n);
  r.home.resize(n);
  r.weight_home.resize(n);
  r.weight_owner.resize(n);
  for (std::size_t l = 0; l < n; ++l) r.weight_owner[l] = workload.layers[l].weights_of.value_or(l);
  std::vector<bool> consumed(n, false), pinned(n, false);
  for (std::size_t l = 0; l < n; ++l) {
    const Layer& layer = workload.layers[l];
    const bool reshape = layer.kind == LayerKind::kDataMove && layer.move == MoveKind::kReshape;
    // A stripe layer writes rows of the tensor its first stripe owns.
    r.tensor_of[l] = layer.output_slice ? layer.output_slice->tensor : l;
    if (reshape) {
      r.tensor_of[l] =
          layer.inputs.empty() ? Residency::kNetworkInput : r.tensor_of[layer.inputs[0]];
    }
    const std::vector<std::size_t> reads = layer.producers();
    // Readers that take all their inputs from one address (a concat, a
    // GEMM over several producers, a gather) read them from DRAM; so does
    // fused attention (attention.h: its K and V go to DRAM, as a KV cache).
    const bool in_place = layer.kind != LayerKind::kEmbedding &&
                          !(layer.kind == LayerKind::kDataMove && layer.inputs.size() > 1) &&
                          !(layer.on_array() && layer.inputs.size() > 1) && !layer.attention;
    for (auto p : reads) {
      const std::size_t t = r.tensor_of[p];
      if (t == Residency::kNetworkInput) continue;
      if (!in_place) pinned[t] = true;
      // A reshape's consumers read through it (tensor_of resolves them).
      if (reshape) continue;
      r.home[t].last_use = std::max(r.home[t].last_use, l);
      consumed[t] = true;
    }
  }
  // Shared weights: live from their owner to their last sharer.
  for (std::size_t l = 0; l < n; ++l) {
    const auto& layer = workload.layers[l];
    if (layer.weights_of && weight_bytes[*layer.weights_of] > 0)
      r.weight_home[*layer.weights_of].last_use = l;
  }
  auto eligible = [&](std::size_t t) {
    return r.tensor_of[t] == t && consumed[t] && !pinned[t] && bytes[t] > 0;
  };
  if (r.area_bytes == 0) {
    for (std::size_t t = 0; t < n; ++t)
      r.spilled =
          r.spilled || eligible(t) || (weight_bytes[t] > 0 && r.weight_home[t].last_use > t);
    return r;
  }

  // First fit by address, in order of first use (a layer's shared weights
  // before its output), among the tensors whose lives overlap; a freed
  // range is reused after its last reader.
  std::vector<TensorHome*> placed;
  std::uint32_t region = 0;
  auto place = [&](TensorHome& h, std::size_t first, std::uint64_t bytes) {
    h.bytes = bytes;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> busy;  // [begin, end) of live tensors
    for (const TensorHome* o : placed) {
      if (o->last_use >= first) busy.push_back({o->offset_bytes, o->offset_bytes + o->bytes});
    }
    std::sort(busy.begin(), busy.end());
    std::uint64_t at = 0;
    for (const auto& [b, e] : busy) {
      if (at + h.bytes <= b) break;
      at = std::max(at, e);
    }
    if (at + h.bytes > r.area_bytes) {  // spilled: it lives in DRAM
      r.spilled = true;
      return;
    }
    h.resident = true;
    h.offset_bytes = at;
    h.region = ++region;
    for (const TensorHome* o : placed) {
      if (o->last_use < first && o->offset_bytes < at + h.bytes && at < o->offset_bytes + o->bytes)
        h.wait_layers.push_back(o->last_use);
    }
    placed.push_back(&h);
  };
  for (std::size_t t = 0; t < n; ++t) {
    if (weight_bytes[t] > 0 && r.weight_home[t].last_use > t)
      place(r.weight_home[t], t, weight_bytes[t]);
    if (eligible(t)) place(r.home[t], t, bytes[t]);
  }
  return r;
}

}  // namespace tessel::workloads
