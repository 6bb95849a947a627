#include "workloads/zoo/builder.h"

#include <fmt/format.h>

namespace tessel::workloads::zoo {

using arch::VectorOp;

Builder::Builder(std::string name, std::uint64_t batch, DType activation,
                 std::optional<DType> weight)
    : m_batch(batch), m_activation(activation), m_weight(weight) {
  m_workload.name = std::move(name);
}

void Builder::push(const std::string& scope) {
  m_scopes.push_back(scope);
}
void Builder::pop() {
  m_scopes.pop_back();
}

std::string Builder::scoped(const std::string& name) const {
  std::string out;
  for (const auto& s : m_scopes) out += s + ".";
  return out + name;
}

std::size_t Builder::append(Layer layer, std::initializer_list<std::optional<std::size_t>> inputs) {
  layer.name = scoped(layer.name);
  for (const auto& i : inputs) {
    if (i) layer.inputs.push_back(*i);
  }
  layer.dtype = m_activation;
  if (layer.on_array() && layer.second == OperandSource::kParameters) layer.weight_dtype = m_weight;
  m_workload.layers.push_back(std::move(layer));
  return m_workload.layers.size() - 1;
}

void Builder::add_params(std::uint64_t count) {
  m_workload.layers.back().extra_params += count;
}

void Builder::tie_weights() {
  m_workload.layers.back().second = OperandSource::kExternal;
}

namespace {
Layer vector_layer(const std::string& name, VectorOp op, std::uint64_t rows,
                   std::uint64_t row_length, std::uint64_t in_elements,
                   std::uint64_t out_elements) {
  Layer l;
  l.name = name;
  l.kind = LayerKind::kVector;
  l.work = {op, rows, row_length, 1, 1};
  l.in_elements = in_elements;
  l.out_elements = out_elements;
  return l;
}
}  // namespace

Map Builder::conv(const std::string& name, const Map& x, std::uint64_t out_c, std::uint64_t kernel,
                  std::uint64_t stride, std::uint64_t groups, std::optional<VectorOp> fuse,
                  std::optional<std::uint64_t> pad, bool bias) {
  Layer l;
  l.name = name;
  l.kind = LayerKind::kConv2d;
  l.batch = m_batch;
  l.in_h = x.h;
  l.in_w = x.w;
  l.in_c = x.c;
  l.out_c = out_c;
  l.kernel_h = l.kernel_w = kernel;
  l.stride_h = l.stride_w = stride;
  l.pad_h = l.pad_w = pad.value_or(kernel / 2);
  l.groups = groups;
  l.bias = bias;
  l.out_h = conv_output_size(x.h, kernel, stride, l.pad_h, 1);
  l.out_w = conv_output_size(x.w, kernel, stride, l.pad_w, 1);
  if (fuse) {
    const auto g = l.gemm();
    l.fused = arch::VectorWork{*fuse, g.m * g.batch, g.n, 1, 1};
  }
  const Map out{std::nullopt, l.out_h, l.out_w, out_c};
  const auto id = append(std::move(l), {x.id});
  return {id, out.h, out.w, out.c};
}

Seq Builder::conv1d_depthwise(const std::string& name, const Seq& x, std::uint64_t kernel) {
  Layer l;
  l.name = name;
  l.kind = LayerKind::kConv2d;
  l.batch = m_batch;
  l.in_h = x.tokens;
  l.in_w = 1;
  l.in_c = l.out_c = l.groups = x.dim;
  l.kernel_h = kernel;
  l.pad_h = kernel - 1;  // causal: left padding only, the output keeps its length
  l.bias = true;
  l.out_h = x.tokens;
  l.out_w = 1;
  return {append(std::move(l), {x.id}), x.tokens, x.dim};
}

Map Builder::act(const std::string& name, const Map& x, VectorOp op) {
  const std::uint64_t n = m_batch * x.h * x.w * x.c;
  return {append(vector_layer(name, op, n, 1, n, n), {x.id}), x.h, x.w, x.c};
}

Map Builder::add(const std::string& name, const Map& a, const Map& b) {
  const std::uint64_t n = m_batch * a.h * a.w * a.c;
  return {append(vector_layer(name, VectorOp::kAdd, n, 1, 2 * n, n), {a.id, b.id}), a.h, a.w, a.c};
}

Map Builder::scale(const std::string& name, const Map& x, const Map& per_channel) {
  const std::uint64_t n = m_batch * x.h * x.w * x.c;
  return {append(vector_layer(name, VectorOp::kMul, n, 1, n + m_batch * x.c, n),
                 {x.id, per_channel.id}),
          x.h, x.w, x.c};
}

Map Builder::maxpool(const std::string& name, const Map& x, std::uint64_t kernel,
                     std::uint64_t stride, std::uint64_t pad) {
  const std::uint64_t oh = conv_output_size(x.h, kernel, stride, pad, 1);
  const std::uint64_t ow = conv_output_size(x.w, kernel, stride, pad, 1);
  Layer l = vector_layer(name, VectorOp::kMaxPool, m_batch * x.c, oh * ow,
                         m_batch * x.h * x.w * x.c, m_batch * oh * ow * x.c);
  l.work.window = kernel * kernel;
  return {append(std::move(l), {x.id}), oh, ow, x.c};
}

Map Builder::global_pool(const std::string& name, const Map& x) {
  return {append(vector_layer(name, VectorOp::kGlobalAvgPool, m_batch * x.c, x.h * x.w,
                              m_batch * x.h * x.w * x.c, m_batch * x.c),
                 {x.id}),
          1, 1, x.c};
}

Seq Builder::classifier(const std::string& name, const Map& x, std::uint64_t classes) {
  const Map pooled = global_pool("avgpool", x);
  return linear(name, {pooled.id, 1, pooled.c}, classes);
}

Map Builder::upsample(const std::string& name, const Map& x, std::uint64_t scale) {
  const std::uint64_t out = x.h * x.w * scale * scale;
  return {append(vector_layer(name, VectorOp::kUpsampleNearest, m_batch * x.c, out,
                              m_batch * x.h * x.w * x.c, m_batch * out * x.c),
                 {x.id}),
          x.h * scale, x.w * scale, x.c};
}

Map Builder::concat(const std::string& name, const Map& a, const Map& b) {
  Layer l;
  l.name = name;
  l.kind = LayerKind::kDataMove;
  l.move = MoveKind::kConcat;
  l.elements = m_batch * a.h * a.w * (a.c + b.c);
  return {append(std::move(l), {a.id, b.id}), a.h, a.w, a.c + b.c};
}

Map Builder::group_norm(const std::string& name, const Map& x, std::uint64_t groups) {
  const std::uint64_t n = m_batch * x.h * x.w * x.c;
  Layer l =
      vector_layer(name, VectorOp::kLayerNorm, m_batch * groups, n / (m_batch * groups), n, n);
  l.extra_params = 2 * x.c;  // affine per channel
  return {append(std::move(l), {x.id}), x.h, x.w, x.c};
}

Seq Builder::linear(const std::string& name, const Seq& x, std::uint64_t out, bool bias,
                    std::optional<VectorOp> fuse) {
  Layer l;
  l.name = name;
  l.kind = LayerKind::kGemm;
  l.m = m_batch * x.tokens;
  l.n = out;
  l.k = x.dim;
  l.bias = bias;
  if (fuse) l.fused = arch::VectorWork{*fuse, l.m, l.n, 1, 1};
  return {append(std::move(l), {x.id}), x.tokens, out};
}

Seq Builder::norm(const std::string& name, const Seq& x, VectorOp op) {
  const std::uint64_t n = m_batch * x.tokens * x.dim;
  Layer l = vector_layer(name, op, m_batch * x.tokens, x.dim, n, n);
  l.extra_params = (op == VectorOp::kLayerNorm ? 2 : 1) * x.dim;
  return {append(std::move(l), {x.id}), x.tokens, x.dim};
}

Seq Builder::act(const std::string& name, const Seq& x, VectorOp op) {
  const std::uint64_t n = m_batch * x.tokens * x.dim;
  return {append(vector_layer(name, op, n, 1, n, n), {x.id}), x.tokens, x.dim};
}

Seq Builder::add(const std::string& name, const Seq& a, const Seq& b) {
  const std::uint64_t n = m_batch * a.tokens * a.dim;
  return {append(vector_layer(name, VectorOp::kAdd, n, 1, 2 * n, n), {a.id, b.id}), a.tokens,
          a.dim};
}

Seq Builder::mul(const std::string& name, const Seq& a, const Seq& b) {
  const std::uint64_t n = m_batch * a.tokens * a.dim;
  return {append(vector_layer(name, VectorOp::kMul, n, 1, 2 * n, n), {a.id, b.id}), a.tokens,
          a.dim};
}

Seq Builder::embedding(const std::string& name, std::uint64_t tokens, std::uint64_t dim,
                       std::uint64_t vocab) {
  Layer l;
  l.name = name;
  l.kind = LayerKind::kEmbedding;
  l.tokens = m_batch * tokens;
  l.dim = dim;
  l.vocab = vocab;
  return {append(std::move(l), {}), tokens, dim};
}

Seq Builder::attention(const std::string& name, const Seq& q_in, const std::optional<Seq>& kv_in,
                       std::uint64_t heads, std::uint64_t kv_heads, std::uint64_t kv_len,
                       bool bias) {
  push(name);
  const std::uint64_t dim = q_in.dim, head_dim = dim / heads, group = heads / kv_heads;
  const Seq q = linear("q_proj", q_in, dim, bias);
  // Decode: the new token's K and V are computed and appended to the cache,
  // and attention reads the whole cache (kv_len tokens) from DRAM.
  const Seq& source = kv_in ? *kv_in : q_in;
  const Seq k = linear("k_proj", source, kv_heads * head_dim, bias);
  const Seq v = linear("v_proj", source, kv_heads * head_dim, bias);
  const std::uint64_t kv_tokens = kv_in ? kv_in->tokens : kv_len;
  auto matmul = [&](const std::string& n, std::size_t input, std::size_t second, std::uint64_t cols,
                    std::uint64_t reduce) {
    Layer l;
    l.name = n;
    l.kind = LayerKind::kGemm;
    l.batch = m_batch * kv_heads;
    l.m = group * q_in.tokens;
    l.n = cols;
    l.k = reduce;
    if (kv_in) {
      l.second = OperandSource::kProducer;
      l.second_producer = second;
    } else {
      l.second = OperandSource::kExternal;
    }
    return append(std::move(l), {input});
  };
  const std::size_t scores = matmul("scores", *q.id, *k.id, kv_tokens, head_dim);
  const std::uint64_t rows = m_batch * heads * q_in.tokens;
  const std::size_t softmax = append(vector_layer("softmax", VectorOp::kSoftmax, rows, kv_tokens,
                                                  rows * kv_tokens, rows * kv_tokens),
                                     {scores});
  const std::size_t context = matmul("context", softmax, *v.id, head_dim, kv_tokens);
  ++m_attention_blocks;
  if (m_attention) {
    for (std::size_t i : {scores, softmax, context}) {
      m_workload.layers[i].dtype = *m_attention;
      if (m_workload.layers[i].on_array()) m_workload.layers[i].weight_dtype = *m_attention;
    }
  }
  if (!kv_in) {
    // The cache operands were not produced here; the new K and V still are.
    m_workload.layers[scores].inputs.push_back(*k.id);
    m_workload.layers[context].inputs.push_back(*v.id);
  }
  const Seq out = linear("o_proj", {context, q_in.tokens, dim}, dim, bias);
  pop();
  return out;
}

Seq Builder::selective_scan(const std::string& name, const Seq& x, std::uint64_t state) {
  Layer l = vector_layer(name, VectorOp::kSelectiveScan, m_batch * x.dim, x.tokens,
                         m_batch * (2 * x.tokens * x.dim + 2 * x.tokens * state),
                         m_batch * x.tokens * x.dim);
  l.work.state = state;
  l.extra_params = x.dim * state + x.dim;  // A and D
  return {append(std::move(l), {x.id}), x.tokens, x.dim};
}

Workload Builder::finish() {
  return std::move(m_workload);
}

}  // namespace tessel::workloads::zoo
