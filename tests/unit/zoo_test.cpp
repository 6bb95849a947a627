// The model zoo: published MAC and parameter counts, the registry, spec
// parsing and errors, and that every family lowers onto the default NPU.

#include <algorithm>
#include <numeric>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arch/config.h"
#include "arch/error.h"
#include "test_paths.h"
#include "workloads/estimate.h"
#include "workloads/lowering/lower.h"
#include "workloads/zoo/registry.h"

namespace tessel {
namespace {

using ::testing::HasSubstr;
using workloads::zoo::build;

void expect_within(double value, double published, double tolerance, const char* what) {
  EXPECT_NEAR(value, published, tolerance * published) << what;
}

TEST(Zoo, PublishedFigures) {
  // MACs count multiply-accumulates of convolutions and matmuls; 0 where the
  // source gives none. Parameters within 1%; MACs within 1%, or 2% where
  // the figure has two digits only.
  struct Published {
    const char* spec;
    double macs, macs_tolerance, params;
  };
  const Published published[] = {
      // ResNet-50 v1.5 at 224: 4.1 G MACs, 25.6 M parameters (He et al.
      // 2016; torchvision: 25,557,032 parameters).
      {"resnet50", 4.1e9, 0.01, 25.6e6},
      // ResNet-18: 1.8 G, 11.7 M (He et al. 2016, Table 1; torchvision
      // 11,689,512).
      {"resnet18", 1.82e9, 0.01, 11.69e6},
      // MobileNetV2 1.0 at 224: 300 M MACs, 3.4-3.5 M parameters (Sandler et
      // al. 2018, Table 4; torchvision 3,504,872).
      {"mobilenet_v2", 300e6, 0.01, 3.504e6},
      // ViT-B/16 at 224: 17.6 G MACs (often quoted as 17.6 GFLOPs), 86 M
      // parameters (Dosovitskiy et al. 2021, Table 1).
      {"vit", 17.6e9, 0.01, 86e6},
      // BERT-base: 110 M parameters (Devlin et al. 2019).
      {"bert", 0, 0, 110e6},
      // GPT-2 small: 124 M parameters (the released checkpoint: 124,439,808).
      {"gpt2", 0, 0, 124.44e6},
      // EfficientNet-B0: 5.3 M parameters and 0.39 G FLOPs (multiply-adds)
      // (Tan & Le 2019, Table 2; torchvision 5,288,548).
      {"efficientnet_b0", 0.39e9, 0.02, 5.288e6},
  };
  for (const auto& p : published) {
    const auto w = build(p.spec);
    if (p.macs > 0) EXPECT_NEAR(w.macs(), p.macs, p.macs_tolerance * p.macs) << p.spec << " MACs";
    EXPECT_NEAR(w.params(), p.params, 0.01 * p.params) << p.spec << " params";
  }
}

TEST(Zoo, EveryFamilyIsRegistered) {
  std::set<std::string> names;
  for (const auto& f : workloads::zoo::families()) names.insert(f.name);
  for (const char* expected : {"resnet", "mobilenet_v2", "efficientnet", "vit", "bert", "gpt",
                               "unet", "mamba", "perception"}) {
    EXPECT_TRUE(names.contains(expected)) << expected;
  }
}

TEST(Zoo, ParametersScaleTheNetwork) {
  // Width and resolution: the published MobileNetV2 grid (TF-Slim checkpoint
  // table): 0.75 at 192 is 153 M MACs, 1.4 at 224 is 582 M MACs.
  expect_within(build("mobilenet_v2:width_mult=0.75,resolution=192").macs(), 153e6, 0.01,
                "MobileNetV2 0.75/192 MACs");
  expect_within(build("mobilenet_v2:width_mult=1.4,resolution=224").macs(), 582e6, 0.01,
                "MobileNetV2 1.4/224 MACs");
  // Batch multiplies MACs exactly.
  EXPECT_EQ(build("resnet18:batch=4").macs(), 4 * build("resnet18").macs());
  // EfficientNet compound scaling grows monotonically.
  EXPECT_LT(build("efficientnet_b0").macs(), build("efficientnet_b1").macs());
  EXPECT_LT(build("efficientnet_b2").macs(), build("efficientnet_b3").macs());
}

TEST(Zoo, FirstAndLastLayersKeepTheirOwnPrecision) {
  // W4A8 with the stem and the classifier at int8: ResNet-50's conv1 is
  // 7x7x3x64 weights + 64 biases, its fc 2048x1000 + 1000.
  const auto w = build("resnet:weight_precision=int4,first_last_precision=int8");
  std::size_t first = w.layers.size(), last = 0;
  for (std::size_t i = 0; i < w.layers.size(); ++i) {
    if (!w.layers[i].on_array()) continue;
    first = std::min(first, i);
    last = i;
  }
  ASSERT_LT(first, last);
  for (std::size_t i : {first, last}) {
    EXPECT_EQ(w.layers[i].dtype, DType::kInt8) << w.layers[i].name;
    EXPECT_EQ(w.layers[i].weight_dtype, DType::kInt8) << w.layers[i].name;
  }
  EXPECT_EQ(w.layers[first].name, "conv1");
  EXPECT_EQ(w.layers[last].name, "fc");
  EXPECT_EQ(w.layers[first + 2].name, "layer1.0.conv1");
  EXPECT_EQ(w.layers[first + 2].weight_dtype, DType::kInt4);
  EXPECT_EQ(w.layers[first].params() + w.layers[last].params(),
            7u * 7 * 3 * 64 + 64 + 2048u * 1000 + 1000);
  // "same" leaves every layer alone.
  for (const auto& l : build("resnet:weight_precision=int4").layers) {
    if (l.on_array()) EXPECT_EQ(l.weight_dtype, DType::kInt4) << l.name;
  }
}

TEST(Zoo, AttentionPrecisionSetsTheScoreAndContextMatmuls) {
  const auto w = build("gpt:mode=decode,layers=2,kv_len=256,attention_precision=int4");
  std::size_t attention_layers = 0;
  for (const auto& l : w.layers) {
    const bool attention = l.name.find(".scores") != std::string::npos ||
                           l.name.find(".context") != std::string::npos ||
                           l.name.find(".softmax") != std::string::npos;
    if (attention) {
      ++attention_layers;
      EXPECT_EQ(l.dtype, DType::kInt4) << l.name;
      if (l.on_array()) EXPECT_EQ(l.weight_dtype, DType::kInt4) << l.name;
    } else if (l.on_array()) {
      EXPECT_EQ(l.dtype, DType::kInt8) << l.name;  // projections and MLP keep the model's type
    }
  }
  EXPECT_EQ(attention_layers, 2u * 3);
  // Layer at a time, at int4 the estimate's DRAM reads (each layer reads its
  // inputs once) drop by half of what the attention layers read at int8, per
  // block: the K and V caches (256 tokens x 768), the query (768) into the
  // scores, and the 12 heads x 256 scores into the softmax and into the
  // context.
  const auto config = arch::load_config(testing::source_path("configs/arch/edge_npu.json"),
                                        {"schedule.residency=none", "schedule.fusion=none"});
  const auto int8 = workloads::estimate(build("gpt:mode=decode,layers=2,kv_len=256"), config);
  const auto int4 = workloads::estimate(w, config);
  const std::uint64_t per_block_int8 = 2u * 256 * 768 + 768 + 2u * 12 * 256;
  EXPECT_EQ(int8.dram_read_bytes - int4.dram_read_bytes, 2 * per_block_int8 / 2);
  EXPECT_THROW(build("resnet:attention_precision=int4"), InputError);
}

TEST(Zoo, GroupedQueryAttentionAndKvCache) {
  const auto mha = build("gpt:mode=decode,kv_len=512");
  const auto gqa = build("gpt:mode=decode,kv_len=512,kv_heads=4");
  // K and V projections shrink from 768 to 4 x 64 outputs per layer.
  EXPECT_EQ(mha.params() - gqa.params(), 12ull * 2 * (768 * 768 + 768 - (768 * 256 + 256)));
  // Decode attends over the cache: scores are (heads/kv_heads) x 1 rows
  // against 512 cached keys per KV head.
  bool found = false;
  for (const auto& l : gqa.layers) {
    if (l.name == "h0.attn.scores") {
      found = true;
      EXPECT_EQ(l.second, workloads::OperandSource::kExternal);
      EXPECT_EQ(l.batch, 4u);
      EXPECT_EQ(l.m, 3u);
      EXPECT_EQ(l.n, 512u);
      EXPECT_EQ(l.k, 64u);
    }
  }
  EXPECT_TRUE(found);
}

std::string spec_error(const std::string& spec) {
  try {
    build(spec);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Zoo, SpecErrors) {
  EXPECT_THAT(spec_error("resnet49"),
              HasSubstr("workload spec \"resnet49\": no model \"resnet49\" (models:"));
  EXPECT_EQ(
      spec_error("resnet:depth=49"),
      "workload spec \"resnet:depth=49\": depth must be one of 18, 34, 50, 101, 152, got \"49\"");
  EXPECT_THAT(spec_error("vit:depht=6"),
              HasSubstr("vit has no parameter \"depht\" (it has patch, dim"));
  EXPECT_EQ(spec_error("vit:dim=x"),
            "workload spec \"vit:dim=x\": dim must be an integer, got \"x\"");
  EXPECT_EQ(
      spec_error("mobilenet_v2:width_mult=0"),
      "workload spec \"mobilenet_v2:width_mult=0\": width_mult must be in [0.1, 4], got \"0\"");
  EXPECT_EQ(spec_error("vit:heads=7"), "workload vit: heads 7 must divide dim 768");
  EXPECT_THAT(spec_error("resnet50:depth=18"), HasSubstr("preset resnet50 fixes depth=50"));
  EXPECT_THAT(spec_error("bert:layers"), HasSubstr("expected key=value, got \"layers\""));
}

TEST(Zoo, PrecisionParametersReachEveryLayer) {
  const auto w = build("resnet18:precision=int8,weight_precision=int4");
  for (const auto& l : w.layers) {
    EXPECT_EQ(l.dtype, DType::kInt8) << l.name;
    if (l.on_array()) {
      EXPECT_EQ(l.weight_dtype, DType::kInt4) << l.name;
    }
  }
  const auto config = arch::load_config(testing::source_path("configs/arch/gemmini_like.json"));
  EXPECT_THROW(workloads::lower(build("resnet18:precision=fp16"), config), InputError);
}

TEST(Zoo, EveryFamilyLowersOnTheDefaultNpu) {
  const auto config = arch::load_config(testing::source_path("configs/arch/edge_npu.json"));
  for (const char* spec :
       {"resnet18", "mobilenet_v2:resolution=128", "efficientnet_b0:resolution=128", "vit:depth=2",
        "bert:layers=2", "gpt:layers=2,sequence=64", "gpt:layers=2,mode=decode,kv_heads=4",
        "unet:base_channels=64,resolution=16", "mamba:layers=2,sequence=64",
        "perception:backbone_depth=18,decoder_layers=1", "resnet18:weight_precision=int4",
        "bert:layers=1,precision=fp16"}) {
    SCOPED_TRACE(spec);
    const auto w = build(spec);
    const auto lowered = workloads::lower(w, config);
    std::uint64_t macs = 0;
    for (const auto& i : lowered.trace.instructions) {
      if (i.op == workloads::Opcode::kGemm) macs += i.shape.macs();
    }
    EXPECT_EQ(macs, w.macs());
    EXPECT_EQ(lowered.mappings.size(), lowered.workload.layers.size());
    std::vector<std::size_t> members;  // every layer runs once, alone or fused
    for (const auto& g : lowered.groups) members.insert(members.end(), g.begin(), g.end());
    std::sort(members.begin(), members.end());
    std::vector<std::size_t> all(w.layers.size());
    std::iota(all.begin(), all.end(), 0);
    EXPECT_EQ(members, all);
  }
}

}  // namespace
}  // namespace tessel
