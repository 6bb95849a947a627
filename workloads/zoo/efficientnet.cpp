// EfficientNet B0..B3 (Tan & Le, "EfficientNet: Rethinking Model Scaling for
// Convolutional Neural Networks", ICML 2019): MBConv blocks with
// squeeze-and-excitation, compound scaling of width, depth and resolution.
// Batch norm folded; SiLU (swish) fused.

#include <cmath>

#include <fmt/format.h>

#include "workloads/zoo/blocks.h"
#include "workloads/zoo/registry.h"

namespace tessel::workloads::zoo {
namespace {

using arch::VectorOp;

Workload build_efficientnet(const ModelParams& p, Builder& b) {
  struct Scale {
    const char* name;
    double width, depth;
    std::uint64_t resolution;
  };
  // Table from the paper's Keras reference (width, depth, resolution).
  const Scale scales[] = {
      {"b0", 1.0, 1.0, 224}, {"b1", 1.0, 1.1, 240}, {"b2", 1.1, 1.2, 260}, {"b3", 1.2, 1.4, 300}};
  Scale s = scales[0];
  for (const auto& c : scales) {
    if (p.text("variant") == c.name) s = c;
  }
  const std::uint64_t res = p.integer("resolution") > 0
                                ? static_cast<std::uint64_t>(p.integer("resolution"))
                                : s.resolution;
  auto filters = [&](std::uint64_t c) { return make_divisible(c * s.width); };
  auto repeats = [&](std::uint64_t r) {
    return static_cast<std::uint64_t>(std::ceil(s.depth * r));
  };
  struct Stage {
    std::uint64_t expand, kernel, stride, out, repeats;
  };
  const Stage stages[] = {{1, 3, 1, 16, 1},  {6, 3, 2, 24, 2},  {6, 5, 2, 40, 2}, {6, 3, 2, 80, 3},
                          {6, 5, 1, 112, 3}, {6, 5, 2, 192, 4}, {6, 3, 1, 320, 1}};
  Map x = b.conv("stem", b.image(res, res, 3), filters(32), 3, 2, 1, VectorOp::kSilu);
  int index = 0;
  for (const auto& st : stages) {
    const std::uint64_t out = filters(st.out);
    for (std::uint64_t i = 0; i < repeats(st.repeats); ++i) {
      b.push(fmt::format("block{}", index++));
      const std::uint64_t stride = i == 0 ? st.stride : 1, hidden = x.c * st.expand;
      Map y = x;
      if (st.expand != 1) y = b.conv("expand", y, hidden, 1, 1, 1, VectorOp::kSilu);
      y = b.conv("dw", y, hidden, st.kernel, stride, hidden, VectorOp::kSilu);
      // Squeeze and excitation on a quarter of the block's input channels.
      const std::uint64_t squeeze = std::max<std::uint64_t>(1, x.c / 4);
      Map se = b.global_pool("se.pool", y);
      se = b.conv("se.reduce", se, squeeze, 1, 1, 1, VectorOp::kSilu);
      se = b.conv("se.expand", se, hidden, 1, 1, 1, VectorOp::kSigmoid);
      y = b.scale("se.scale", y, se);
      y = b.conv("project", y, out, 1);
      x = (stride == 1 && x.c == out) ? b.add("add", y, x) : y;
      b.pop();
    }
  }
  x = b.conv("head", x, filters(1280), 1, 1, 1, VectorOp::kSilu);
  b.classifier("classifier", x, static_cast<std::uint64_t>(p.integer("classes")));
  return b.finish();
}

TESSEL_REGISTER_MODEL(ModelFamily{
    "efficientnet",
    "EfficientNet (Tan & Le 2019) with compound scaling; default B0 at 224x224",
    {{"variant",
      ParamSpec::Type::kChoice,
      "b0",
      "compound-scaling member",
      0,
      0,
      {"b0", "b1", "b2", "b3"}},
     {"resolution",
      ParamSpec::Type::kInt,
      "0",
      "input size; 0 = the variant's (224, 240, 260, 300)",
      0,
      4096,
      {}},
     classifier_classes_param()},
    build_efficientnet});
TESSEL_REGISTER_PRESET(ModelPreset{"efficientnet_b0", "efficientnet", "variant=b0"});
TESSEL_REGISTER_PRESET(ModelPreset{"efficientnet_b1", "efficientnet", "variant=b1"});
TESSEL_REGISTER_PRESET(ModelPreset{"efficientnet_b2", "efficientnet", "variant=b2"});
TESSEL_REGISTER_PRESET(ModelPreset{"efficientnet_b3", "efficientnet", "variant=b3"});

}  // namespace
}  // namespace tessel::workloads::zoo
