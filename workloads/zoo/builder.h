#pragma once
// Shape-tracking helpers the model-zoo families build their layer lists
// with. A handle names the layer that produced a tensor (or the workload
// input) and its shape; every helper appends one layer and returns the new
// handle, so edges and sizes are always consistent.

#include <cstdint>
#include <optional>
#include <string>

#include "workloads/layer.h"

namespace tessel::workloads::zoo {

// A feature map, NHWC, `batch` from the builder.
struct Map {
  std::optional<std::size_t> id;  // producing layer; nullopt: the workload input
  std::uint64_t h = 0, w = 0, c = 0;
};

// A token sequence: `tokens` per batch item, `dim` features.
struct Seq {
  std::optional<std::size_t> id;
  std::uint64_t tokens = 0, dim = 0;
};

class Builder {
 public:
  Builder(std::string name, std::uint64_t batch, DType activation, std::optional<DType> weight);

  std::uint64_t batch() const { return m_batch; }
  // Changes the batch of the layers added from now on (e.g. per-camera
  // backbone, then one decoder per sample); tensors are reinterpreted freely.
  void set_batch(std::uint64_t batch) { m_batch = batch; }
  // The name prefix of layers added until the scope closes ("layer1.0.").
  void push(const std::string& scope);
  void pop();

  Map image(std::uint64_t h, std::uint64_t w, std::uint64_t c) const {
    return {std::nullopt, h, w, c};
  }
  Seq tokens(std::uint64_t tokens, std::uint64_t dim) const { return {std::nullopt, tokens, dim}; }

  // Convolution with bias (inference: batch norm folded in), optional fused
  // activation; `pad` defaults to "same" (kernel / 2).
  Map conv(const std::string& name, const Map& x, std::uint64_t out_c, std::uint64_t kernel,
           std::uint64_t stride = 1, std::uint64_t groups = 1,
           std::optional<arch::VectorOp> fuse = std::nullopt, std::optional<std::uint64_t> pad = {},
           bool bias = true);
  // Causal depthwise 1-D convolution along a sequence (Mamba's conv1d).
  Seq conv1d_depthwise(const std::string& name, const Seq& x, std::uint64_t kernel);
  Map act(const std::string& name, const Map& x, arch::VectorOp op);
  Map add(const std::string& name, const Map& a, const Map& b);
  // Broadcast multiply by per-channel scales (squeeze-and-excitation).
  Map scale(const std::string& name, const Map& x, const Map& per_channel);
  Map maxpool(const std::string& name, const Map& x, std::uint64_t kernel, std::uint64_t stride,
              std::uint64_t pad);
  Map global_pool(const std::string& name, const Map& x);
  // An image classifier's head: global average pooling ("avgpool"), then a
  // fully connected layer `name` with `classes` outputs.
  Seq classifier(const std::string& name, const Map& x, std::uint64_t classes);
  Map upsample(const std::string& name, const Map& x, std::uint64_t scale);
  Map concat(const std::string& name, const Map& a, const Map& b);
  // Group normalisation (cost as layer norm over each group's elements).
  Map group_norm(const std::string& name, const Map& x, std::uint64_t groups);
  // A map seen as a sequence of h*w tokens (free reshape).
  Seq flatten(const Map& x) const { return {x.id, x.h * x.w, x.c}; }
  Map unflatten(const Seq& x, std::uint64_t h, std::uint64_t w) const {
    return {x.id, h, w, x.dim};
  }

  Seq linear(const std::string& name, const Seq& x, std::uint64_t out, bool bias = true,
             std::optional<arch::VectorOp> fuse = std::nullopt);
  Seq norm(const std::string& name, const Seq& x, arch::VectorOp op);
  Seq act(const std::string& name, const Seq& x, arch::VectorOp op);
  Seq add(const std::string& name, const Seq& a, const Seq& b);
  Seq mul(const std::string& name, const Seq& a, const Seq& b);
  Seq embedding(const std::string& name, std::uint64_t tokens, std::uint64_t dim,
                std::uint64_t vocab);
  // Multi-head attention of `q_in` over `kv_in` (nullopt: a KV cache of
  // `kv_len` tokens in DRAM, decode): projections, Q K^T, softmax, A V and
  // the output projection. kv_heads < heads is grouped-query attention.
  Seq attention(const std::string& name, const Seq& q_in, const std::optional<Seq>& kv_in,
                std::uint64_t heads, std::uint64_t kv_heads, std::uint64_t kv_len,
                bool bias = true);
  // Mamba's selective scan over a sequence with `state` states per channel.
  Seq selective_scan(const std::string& name, const Seq& x, std::uint64_t state);
  // Extra parameters of the last layer (positional embeddings, tokens).
  void add_params(std::uint64_t count);
  // The last layer's weights are shared with an earlier table (tied): read
  // from DRAM, not counted again as parameters.
  void tie_weights();

  Workload finish();

  // The type of attention's score and context matmuls (both operands: Q,
  // K, scores and V, the KV cache in decode) and of its softmax; nullopt:
  // the model's activation type.
  void set_attention_precision(std::optional<DType> dtype) { m_attention = dtype; }
  std::size_t attention_blocks() const { return m_attention_blocks; }

 private:
  std::size_t append(Layer layer, std::initializer_list<std::optional<std::size_t>> inputs);
  std::string scoped(const std::string& name) const;

  Workload m_workload;
  std::uint64_t m_batch;
  DType m_activation;
  std::optional<DType> m_weight;
  std::optional<DType> m_attention;
  std::size_t m_attention_blocks = 0;
  std::vector<std::string> m_scopes;
};

}  // namespace tessel::workloads::zoo
