#include <cstdio>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arch/config.h"
#include "arch/error.h"
#include "arch/overrides.h"
#include "arch/scalesim_cfg.h"
#include "input_error.h"
#include "test_paths.h"

namespace tessel {
namespace {

using ::testing::HasSubstr;
using testing::input_error_of;
using testing::source_path;

nlohmann::json base() {
  return nlohmann::json::parse(R"({
    "name": "t", "clock_mhz": 1000,
    "array": {"rows": 4, "cols": 4, "dataflow": "ws"},
    "sram": [{"name": "buf", "capacity_bytes": 4096, "banks": 2, "bank_bytes_per_cycle": 4,
              "holds": ["input", "weight", "output"]}],
    "dma": {"channels": 1, "bytes_per_cycle": 8},
    "dram": {"channels": 1, "channel_bandwidth_gb_per_s": 4}
  })");
}

std::string error_of(const nlohmann::json& j) {
  return input_error_of([&] { arch::parse_config(j, "hw.json"); });
}

TEST(Config, ParsesAndDerivesRates) {
  const auto c = arch::parse_config(base(), "hw.json");
  EXPECT_EQ(c.array.rows, 4u);
  EXPECT_EQ(c.sram[0].slots(), 2u);
  EXPECT_EQ(c.sram[0].tile_budget_bytes(), 2048u);
  EXPECT_EQ(c.sram[0].slot_port_rate().millibytes_per_cycle(), 4000u);  // 1 bank x 4 B per half
  EXPECT_EQ(c.dram.rate.millibytes_per_cycle(), 4000u);                 // 4 GB/s at 1 GHz
  EXPECT_EQ(c.path(arch::Operand::kWeight), std::vector<std::size_t>{0});
}

TEST(Config, FractionalDramBandwidthAndLatencyRoundUp) {
  auto j = base();
  j["clock_mhz"] = 800;
  j["dram"]["channel_bandwidth_gb_per_s"] = 12.8;
  j["dram"]["latency_ns"] = 100.5;
  const auto c = arch::parse_config(j, "hw.json");
  EXPECT_EQ(c.dram.rate.millibytes_per_cycle(), 16000u);  // 12.8e9 / 800e6 = 16 B/cycle
  EXPECT_EQ(c.dram.latency_cycles.count(), 81u);          // ceil(100.5 ns * 0.8 GHz)
}

TEST(Config, ErrorsNameFileAndPath) {
  auto j = base();
  j["sram"][0]["banks"] = 3;
  EXPECT_EQ(error_of(j), "hw.json: arch.sram[0].banks: must be a power of two, got 3");
  j = base();
  j["array"]["rowz"] = 4;
  EXPECT_EQ(error_of(j), "hw.json: arch.array.rowz: unknown key");
  j = base();
  j["array"].erase("rows");
  EXPECT_EQ(error_of(j), "hw.json: arch.array.rows: required key is missing");
  j = base();
  j["array"]["dataflow"] = "rs";
  EXPECT_EQ(error_of(j), "hw.json: arch.array.dataflow: must be one of os, ws, is, got \"rs\"");
  j = base();
  j["controller"]["issue_cycles"] = -1;
  EXPECT_EQ(error_of(j),
            "hw.json: arch.controller.issue_cycles: expected a non-negative integer, got -1");
  j = base();
  j["controller"]["dispatch"] = 1;
  EXPECT_EQ(error_of(j), "hw.json: arch.controller.dispatch: unknown key");
  j = base();
  j["array"]["weight_preload"] = "double";
  EXPECT_EQ(
      error_of(j),
      "hw.json: arch.array.weight_preload: must be one of serial, overlapped, got \"double\"");
  j = base();
  j["array"]["dataflow"] = "os";
  j["array"]["weight_preload"] = "overlapped";
  EXPECT_EQ(error_of(j),
            "hw.json: arch.array.weight_preload: 'overlapped' needs a dataflow that preloads a "
            "stationary operand (ws or is); os preloads none");
  j = base();
  j["sram"][0]["holds"] = {"input", "output"};
  EXPECT_EQ(error_of(j), "hw.json: arch.sram: no buffer holds the weight operand");
  j = base();
  j["clock_mhz"] = -1;
  EXPECT_EQ(error_of(j), "hw.json: arch.clock_mhz: must be greater than 0, got -1");
  j = base();
  j["dma"]["channels"] = "two";
  EXPECT_EQ(error_of(j),
            "hw.json: arch.dma.channels: expected a non-negative integer, got \"two\"");
  j = base();
  j["sram"][0]["banks"] = 1;
  EXPECT_THAT(error_of(j),
              HasSubstr("arch.sram[0].banks: a double-buffered buffer needs at least 2"));
}

TEST(Config, OverridesWithAndWithoutRootPrefix) {
  auto j = base();
  apply_override(j, "arch.array.rows=16", "arch");
  apply_override(j, "sram[0].capacity_bytes=8192", "arch");
  apply_override(j, "array.dataflow=os", "arch");
  const auto c = arch::parse_config(j, "hw.json");
  EXPECT_EQ(c.array.rows, 16u);
  EXPECT_EQ(c.sram[0].capacity_bytes, 8192u);
  EXPECT_EQ(c.array.dataflow, arch::Dataflow::kOutputStationary);
  EXPECT_EQ(c.resolved["array"]["rows"], 16);
}

TEST(Config, OverrideErrors) {
  auto j = base();
  EXPECT_THROW(apply_override(j, "array.rows", "arch"), InputError);
  EXPECT_EQ(input_error_of([&] { apply_override(j, "sram[3].banks=2", "arch"); }),
            "--set sram[3].banks=2: arch.sram has 1 elements, no index 3");
  // A missing section is created, and validation rejects an unknown one.
  auto sectioned = j;
  apply_override(sectioned, "nope.rows=2", "arch");
  EXPECT_EQ(error_of(sectioned), "hw.json: arch.nope: unknown key");
  // A new key is accepted by --set but rejected by validation.
  apply_override(j, "array.colz=2", "arch");
  EXPECT_EQ(error_of(j), "hw.json: arch.array.colz: unknown key");
}

TEST(Config, ExampleConfigsLoad) {
  for (const char* f : {"configs/arch/edge_npu.json", "configs/arch/tpu_v1_like.json",
                        "configs/arch/gemmini_like.json", "configs/arch/scalesim_32x32_ws.cfg",
                        "configs/arch/fsd_npu_like.json"}) {
    EXPECT_NO_THROW(arch::load_config(source_path(f))) << f;
  }
  const auto tpu = arch::load_config(source_path("configs/arch/tpu_v1_like.json"));
  EXPECT_EQ(tpu.array.rows * tpu.array.cols, 65536u);
  EXPECT_EQ(tpu.clock_mhz, 700.0);
}

TEST(Config, InvalidJsonNamesLine) {
  const std::string path = ::testing::TempDir() + "/bad.json";
  std::ofstream(path) << "{\n  \"name\": \"x\",\n  \"clock_mhz\": ,\n}\n";
  EXPECT_THAT(input_error_of([&] { arch::load_config(path); }),
              HasSubstr(path + ":3: invalid JSON"));
}

TEST(ScaleSimCfg, TranslatesArchitecturePresets) {
  const auto c = arch::load_config(source_path("configs/arch/scalesim_32x32_ws.cfg"));
  EXPECT_EQ(c.array.rows, 32u);
  EXPECT_EQ(c.array.cols, 32u);
  EXPECT_EQ(c.array.dataflow, arch::Dataflow::kWeightStationary);
  ASSERT_EQ(c.sram.size(), 3u);
  EXPECT_EQ(c.sram[0].capacity_bytes, 1024u * 1024);      // IfmapSramSzkB
  EXPECT_EQ(c.sram[0].tile_budget_bytes(), 512u * 1024);  // half per buffer, as SCALE-Sim
  EXPECT_EQ(c.sram[2].capacity_bytes, 512u * 1024);
  EXPECT_EQ(c.dram.rate.millibytes_per_cycle(), 3u * 16000);  // Bandwidth per operand interface
  EXPECT_EQ(c.dma.bytes_per_cycle, 16u);
}

TEST(ScaleSimCfg, ErrorsNameLine) {
  const std::string path = ::testing::TempDir() + "/bad.cfg";
  std::ofstream(path) << "[architecture_presets]\nArrayHeight: 8\nArrayWidht: 8\n";
  EXPECT_EQ(input_error_of([&] { arch::scalesim_cfg_to_json(path); }),
            path + ":3: unknown SCALE-Sim key \"ArrayWidht\"");
  std::ofstream(path) << "[a]\nArrayHeight: 8\nArrayWidth: x\nDataflow: ws\nBandwidth: 4\n"
                         "IfmapSramSzkB: 1\nFilterSramSzkB: 1\nOfmapSramSzkB: 1\n";
  EXPECT_EQ(input_error_of([&] { arch::scalesim_cfg_to_json(path); }),
            path + ":3: arraywidth: expected a positive integer, got \"x\"");
}

}  // namespace
}  // namespace tessel
