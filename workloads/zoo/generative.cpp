// Generative and sequence-model families:
//   unet  - the denoising U-Net of diffusion models (Ho et al., "Denoising
//           Diffusion Probabilistic Models", 2020; Rombach et al., latent
//           diffusion, 2022): residual blocks with group norm and SiLU,
//           self-attention at the deeper levels, skip concatenations.
//   mamba - a stack of Mamba blocks (Gu & Dao, "Mamba: Linear-Time Sequence
//           Modeling with Selective State Spaces", 2023; default Mamba-130M:
//           24 layers, d_model 768, state 16, expand 2, conv 4).

#include <cmath>

#include <fmt/format.h>

#include "arch/error.h"
#include "workloads/zoo/blocks.h"
#include "workloads/zoo/registry.h"

namespace tessel::workloads::zoo {
namespace {

using arch::VectorOp;

Map res_block(Builder& b, const Map& x, std::uint64_t out) {
  Map h = b.act("act1", b.group_norm("norm1", x, 32), VectorOp::kSilu);
  h = b.conv("conv1", h, out, 3);
  h = b.act("act2", b.group_norm("norm2", h, 32), VectorOp::kSilu);
  h = b.conv("conv2", h, out, 3);
  const Map skip = x.c == out ? x : b.conv("skip", x, out, 1, 1, 1, {}, 0);
  return b.add("add", h, skip);
}

Map attn_block(Builder& b, const Map& x, std::uint64_t head_channels) {
  const Map n = b.group_norm("norm", x, 32);
  const Seq s = b.flatten(n);
  const std::uint64_t heads = std::max<std::uint64_t>(1, x.c / head_channels);
  const Seq a = b.attention("attn", s, s, heads, heads, s.tokens);
  return b.add("add", x, b.unflatten(a, x.h, x.w));
}

Workload build_unet(const ModelParams& p, Builder& b) {
  const auto base = static_cast<std::uint64_t>(p.integer("base_channels"));
  const auto levels = static_cast<std::uint64_t>(p.integer("levels"));
  const auto attention_from = static_cast<std::uint64_t>(p.integer("attention_from"));
  const auto res = static_cast<std::uint64_t>(p.integer("resolution"));
  const auto in_c = static_cast<std::uint64_t>(p.integer("in_channels"));
  const std::uint64_t blocks = 2, head_channels = 64;
  if (res % (1u << (levels - 1)) != 0) {
    throw InputError(
        fmt::format("workload unet: resolution {} must be divisible by 2^(levels-1) = {}", res,
                    1u << (levels - 1)));
  }
  auto channels = [&](std::uint64_t level) {
    return base * std::min<std::uint64_t>(1u << level, 4);
  };
  Map x = b.conv("conv_in", b.image(res, res, in_c), base, 3);
  std::vector<Map> skips = {x};
  for (std::uint64_t l = 0; l < levels; ++l) {
    for (std::uint64_t i = 0; i < blocks; ++i) {
      b.push(fmt::format("down{}.res{}", l, i));
      x = res_block(b, x, channels(l));
      b.pop();
      if (l >= attention_from) {
        b.push(fmt::format("down{}.attn{}", l, i));
        x = attn_block(b, x, head_channels);
        b.pop();
      }
      skips.push_back(x);
    }
    if (l + 1 < levels) {
      x = b.conv(fmt::format("down{}.downsample", l), x, x.c, 3, 2);
      skips.push_back(x);
    }
  }
  b.push("mid.res0");
  x = res_block(b, x, x.c);
  b.pop();
  b.push("mid.attn");
  x = attn_block(b, x, head_channels);
  b.pop();
  b.push("mid.res1");
  x = res_block(b, x, x.c);
  b.pop();
  for (std::uint64_t l = levels; l-- > 0;) {
    for (std::uint64_t i = 0; i <= blocks; ++i) {
      const std::string scope = fmt::format("up{}.", l);
      x = b.concat(fmt::format("{}cat{}", scope, i), x, skips.back());
      skips.pop_back();
      b.push(fmt::format("{}res{}", scope, i));
      x = res_block(b, x, channels(l));
      b.pop();
      if (l >= attention_from) {
        b.push(fmt::format("{}attn{}", scope, i));
        x = attn_block(b, x, head_channels);
        b.pop();
      }
    }
    if (l > 0) {
      x = b.upsample(fmt::format("up{}.upsample", l), x, 2);
      x = b.conv(fmt::format("up{}.upconv", l), x, x.c, 3);
    }
  }
  x = b.act("out.act", b.group_norm("out.norm", x, 32), VectorOp::kSilu);
  b.conv("conv_out", x, in_c, 3);
  return b.finish();
}

TESSEL_REGISTER_MODEL(ModelFamily{
    "unet",
    "Diffusion U-Net (DDPM / latent diffusion); default 128 base channels, 4 levels, 32x32x4 "
    "latent, "
    "attention at levels 2 and deeper; one denoising step",
    {{"base_channels",
      ParamSpec::Type::kInt,
      "128",
      "channels at the first level (x1, x2, x4, x4...)",
      32,
      2048,
      {}},
     {"levels", ParamSpec::Type::kInt, "4", "resolution levels", 1, 6, {}},
     {"attention_from", ParamSpec::Type::kInt, "2", "first level with self-attention", 0, 8, {}},
     {"resolution", ParamSpec::Type::kInt, "32", "input height and width", 8, 1024, {}},
     {"in_channels", ParamSpec::Type::kInt, "4", "input channels (4 for a latent)", 1, 64, {}}},
    build_unet});

Workload build_mamba(const ModelParams& p, Builder& b) {
  const auto d = static_cast<std::uint64_t>(p.integer("d_model"));
  const auto state = static_cast<std::uint64_t>(p.integer("d_state"));
  const auto inner = d * static_cast<std::uint64_t>(p.integer("expand"));
  const auto seq = static_cast<std::uint64_t>(p.integer("sequence"));
  const std::uint64_t dt_rank = (d + 15) / 16;
  const std::uint64_t vocab = static_cast<std::uint64_t>(p.integer("vocab"));
  Seq x = b.embedding("embedding", seq, d, vocab);
  for (std::int64_t l = 0; l < p.integer("layers"); ++l) {
    b.push(fmt::format("layer{}", l));
    const Seq h = b.norm("norm", x, VectorOp::kRmsNorm);
    const Seq xs = b.linear("in_proj_x", h, inner, false);
    const Seq z = b.linear("in_proj_z", h, inner, false, VectorOp::kSilu);
    Seq u = b.conv1d_depthwise("conv1d", xs, static_cast<std::uint64_t>(p.integer("d_conv")));
    u = b.act("conv_act", u, VectorOp::kSilu);
    const Seq proj = b.linear("x_proj", u, dt_rank + 2 * state, false);
    b.linear("dt_proj", proj, inner, true, VectorOp::kSigmoid);  // softplus, costed as a sigmoid
    const Seq y = b.selective_scan("scan", u, state);
    const Seq gated = b.mul("gate", y, z);
    const Seq out = b.linear("out_proj", gated, d, false);
    x = b.add("add", x, out);
    b.pop();
  }
  x = b.norm("norm_f", x, VectorOp::kRmsNorm);
  b.linear("lm_head", {x.id, 1, d}, vocab, false);
  b.tie_weights();
  return b.finish();
}

TESSEL_REGISTER_MODEL(ModelFamily{
    "mamba",
    "Mamba selective state-space model (Gu & Dao 2023); default Mamba-130M over 1024 tokens",
    {{"layers", ParamSpec::Type::kInt, "24", "Mamba blocks", 1, 512, {}},
     {"d_model", ParamSpec::Type::kInt, "768", "model width", 8, 65536, {}},
     {"d_state", ParamSpec::Type::kInt, "16", "SSM state size", 1, 1024, {}},
     {"expand", ParamSpec::Type::kInt, "2", "inner width / d_model", 1, 8, {}},
     {"d_conv", ParamSpec::Type::kInt, "4", "causal conv width", 1, 16, {}},
     {"sequence", ParamSpec::Type::kInt, "1024", "tokens", 1, 1 << 20, {}},
     {"vocab", ParamSpec::Type::kInt, "50280", "vocabulary size", 1, 1000000, {}}},
    build_mamba});

}  // namespace
}  // namespace tessel::workloads::zoo
