#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arch/error.h"
#include "input_error.h"
#include "test_paths.h"
#include "workloads/importers.h"

namespace tessel {
namespace {

using ::testing::HasSubstr;
using testing::source_path;
using workloads::Layer;

TEST(Layer, ConvOutputSizeFollowsPyTorch) {
  EXPECT_EQ(workloads::conv_output_size(224, 7, 2, 3, 1), 112u);
  EXPECT_EQ(workloads::conv_output_size(56, 3, 2, 1, 1), 28u);
  EXPECT_EQ(workloads::conv_output_size(32, 3, 1, 2, 2), 32u);  // dilation 2, pad 2
  EXPECT_EQ(workloads::conv_output_size(2, 5, 1, 0, 1), 0u);
}

TEST(Layer, ConvGemmViewAndMacs) {
  Layer l;
  l.kind = workloads::LayerKind::kConv2d;
  l.in_h = l.in_w = 56;
  l.in_c = 64;
  l.out_c = 128;
  l.kernel_h = l.kernel_w = 3;
  l.groups = 2;
  l.out_h = l.out_w = 56;
  const auto g = l.gemm();
  EXPECT_EQ(g.m, 56u * 56);
  EXPECT_EQ(g.k, 32u * 9);
  EXPECT_EQ(g.n, 64u);
  EXPECT_EQ(g.batch, 2u);
  EXPECT_EQ(l.macs(), 56u * 56 * 128 * 32 * 9);
}

TEST(Layer, InputTileOfPointwiseConvIsTheFeatureMap) {
  Layer l;
  l.kind = workloads::LayerKind::kConv2d;
  l.in_h = l.in_w = l.out_h = l.out_w = 14;
  l.in_c = 256;
  l.out_c = 64;
  // 1x1: im2col is the feature map itself.
  EXPECT_EQ(l.input_tile_elements(14 * 14, 256), 14u * 14 * 256);
  // 3x3, stride 1: the whole map with all channels, not 9x more.
  l.kernel_h = l.kernel_w = 3;
  l.pad_h = l.pad_w = 1;
  EXPECT_EQ(l.input_tile_elements(14 * 14, 256 * 9), 14u * 14 * 256);
}

TEST(Workloads, PublishedMacCounts) {
  // ResNet-50 at 224: ~4.1 GMACs (He et al. 2016 report 3.8 G FLOPs counting
  // multiply-adds for v1; v1.5 with the stride on the 3x3 conv is 4.09 G).
  const auto r50 = workloads::load_workload(source_path("configs/workloads/resnet50.json"));
  EXPECT_NEAR(static_cast<double>(r50.macs()), 4.09e9, 0.01 * 4.09e9);
  EXPECT_EQ(r50.layers.size(), 54u);  // 49 convs + 4 downsamples + fc
  // MobileNetV2 1.0 at 224: 300 M multiply-adds (Sandler et al. 2018, Table 4).
  const auto mb2 = workloads::load_workload(source_path("configs/workloads/mobilenet_v2.json"));
  EXPECT_NEAR(static_cast<double>(mb2.macs()), 300e6, 0.01 * 300e6);
  // One BERT-base layer at sequence 128: 4 x 128 x 768^2 (projections)
  // + 2 x 128^2 x 768 (attention) + 2 x 128 x 768 x 3072 (FFN).
  const auto bert = workloads::load_workload(source_path("configs/workloads/bert_base_layer.json"));
  EXPECT_EQ(bert.macs(), 4ull * 128 * 768 * 768 + 2ull * 128 * 128 * 768 + 2ull * 128 * 768 * 3072);
}

TEST(Workloads, ScaleSimConvCsvRoundsOutputUp) {
  const auto w = workloads::load_workload(source_path("configs/workloads/alexnet_scalesim.csv"));
  ASSERT_EQ(w.layers.size(), 5u);
  const auto& c1 = w.layers[0];
  // ceil((227 - 11 + 4) / 4) = 55
  EXPECT_EQ(c1.out_h, 55u);
  EXPECT_EQ(c1.gemm().m, 55u * 55);
  EXPECT_EQ(c1.gemm().k, 11u * 11 * 3);
  EXPECT_EQ(c1.gemm().n, 96u);
  EXPECT_EQ(w.layers[1].out_h, 27u);  // ceil((31 - 5 + 1) / 1)
}

TEST(Workloads, ScaleSimGemmCsv) {
  const auto w = workloads::load_workload(source_path("configs/workloads/gemm_mnk_scalesim.csv"));
  ASSERT_EQ(w.layers.size(), 3u);
  EXPECT_EQ(w.layers[1].gemm().m, 128u);
  EXPECT_EQ(w.layers[1].gemm().n, 3072u);
  EXPECT_EQ(w.layers[1].gemm().k, 768u);
}

TEST(Workloads, ScaleSimDepthwiseByName) {
  const std::string path = ::testing::TempDir() + "/dw.csv";
  std::ofstream(path) << "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                         "Channels, Num Filter, Strides,\nConv_DP1, 10, 10, 3, 3, 32, 1, 1,\n";
  const auto w = workloads::load_workload(path);
  EXPECT_EQ(w.layers[0].groups, 32u);
  EXPECT_EQ(w.layers[0].macs(), 8u * 8 * 9 * 32);
}

TEST(Workloads, ScaleSimIgnoresANoteAfterTheLastComma) {
  // SCALE-Sim's own mobilnet_4k.csv marks its depthwise rows "1,#dw":
  // SCALE-Sim reads a row up to its last comma, so the note is not a
  // column. A row without its strides is still an error.
  const std::string path = ::testing::TempDir() + "/note.csv";
  std::ofstream(path) << "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                         "Channels, Num Filter, Strides,\nConv2_dw, 10, 10, 3, 3, 1, 1, 1,#dw\n"
                         "Conv3, 8, 8, 1, 1, 32, 64, 2, 1,# strides 2 x 1\n";
  const auto w = workloads::load_workload(path);
  ASSERT_EQ(w.layers.size(), 2u);
  EXPECT_EQ(w.layers[0].macs(), 8u * 8 * 9);
  EXPECT_EQ(w.layers[1].stride_h, 2u);
  EXPECT_EQ(w.layers[1].stride_w, 1u);
  const std::string bad = ::testing::TempDir() + "/nostride.csv";
  std::ofstream(bad) << "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                        "Channels, Num Filter, Strides,\nConv1, 10, 10, 3, 3, 1, 1,#dw\n";
  EXPECT_THAT(testing::input_error_of([&] { workloads::load_workload(bad); }),
              ::testing::HasSubstr(":2: column 8: expected an integer"));
}

std::string error_of(const std::string& text, const std::string& ext) {
  const std::string path = ::testing::TempDir() + "/w" + ext;
  std::ofstream(path) << text;
  const std::string m = testing::input_error_of([&] { workloads::load_workload(path); });
  return m.rfind(path, 0) == 0 ? m.substr(path.size()) : m;
}

TEST(Workloads, ErrorsNamePathOrLine) {
  EXPECT_EQ(error_of(R"({"layers":[{"name":"a","type":"conv2d","in_h":8,"in_w":8,"in_c":6,)"
                     R"("out_c":8,"kernel_h":3,"groups":4}]})",
                     ".json"),
            ": workload.layers[0].groups: must divide in_c (6), got 4");
  EXPECT_EQ(error_of(R"({"layers":[{"name":"a","type":"gemm","m":8,"n":8}]})", ".json"),
            ": workload.layers[0].k: required key is missing");
  EXPECT_THAT(
      error_of(R"({"layers":[{"name":"a","type":"pool"}]})", ".json"),
      ::testing::AllOf(HasSubstr(": workload.layers[0].type: must be one of conv2d, gemm, relu"),
                       HasSubstr("got \"pool\"")));
  EXPECT_EQ(error_of(R"({"layers":[]})", ".json"),
            ": workload.layers: must contain at least one layer");
  EXPECT_EQ(error_of("Layer, M, N, K,\nx, 4, 0, 4,\n", ".csv"),
            ":2: column 3: expected an integer in [1, 16777216], got \"0\"");
  EXPECT_EQ(
      error_of(R"({"layers":[{"name":"a","type":"gemm","m":16000000,"n":16000000,"k":16000000}]})",
               ".json"),
      ": workload.layers[0].name: layer \"a\" is too large: over 2^52 MACs");
  EXPECT_EQ(error_of(R"({"layers":[{"name":"a","type":"gemm","m":1e30,"n":1,"k":1}]})", ".json"),
            ": workload.layers[0].m: expected a non-negative integer, got 1e+30");
  EXPECT_THAT(error_of("a,b\n", ".csv"), HasSubstr(":1: not a SCALE-Sim topology header"));
  EXPECT_THAT(error_of("", ".pb"), HasSubstr("unknown workload format"));
  EXPECT_THAT(error_of("", ".onnx"), HasSubstr("not an ONNX model, or its graph is empty"));
}

}  // namespace
}  // namespace tessel
