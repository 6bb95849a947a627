// An autonomous-driving perception model composed from the zoo's parts, in
// the style of query-based multi-camera 3-D detectors (DETR3D, Wang et al.
// 2021; PETR, Liu et al. 2022): every camera image through a shared ResNet
// backbone, an FPN-style neck to 256 channels at stride 16, then a
// transformer decoder whose object queries attend to the tokens of all
// cameras, and class / box heads.

#include <fmt/format.h>

#include "arch/error.h"
#include "workloads/zoo/blocks.h"
#include "workloads/zoo/registry.h"

namespace tessel::workloads::zoo {
namespace {

using arch::VectorOp;

Workload build_perception(const ModelParams& p, Builder& b) {
  const auto cameras = static_cast<std::uint64_t>(p.integer("cameras"));
  const auto samples = b.batch();
  const auto dim = static_cast<std::uint64_t>(p.integer("dim"));
  const auto queries = static_cast<std::uint64_t>(p.integer("queries"));
  const auto heads = static_cast<std::uint64_t>(p.integer("heads"));
  const auto height = p.integer("height"), width = p.integer("width");
  if (height % 32 != 0 || width % 32 != 0 || dim % heads != 0) {
    throw InputError(
        fmt::format("workload perception: height and width must be multiples of 32 and "
                    "heads must divide dim (got {}x{}, dim {}, heads {})",
                    height, width, dim, heads));
  }
  // Backbone and neck run per camera image.
  b.set_batch(samples * cameras);
  b.push("backbone");
  const auto stages = resnet_trunk(b,
                                   b.image(static_cast<std::uint64_t>(p.integer("height")),
                                           static_cast<std::uint64_t>(p.integer("width")), 3),
                                   static_cast<int>(p.integer("backbone_depth")), 1.0);
  b.pop();
  b.push("neck");
  const Map c5 = b.conv("lateral5", stages[3], dim, 1, 1, 1, {}, 0);
  const Map c4 = b.conv("lateral4", stages[2], dim, 1, 1, 1, {}, 0);
  const Map p4 = b.conv("out4", b.add("merge4", c4, b.upsample("up5", c5, 2)), dim, 3);
  b.pop();
  // The decoder runs once per sample over the tokens of all its cameras.
  b.set_batch(samples);
  const Seq memory{p4.id, cameras * p4.h * p4.w, dim};
  Seq q = b.embedding("query_embed", queries, dim, queries);
  for (std::int64_t l = 0; l < p.integer("decoder_layers"); ++l) {
    b.push(fmt::format("decoder{}", l));
    Seq h = b.attention("self_attn", q, q, heads, heads, queries);
    q = b.norm("ln1", b.add("add1", q, h), VectorOp::kLayerNorm);
    h = b.attention("cross_attn", q, memory, heads, heads, memory.tokens);
    q = b.norm("ln2", b.add("add2", q, h), VectorOp::kLayerNorm);
    h = b.linear("ffn_up", q, 4 * dim, true, VectorOp::kRelu);
    h = b.linear("ffn_down", h, dim);
    q = b.norm("ln3", b.add("add3", q, h), VectorOp::kLayerNorm);
    b.pop();
  }
  b.linear("cls_head", q, static_cast<std::uint64_t>(p.integer("classes")));
  b.linear("box_head", q, 10);  // center, size, yaw (sin, cos), velocity
  return repeat_frames(b.finish(), static_cast<std::uint64_t>(p.integer("frames")));
}

TESSEL_REGISTER_MODEL(ModelFamily{
    "perception",
    "Multi-camera 3-D detection (DETR3D/PETR style): 6 cameras at 256x704 through a shared "
    "ResNet-50, "
    "FPN neck, 6-layer transformer decoder with 900 queries",
    {{"cameras", ParamSpec::Type::kInt, "6", "camera images per sample", 1, 16, {}},
     {"height", ParamSpec::Type::kInt, "256", "image height (a multiple of 32)", 32, 4096, {}},
     {"width", ParamSpec::Type::kInt, "704", "image width (a multiple of 32)", 32, 4096, {}},
     {"backbone_depth",
      ParamSpec::Type::kChoice,
      "50",
      "ResNet depth",
      0,
      0,
      {"18", "34", "50", "101"}},
     {"dim", ParamSpec::Type::kInt, "256", "neck and decoder width", 32, 4096, {}},
     {"queries", ParamSpec::Type::kInt, "900", "object queries", 1, 100000, {}},
     {"heads", ParamSpec::Type::kInt, "8", "attention heads (must divide dim)", 1, 64, {}},
     {"decoder_layers", ParamSpec::Type::kInt, "6", "decoder layers", 1, 64, {}},
     {"classes", ParamSpec::Type::kInt, "10", "object classes", 1, 1000, {}},
     {"frames",
      ParamSpec::Type::kInt,
      "1",
      "inferences in a row (a camera stream), sharing the weights",
      1,
      64,
      {}}},
    build_perception});

}  // namespace
}  // namespace tessel::workloads::zoo
