#pragma once
// Building blocks shared by several zoo families.

#include <cmath>
#include <cstdint>
#include <vector>

#include "workloads/zoo/builder.h"

namespace tessel::workloads::zoo {

// torchvision's _make_divisible: round to a multiple of `divisor`, never
// more than 10% below the value.
inline std::uint64_t make_divisible(double value, std::uint64_t divisor = 8) {
  auto v = static_cast<std::uint64_t>(std::max<double>(
      divisor,
      static_cast<double>(static_cast<std::uint64_t>(value + divisor / 2.0) / divisor * divisor)));
  if (v < 0.9 * value) v += divisor;
  return v;
}

// ResNet stem and stages (He et al. 2016; torchvision v1.5: stride on the
// 3x3 conv). Returns the output of every stage (strides 4, 8, 16, 32).
std::vector<Map> resnet_trunk(Builder& b, const Map& image, int depth, double width_mult);

// A pre-norm transformer encoder layer: x + attn(norm(x)), x + mlp(norm(x)).
Seq transformer_layer(Builder& b, const Seq& x, std::uint64_t heads, std::uint64_t mlp_dim,
                      arch::VectorOp activation);

}  // namespace tessel::workloads::zoo
