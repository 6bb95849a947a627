// MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear
// Bottlenecks", CVPR 2018), torchvision layout: width multiplier applied
// with _make_divisible(8), last conv 1280 x max(1, width). Batch norm folded,
// ReLU6 fused (cost as ReLU).

#include <fmt/format.h>

#include "workloads/zoo/blocks.h"
#include "workloads/zoo/registry.h"

namespace tessel::workloads::zoo {
namespace {

using arch::VectorOp;

Workload build_mobilenet_v2(const ModelParams& p, Builder& b) {
  const double wm = p.real("width_mult");
  const auto res = static_cast<std::uint64_t>(p.integer("resolution"));
  struct Stage {
    std::uint64_t t, c, n, s;
  };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  Map x =
      b.conv("conv_stem", b.image(res, res, 3), make_divisible(32 * wm), 3, 2, 1, VectorOp::kRelu);
  int index = 0;
  for (const auto& st : stages) {
    const std::uint64_t out = make_divisible(st.c * wm);
    for (std::uint64_t i = 0; i < st.n; ++i) {
      b.push(fmt::format("block{}", index++));
      const std::uint64_t stride = i == 0 ? st.s : 1, hidden = x.c * st.t;
      Map y = x;
      if (st.t != 1) y = b.conv("expand", y, hidden, 1, 1, 1, VectorOp::kRelu);
      y = b.conv("dw", y, hidden, 3, stride, hidden, VectorOp::kRelu);
      y = b.conv("project", y, out, 1);
      x = (stride == 1 && x.c == out) ? b.add("add", y, x) : y;
      b.pop();
    }
  }
  x = b.conv("conv_head", x, make_divisible(1280 * std::max(1.0, wm)), 1, 1, 1, VectorOp::kRelu);
  b.classifier("classifier", x, static_cast<std::uint64_t>(p.integer("classes")));
  return b.finish();
}

TESSEL_REGISTER_MODEL(ModelFamily{
    "mobilenet_v2",
    "MobileNetV2 (Sandler et al. 2018, torchvision); default width 1.0 at 224x224",
    {{"width_mult",
      ParamSpec::Type::kReal,
      "1.0",
      "channel multiplier (published: 0.35 to 1.4)",
      0.1,
      4,
      {}},
     {"resolution", ParamSpec::Type::kInt, "224", "input height and width", 32, 4096, {}},
     classifier_classes_param()},
    build_mobilenet_v2});

}  // namespace
}  // namespace tessel::workloads::zoo
