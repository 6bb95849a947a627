// ResNet (He et al., "Deep Residual Learning for Image Recognition", CVPR
// 2016), torchvision v1.5 layout. Batch norm is folded into convolution
// biases (inference); ReLUs after convolutions are fused.

#include <fmt/format.h>

#include "workloads/zoo/blocks.h"
#include "workloads/zoo/registry.h"

namespace tessel::workloads::zoo {

using arch::VectorOp;

std::vector<Map> resnet_trunk(Builder& b, const Map& image, int depth, double width_mult) {
  const bool bottleneck = depth >= 50;
  std::vector<int> blocks = depth == 18    ? std::vector<int>{2, 2, 2, 2}
                            : depth == 34  ? std::vector<int>{3, 4, 6, 3}
                            : depth == 50  ? std::vector<int>{3, 4, 6, 3}
                            : depth == 101 ? std::vector<int>{3, 4, 23, 3}
                                           : std::vector<int>{3, 8, 36, 3};
  auto w = [&](std::uint64_t c) { return make_divisible(c * width_mult); };
  Map x = b.conv("conv1", image, w(64), 7, 2, 1, VectorOp::kRelu, 3);
  x = b.maxpool("maxpool", x, 3, 2, 1);
  std::vector<Map> stages;
  for (int s = 0; s < 4; ++s) {
    const std::uint64_t width = w(64u << s), out = bottleneck ? 4 * width : width;
    for (int i = 0; i < blocks[s]; ++i) {
      b.push(fmt::format("layer{}.{}", s + 1, i));
      const std::uint64_t stride = (s > 0 && i == 0) ? 2 : 1;
      Map y;
      if (bottleneck) {
        y = b.conv("conv1", x, width, 1, 1, 1, VectorOp::kRelu);
        y = b.conv("conv2", y, width, 3, stride, 1, VectorOp::kRelu);
        y = b.conv("conv3", y, out, 1);
      } else {
        y = b.conv("conv1", x, width, 3, stride, 1, VectorOp::kRelu);
        y = b.conv("conv2", y, width, 3);
      }
      const Map shortcut =
          (stride != 1 || x.c != out) ? b.conv("downsample", x, out, 1, stride, 1, {}, 0) : x;
      x = b.act("relu", b.add("add", y, shortcut), VectorOp::kRelu);
      b.pop();
    }
    stages.push_back(x);
  }
  return stages;
}

namespace {

Workload build_resnet(const ModelParams& p, Builder& b) {
  const auto res = static_cast<std::uint64_t>(p.integer("resolution"));
  const auto stages = resnet_trunk(b, b.image(res, res, 3), static_cast<int>(p.integer("depth")),
                                   p.real("width_mult"));
  b.classifier("fc", stages.back(), static_cast<std::uint64_t>(p.integer("classes")));
  return b.finish();
}

TESSEL_REGISTER_MODEL(ModelFamily{
    "resnet",
    "ResNet (He et al. 2016, torchvision v1.5); default ResNet-50 at 224x224",
    {{"depth",
      ParamSpec::Type::kChoice,
      "50",
      "18, 34 (basic blocks), 50, 101, 152 (bottlenecks)",
      0,
      0,
      {"18", "34", "50", "101", "152"}},
     {"width_mult", ParamSpec::Type::kReal, "1.0", "channel multiplier", 0.125, 8, {}},
     {"resolution", ParamSpec::Type::kInt, "224", "input height and width", 32, 4096, {}},
     classifier_classes_param()},
    build_resnet});
TESSEL_REGISTER_PRESET(ModelPreset{"resnet18", "resnet", "depth=18"});
TESSEL_REGISTER_PRESET(ModelPreset{"resnet34", "resnet", "depth=34"});
TESSEL_REGISTER_PRESET(ModelPreset{"resnet50", "resnet", "depth=50"});
TESSEL_REGISTER_PRESET(ModelPreset{"resnet101", "resnet", "depth=101"});

}  // namespace
}  // namespace tessel::workloads::zoo
