#pragma once
// Closed-form cycles of the vector unit. Each operator is a count of
// element operations per class (ALU, transcendental: exp/tanh/sigmoid,
// divide: div/rsqrt/reciprocal); a class with work costs
//   latency_cycles + ceil(operations / lanes) x cycles_per_element.
// The per-operator counts are listed in docs/simulator.md.

#include <cstdint>
#include <optional>
#include <string>

#include "arch/config.h"

namespace tessel::arch {

enum class VectorOp : std::uint8_t {
  kRelu,
  kGelu,
  kSilu,
  kSigmoid,
  kTanh,  // activations, one input
  kAdd,
  kMul,  // elementwise, two inputs
  kSoftmax,
  kLayerNorm,
  kRmsNorm,  // row-wise
  kMaxPool,
  kAvgPool,
  kGlobalAvgPool,  // pooling
  kUpsampleNearest,
  kUpsampleBilinear,  // resize
  kSelectiveScan,     // SSM scan (Mamba)
  // Primitives exported graphs decompose operators into (ONNX):
  kSub,
  kExp,
  kErf,
  kDiv,
  kSqrt,
  kReduceMean,
  // Fused attention tiled over the KV length (FlashAttention-2, Dao 2023,
  // Algorithm 1), one KV block of a query tile at a time:
  kOnlineSoftmax,  // a score block: row max, running max, exp, row sum, rescale factor
  kRowScale,       // the output rows times the running rescale factor
  kRowNormalize,   // the output rows divided by the running sum (1/l, then a multiply)
};

std::string to_string(VectorOp op);
// Whether the operator works on whole rows (a softmax or a norm: a tile
// must hold all of a row).
constexpr bool is_row_wise(VectorOp op) {
  return op == VectorOp::kSoftmax || op == VectorOp::kLayerNorm || op == VectorOp::kRmsNorm;
}
std::optional<VectorOp> parse_vector_op(const std::string& name);
std::string vector_op_names();

// The work of one vector instruction over `rows` independent rows of
// `row_length` elements (outputs, for pooling and resize). `window`: pool
// window size (kh x kw); `state`: SSM state size N.
struct VectorWork {
  VectorOp op = VectorOp::kRelu;
  std::uint64_t rows = 1;
  std::uint64_t row_length = 1;
  std::uint64_t window = 1;
  std::uint64_t state = 1;
};

struct VectorOpCounts {
  std::uint64_t alu = 0, transcendental = 0, divide = 0;
};

VectorOpCounts vector_op_counts(const VectorWork& work);
Cycles vector_cycles(const VectorConfig& unit, const VectorWork& work);

}  // namespace tessel::arch
