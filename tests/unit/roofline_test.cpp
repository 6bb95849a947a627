// Peak throughput, the roofline arithmetic, and the FSD-like preset's
// published peak.

#include <gtest/gtest.h>

#include "arch/config.h"
#include "arch/roofline.h"
#include "test_paths.h"

namespace tessel {
namespace {

using testing::source_path;

TEST(Roofline, FsdNpuPeakMatchesThePublishedFigure) {
  // 96 x 96 MACs x 2 operations x 2 GHz = 36.864 TOPS; Tesla publishes
  // 36.86 TOPS per NPU (Talpes et al., IEEE Micro 2020).
  const auto fsd = arch::load_config(source_path("configs/arch/fsd_npu_like.json"));
  EXPECT_DOUBLE_EQ(arch::peak_tops(fsd, DType::kInt8), 36.864);
  // TPU v1: 256 x 256 x 2 x 700 MHz = 91.75 TOPS (Jouppi et al. 2017: 92 TOPS).
  const auto tpu = arch::load_config(source_path("configs/arch/tpu_v1_like.json"));
  EXPECT_DOUBLE_EQ(arch::peak_tops(tpu, DType::kInt8), 91.7504);
  // The quarter-rate 16-bit mode.
  EXPECT_DOUBLE_EQ(arch::peak_tops(tpu, DType::kInt16), 91.7504 / 4);
  EXPECT_EQ(arch::peak_tops(tpu, DType::kFp16), 0.0);  // unsupported
}

TEST(Roofline, AttainableIsTheLowestRoof) {
  const auto c = arch::load_config(source_path("configs/arch/edge_npu.json"));
  // edge_npu: 1024 MACs/cycle; DRAM 25.6 B/cycle; array-side SRAM: gbuf
  // (input, 8 banks x 16 B per slot) + wbuf (2 x 32) + accbuf (2 x 64) = 320 B/cycle.
  EXPECT_DOUBLE_EQ(arch::dram_bytes_per_cycle(c), 25.6);
  EXPECT_DOUBLE_EQ(arch::array_sram_bytes_per_cycle(c), 320.0);
  // 1000 MACs per DRAM byte: DRAM roof 25,600 > peak -> peak.
  auto r = arch::roofline(c, 1024, 1000000, 1000, 0);
  EXPECT_DOUBLE_EQ(r.attainable_macs_per_cycle, 1024);
  // 2 MACs per DRAM byte (a GEMV): DRAM roof 51.2 MACs/cycle.
  r = arch::roofline(c, 1024, 2000, 1000, 0);
  EXPECT_DOUBLE_EQ(r.dram_intensity, 2.0);
  EXPECT_DOUBLE_EQ(r.attainable_macs_per_cycle, 51.2);
  // An SRAM roof below both: 1 MAC per array byte -> 320 MACs/cycle.
  r = arch::roofline(c, 1024, 1000, 1, 1000);
  EXPECT_DOUBLE_EQ(r.attainable_macs_per_cycle, 320.0);
}

}  // namespace
}  // namespace tessel
