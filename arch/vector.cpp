#include "arch/vector.h"

namespace tessel::arch {

namespace {
struct Name {
  VectorOp op;
  const char* name;
};
constexpr Name kNames[] = {
    {VectorOp::kRelu, "relu"},
    {VectorOp::kGelu, "gelu"},
    {VectorOp::kSilu, "silu"},
    {VectorOp::kSigmoid, "sigmoid"},
    {VectorOp::kTanh, "tanh"},
    {VectorOp::kAdd, "add"},
    {VectorOp::kMul, "mul"},
    {VectorOp::kSoftmax, "softmax"},
    {VectorOp::kLayerNorm, "layernorm"},
    {VectorOp::kRmsNorm, "rmsnorm"},
    {VectorOp::kMaxPool, "maxpool"},
    {VectorOp::kAvgPool, "avgpool"},
    {VectorOp::kGlobalAvgPool, "global_avgpool"},
    {VectorOp::kUpsampleNearest, "upsample_nearest"},
    {VectorOp::kUpsampleBilinear, "upsample_bilinear"},
    {VectorOp::kSelectiveScan, "selective_scan"},
    {VectorOp::kSub, "sub"},
    {VectorOp::kExp, "exp"},
    {VectorOp::kErf, "erf"},
    {VectorOp::kDiv, "div"},
    {VectorOp::kSqrt, "sqrt"},
    {VectorOp::kReduceMean, "reduce_mean"},
    {VectorOp::kOnlineSoftmax, "online_softmax"},
    {VectorOp::kRowScale, "row_scale"},
    {VectorOp::kRowNormalize, "row_normalize"},
};
}  // namespace

std::string to_string(VectorOp op) {
  for (const auto& n : kNames) {
    if (n.op == op) return n.name;
  }
  return "?";
}

std::optional<VectorOp> parse_vector_op(const std::string& name) {
  for (const auto& n : kNames) {
    if (name == n.name) return n.op;
  }
  return std::nullopt;
}

std::string vector_op_names() {
  std::string out;
  for (const auto& n : kNames) out += (out.empty() ? "" : ", ") + std::string(n.name);
  return out;
}

VectorOpCounts vector_op_counts(const VectorWork& w) {
  const std::uint64_t n = w.rows * w.row_length;
  switch (w.op) {
    case VectorOp::kRelu:
    case VectorOp::kAdd:
    case VectorOp::kMul:
    case VectorOp::kUpsampleNearest:
    case VectorOp::kSub:
    case VectorOp::kReduceMean:
      return {n, 0, 0};
    case VectorOp::kSigmoid:
    case VectorOp::kTanh:
    case VectorOp::kExp:
    case VectorOp::kErf:
      return {0, n, 0};
    case VectorOp::kSilu:
      return {n, n, 0};  // x * sigmoid(x)
    case VectorOp::kGelu:
      return {3 * n, n, 0};  // tanh form: cube, fma, tanh, scale
    case VectorOp::kSoftmax:
      return {3 * n, n, w.rows};  // max, sum, scale; exp; 1/sum
    case VectorOp::kLayerNorm:
      return {6 * n, 0, w.rows};  // mean, var (2), sub, mul, affine; rsqrt
    case VectorOp::kRmsNorm:
      return {4 * n, 0, w.rows};  // square, sum, scale, gain; rsqrt
    case VectorOp::kMaxPool:
      return {n * w.window, 0, 0};
    case VectorOp::kAvgPool:
      return {n * w.window + n, 0, 0};
    case VectorOp::kGlobalAvgPool:
      return {n + w.rows, 0, 0};  // rows = channels, length = H*W
    case VectorOp::kUpsampleBilinear:
      return {4 * n, 0, 0};
    case VectorOp::kDiv:
    case VectorOp::kSqrt:
      return {0, 0, n};
    case VectorOp::kOnlineSoftmax:
      // Per element: the block's row max, x - m, exp, the row sum; per row:
      // the new running max, exp(m_old - m_new), l = l * that + the sum (2).
      return {3 * n + 4 * w.rows, n + w.rows, 0};
    case VectorOp::kRowScale:
      return {n, 0, 0};
    case VectorOp::kRowNormalize:
      return {n, 0, w.rows};  // 1/l per row, then a multiply per element
    case VectorOp::kSelectiveScan:
      // Per (position, channel, state): exp(delta*A); h = dA*h + dB*x (3);
      // y += C*h (1). Plus the skip term D*x per (position, channel).
      return {4 * n * w.state + n, n * w.state, 0};
  }
  return {};
}

Cycles vector_cycles(const VectorConfig& unit, const VectorWork& work) {
  const VectorOpCounts c = vector_op_counts(work);
  auto cost = [&](std::uint64_t ops, const VectorClassConfig& k) {
    if (ops == 0) return Cycles(0);
    return Cycles(k.latency_cycles + ceil_div(ops, unit.lanes) * k.cycles_per_element);
  };
  return cost(c.alu, unit.alu) + cost(c.transcendental, unit.transcendental) +
         cost(c.divide, unit.divide);
}

}  // namespace tessel::arch
