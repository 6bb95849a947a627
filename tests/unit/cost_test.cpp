// The energy, power and area models: the cited table, node scaling, the
// energy of action counts, area monotonicity and the TPU v1 calibration.
// Expected values are worked out here from the cited figures, not read
// back from the model.

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arch/config.h"
#include "arch/cost.h"
#include "arch/error.h"
#include "arch/json_reader.h"
#include "arch/technology.h"
#include "input_error.h"
#include "test_paths.h"

namespace tessel {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::input_error_of;
using testing::source_path;

nlohmann::json technology_file() {
  return load_json_file(source_path("arch/data/technology.json"));
}

// Stillmaker & Baas (2017) energy fit a V^2 + b V + c at the nominal Vdd.
double fit(double a, double b, double c, double v) {
  return a * v * v + b * v + c;
}

TEST(Technology, NodeScalesAreTheCitedValues) {
  const auto& t = arch::Technology::builtin();
  // Area: Stillmaker & Baas, scaling from 45 nm.
  const std::pair<int, double> area[] = {{65, 1.5},  {45, 1},    {32, 0.46}, {20, 0.21},
                                         {16, 0.19}, {14, 0.17}, {10, 0.1},  {7, 0.059}};
  for (const auto& [nm, scale] : area) EXPECT_DOUBLE_EQ(t.scale(nm)->area, scale) << nm;
  // Energy: the fits at each node's nominal Vdd over HP45 at 0.9 V, the
  // supply of Horowitz's 45 nm operator energies.
  const double e45 = fit(1.018, -0.3107, 0.1539, 0.9);
  EXPECT_NEAR(t.scale(32)->energy, fit(0.8367, -0.4341, 0.1701, 0.9) / e45, 1e-12);
  EXPECT_NEAR(t.scale(16)->energy, fit(0.2958, -0.1241, 0.03024, 0.85) / e45, 1e-12);
  EXPECT_NEAR(t.scale(7)->energy, fit(0.1776, -0.09097, 0.02447, 0.7) / e45, 1e-12);
  EXPECT_NEAR(t.scale(7)->energy, 0.0684, 1e-4);
  EXPECT_NEAR(t.scale(65)->energy, fit(3.755, -4.398, 1.975, 1.1) / e45, 1e-12);
  // Each fit is taken at the nominal supply of the PTM model card it was
  // fitted to (ptm.asu.edu); 45 nm at Horowitz's 0.9 V instead of PTM's 1.0.
  const auto j = technology_file();
  const std::pair<const char*, double> ptm_vdd[] = {{"65", 1.1},  {"32", 0.9}, {"20", 0.9},
                                                    {"16", 0.85}, {"14", 0.8}, {"10", 0.75},
                                                    {"7", 0.7},   {"45", 0.9}};
  for (const auto& [nm, vdd] : ptm_vdd) EXPECT_DOUBLE_EQ(j["nodes"][nm]["vdd"].get<double>(), vdd);
  // 28 nm: between 32 and 20 nm, linear in log-log.
  const double w = std::log(32.0 / 28) / std::log(32.0 / 20);
  EXPECT_NEAR(t.scale(28)->area, std::pow(0.46, 1 - w) * std::pow(0.21, w), 1e-12);
  EXPECT_NEAR(t.scale(28)->area, 0.368, 1e-3);
  // 5 nm: TSMC's N5 over N7, 1.8x density and 30% less power.
  EXPECT_NEAR(t.scale(5)->area, 0.059 / 1.8, 1e-5);
  EXPECT_NEAR(t.scale(5)->energy, t.scale(7)->energy * 0.7, 1e-12);
  // Another supply on a node with a fit: the same fit at that voltage.
  EXPECT_NEAR(t.scale(65, 1.0)->energy, fit(3.755, -4.398, 1.975, 1.0) / e45, 1e-12);
  EXPECT_DOUBLE_EQ(t.scale(65, 1.0)->area, 1.5);
  EXPECT_FALSE(t.scale(28, 0.8));  // interpolated: no fit
  // The nodes are all there; others are not invented.
  for (int nm : {45, 28, 16, 7, 5}) EXPECT_TRUE(t.scale(nm)) << nm;
  EXPECT_FALSE(t.scale(22));
}

TEST(Technology, DerivedValuesFollowTheirStatedRules) {
  const auto j = technology_file();
  const auto& ops = j["operations_45nm"];
  auto e = [&](const char* op) { return ops[op]["energy_pj"].get<double>(); };
  auto a = [&](const char* op) { return ops[op]["area_um2"].get<double>(); };
  EXPECT_NEAR(e("int4_mul"), e("int8_mul") / 4, 1e-9);
  EXPECT_NEAR(a("int4_mul"), a("int8_mul") / 4, 1e-9);
  EXPECT_NEAR(e("int16_mul"), e("int8_mul") * 4, 1e-9);
  EXPECT_NEAR(a("int16_mul"), a("int8_mul") * 4, 1e-9);
  EXPECT_NEAR(e("bf16_mul"), e("fp16_mul") * 64 / 121, 1e-4);
  EXPECT_NEAR(a("bf16_mul"), a("fp16_mul") * 64 / 121, 0.1);
  EXPECT_NEAR(e("fp8_mul"), e("fp16_mul") * 16 / 121, 1e-4);
  EXPECT_NEAR(a("fp8_mul"), a("fp16_mul") * 16 / 121, 0.1);
  // DDR3: the midpoint of Horowitz's 1.3-2.6 nJ per 64 bits.
  EXPECT_NEAR(j["dram_pj_per_bit"]["ddr3"]["value"].get<double>(), 1950.0 / 64, 0.01);
  // Keckler et al.: 310 pJ for 256 bits over 10 mm.
  EXPECT_NEAR(j["wire_pj_per_bit_mm"]["value"].get<double>(), 310.0 / 2560, 1e-4);
  // The calibration against the TPU v1 floor plan (331 mm^2, 28 nm).
  const auto& cal = j["calibration"];
  const double a28 = arch::Technology::builtin().scale(28)->area;
  const double die_um2 = 331e6;
  EXPECT_NEAR(cal["mac_array_area_factor"]["value"].get<double>(),
              0.24 * die_um2 / (65536 * (282 + 137) * a28), 1e-3);
  // OpenRAM's FreePDK45 16 KB macros: 1 bank 146,602.5 um^2, 4 banks
  // 178,744.3 um^2; area = a bits + k sqrt(bits banks) through both.
  const double bits16k = 131072;
  const double k = (178744.321438 - 146602.501987) / (std::sqrt(4 * bits16k) - std::sqrt(bits16k));
  const double per_bit = (146602.501987 - k * std::sqrt(bits16k)) / bits16k;
  EXPECT_NEAR(j["sram_bank_periphery"]["value"].get<double>(), k / per_bit, 0.01);
  const double ub_bits = 24.0 * 1024 * 1024 * 8;
  EXPECT_NEAR(
      cal["sram_area_factor"]["value"].get<double>(),
      0.29 * die_um2 / (ub_bits * 0.346 * a28 * (1 + k / per_bit * std::sqrt(32 / ub_bits))), 1e-3);
  // Periphery: the die less tpu_v1_like's DMA engines and buses, over the
  // three blocks. DMA: 4 channels, each 3 int32 adders (137 um^2, with the
  // logic calibration) and a one-bank buffer of 64 bytes x 70 cycles (DDR3
  // latency, 100 ns at 700 MHz). Buses: half the tracks of 4 x 64 x 8 wires
  // at FreePDK45's 0.28 um pitch shrunk to 28 nm, across sqrt(331) mm.
  const double mac_factor = cal["mac_array_area_factor"]["value"].get<double>();
  const double sram_factor = cal["sram_area_factor"]["value"].get<double>();
  const double buffer_bits = 64.0 * 8 * 70;
  const double dma_mm2 = 4 *
                         (3 * 137 * mac_factor + buffer_bits * 0.346 * sram_factor *
                                                     (1 + k / per_bit / std::sqrt(buffer_bits))) *
                         a28 / 1e6;
  const double bus_mm2 = 0.5 * 4 * 64 * 8 * 0.28e-3 * std::sqrt(a28) * std::sqrt(331.0);
  EXPECT_NEAR(cal["periphery_area_factor"]["value"].get<double>(),
              (331 - dma_mm2 - bus_mm2) / ((0.29 + 0.24 + 0.06) * 331), 1e-3);
  EXPECT_NEAR(j["wire_pitch_45nm_um"]["value"].get<double>(), 0.14 + 0.14, 1e-12);
  EXPECT_NEAR(cal["idle_pj_per_cycle_mm2_28nm"]["value"].get<double>(), 28.0 / 331 / 700e6 * 1e12,
              0.1);
}

TEST(Technology, EveryValueNamesItsSource) {
  auto j = technology_file();
  EXPECT_NO_THROW(arch::Technology(j, "t.json"));
  auto unsourced = j;
  unsourced["operations_45nm"]["int8_mul"].erase("source");
  EXPECT_THAT(input_error_of([&] { arch::Technology(unsourced, "t.json"); }),
              HasSubstr("technology.operations_45nm.int8_mul.source"));
  auto unknown = j;
  unknown["dram_pj_per_bit"]["hbm2"]["source"] = "somebody said so";
  EXPECT_THROW(arch::Technology(unknown, "t.json"), InputError);
}

TEST(Technology, SramEnergyIsAPowerLawThroughTheCitedPoints) {
  const auto& t = arch::Technology::builtin();
  EXPECT_NEAR(t.sram_access_64b_pj(8192), 10, 1e-9);
  EXPECT_NEAR(t.sram_access_64b_pj(32768), 20, 1e-9);
  EXPECT_NEAR(t.sram_access_64b_pj(1048576), 100, 1e-9);
  EXPECT_NEAR(t.sram_access_64b_pj(16384), 10 * std::sqrt(2.0), 1e-9);  // halfway in log-log
  // Outside the points: the end segments extended.
  EXPECT_NEAR(t.sram_access_64b_pj(4096), 10 / std::sqrt(2.0), 1e-9);
  const double slope = std::log(5.0) / std::log(32.0);
  EXPECT_NEAR(t.sram_access_64b_pj(4194304), 100 * std::pow(4.0, slope), 1e-9);
}

// edge_npu at 45 nm with HBM2, so that unit costs are the cited figures.
arch::Config config_at_45nm(std::vector<std::string> more = {}) {
  std::vector<std::string> sets = {"technology.node_nm=45", "dram.standard=hbm2"};
  sets.insert(sets.end(), more.begin(), more.end());
  return arch::load_config(source_path("configs/arch/edge_npu.json"), sets);
}

TEST(CostModel, EnergyIsActionCountsTimesTableValues) {
  const auto c = config_at_45nm();
  ASSERT_EQ(c.sram.size(), 3u);
  // edge_npu: gbuf 2 MiB / 16 banks, wbuf 128 KiB / 4 banks, accbuf 64 KiB / 4 banks.
  ASSERT_EQ(c.sram[0].capacity_bytes / c.sram[0].banks, 131072u);
  ASSERT_EQ(c.sram[1].capacity_bytes / c.sram[1].banks, 32768u);
  ASSERT_EQ(c.sram[2].capacity_bytes / c.sram[2].banks, 16384u);
  const arch::CostModel model(c);
  arch::Actions a(3);
  a.macs[static_cast<std::size_t>(DType::kInt8)] = 1000;
  a.macs[static_cast<std::size_t>(DType::kFp16)] = 10;
  a.sram_read_bytes = {800, 64, 16};
  a.sram_write_bytes = {80, 0, 16};
  a.dram_read_bytes = 100;
  a.dram_write_bytes = 28;
  a.dma_bytes = 128;
  a.vector_lane_ops = 50;
  const arch::Energy e = model.energy(a, Cycles(2000));
  // int8 MAC: 0.2 (multiply) + 0.1 (int32 add); fp16: 1.1 + 0.9 (fp32 add).
  EXPECT_NEAR(e.mac_pj, 1000 * 0.3 + 10 * 2.0, 1e-9);
  // 128 KiB bank: 20 x 32^(log 5 / log 32) = 20 x 4^(0.4644) pJ per 64 bits.
  const double gbuf_64b = 20 * std::pow(4.0, std::log(5.0) / std::log(32.0));
  ASSERT_EQ(e.sram_pj.size(), 3u);
  EXPECT_NEAR(e.sram_pj[0], 880 * gbuf_64b / 8, 1e-9);
  EXPECT_NEAR(e.sram_pj[1], 64 * 20.0 / 8, 1e-9);
  EXPECT_NEAR(e.sram_pj[2], 32 * 10 * std::sqrt(2.0) / 8, 1e-9);
  EXPECT_NEAR(e.dram_pj, 128 * 8 * 3.97, 1e-9);
  EXPECT_NEAR(e.vector_pj, 50 * (3.7 + 0.9), 1e-9);
  // A DMA byte crosses one die edge: 8 bits x 310/2560 pJ/(bit mm) x sqrt(area).
  EXPECT_NEAR(e.interconnect_pj, 128 * 8 * 0.1211 * std::sqrt(model.area().total_mm2()), 1e-6);
  // Idle: W x seconds; 2000 cycles at 1 GHz = 2 us.
  EXPECT_NEAR(e.idle_pj, model.idle_power_w() * 2e-6 * 1e12, 1e-6);
  EXPECT_NEAR(
      e.total_pj(),
      e.mac_pj + e.sram_total_pj() + e.dram_pj + e.interconnect_pj + e.vector_pj + e.idle_pj, 1e-6);
  EXPECT_TRUE(model.not_modelled().empty());
}

TEST(CostModel, NodeScalingAppliesToEnergyAndArea) {
  const arch::CostModel at45(config_at_45nm());
  const arch::CostModel at7(config_at_45nm({"technology.node_nm=7"}));
  const auto s = *arch::Technology::builtin().scale(7);
  EXPECT_NEAR(at7.mac_pj(DType::kInt8), at45.mac_pj(DType::kInt8) * s.energy, 1e-12);
  EXPECT_NEAR(at7.sram_pj_per_byte(0), at45.sram_pj_per_byte(0) * s.energy, 1e-12);
  EXPECT_NEAR(at7.area().total_mm2(), at45.area().total_mm2() * s.area, 1e-9);
  EXPECT_DOUBLE_EQ(at7.dram_pj_per_byte(), at45.dram_pj_per_byte());  // off chip
}

TEST(CostModel, AreaGrowsWithCapacityAndArraySize) {
  double last_total = 0, last_sram = 0;
  for (int kib : {256, 512, 1024, 2048, 4096}) {
    const arch::CostModel m(
        config_at_45nm({"sram[0].capacity_bytes=" + std::to_string(kib * 1024)}));
    EXPECT_GT(m.area().sram_mm2[0], last_sram) << kib;
    EXPECT_GT(m.area().total_mm2(), last_total) << kib;
    last_sram = m.area().sram_mm2[0];
    last_total = m.area().total_mm2();
  }
  double last_array = 0;
  last_total = 0;
  for (int n : {8, 16, 32, 64, 128}) {
    const arch::CostModel m(
        config_at_45nm({"array.rows=" + std::to_string(n), "array.cols=" + std::to_string(n)}));
    EXPECT_GT(m.area().mac_array_mm2, last_array) << n;
    EXPECT_GT(m.area().total_mm2(), last_total) << n;
    // PE count x (int8 multiply + int32 add) x calibration, exactly.
    EXPECT_NEAR(m.area().mac_array_mm2, n * n * 419.0 * 7.858 / 1e6, 1e-9);
    last_array = m.area().mac_array_mm2;
    last_total = m.area().total_mm2();
  }
}

TEST(CostModel, DmaEnginesAndBusesHaveTheirOwnArea) {
  // edge_npu at 45 nm (area scale 1): 4 DMA channels of 32 bytes per cycle,
  // 100 cycles of DRAM latency at 1 GHz.
  const auto c = config_at_45nm();
  ASSERT_EQ(c.dram.latency_cycles.count(), 100u);
  const arch::CostModel m(c);
  const auto& a = m.area();
  // Per channel: 3 int32 adders (137 um^2) x the logic calibration 7.858,
  // and 32 x 100 bytes of one-bank buffer (cell 0.346 um^2 x 3.597 x the
  // banking term 1 + 101.66 / sqrt(bits)).
  const double bits = 32.0 * 100 * 8;
  const double channel_um2 =
      3 * 137 * 7.858 + bits * 0.346 * 3.597 * (1 + 101.66 / std::sqrt(bits));
  EXPECT_NEAR(a.dma_mm2, 4 * channel_um2 / 1e6, 1e-4);
  // Buses: half the tracks of 4 x 32 x 8 wires at 0.28 um across the die's
  // edge, the edge including the buses themselves.
  const double h_mm = 0.5 * 4 * 32 * 8 * 0.28e-3;
  const double edge_mm = std::sqrt(a.total_mm2());
  EXPECT_NEAR(a.interconnect_mm2, h_mm * edge_mm, 1e-9);
  EXPECT_NEAR(a.total_mm2() - a.interconnect_mm2,
              a.mac_array_mm2 + a.sram_total_mm2() + a.vector_mm2 + a.periphery_mm2 + a.dma_mm2,
              1e-9);
  // More or wider channels, more area.
  for (const char* path : {"dma.channels=", "dma.bytes_per_cycle="}) {
    double last_dma = 0, last_bus = 0;
    for (int value : {1, 2, 4, 8, 16, 32, 64}) {
      const arch::CostModel more(config_at_45nm({path + std::to_string(value)}));
      EXPECT_GT(more.area().dma_mm2, last_dma) << path << value;
      EXPECT_GT(more.area().interconnect_mm2, last_bus) << path << value;
      last_dma = more.area().dma_mm2;
      last_bus = more.area().interconnect_mm2;
    }
  }
  // A longer DRAM latency needs a deeper read buffer.
  const arch::CostModel slower(config_at_45nm({"dram.latency_ns=200"}));
  EXPECT_GT(slower.area().dma_mm2, a.dma_mm2);
}

TEST(CostModel, BankingCostsAreaAsOpenRamsMacrosDo) {
  // A 16 KB buffer in 1 and in 4 banks at 45 nm: the ratio of OpenRAM's
  // two FreePDK45 macros.
  const arch::CostModel one(config_at_45nm(
      {"sram[0].capacity_bytes=16384", "sram[0].banks=1", "sram[0].double_buffered=false"}));
  const arch::CostModel four(config_at_45nm(
      {"sram[0].capacity_bytes=16384", "sram[0].banks=4", "sram[0].double_buffered=false"}));
  EXPECT_NEAR(four.area().sram_mm2[0] / one.area().sram_mm2[0], 178744.321438 / 146602.501987,
              1e-4);
  // More banks, more area, at any capacity.
  double last = 0;
  for (int banks : {2, 4, 8, 16, 32, 64}) {
    const arch::CostModel m(config_at_45nm({"sram[0].banks=" + std::to_string(banks)}));
    EXPECT_GT(m.area().sram_mm2[0], last) << banks;
    last = m.area().sram_mm2[0];
  }
}

TEST(CostModel, DramWithoutACitedEnergyIsListedNotGuessed) {
  const auto c = arch::load_config(source_path("configs/arch/fsd_npu_like.json"));
  ASSERT_EQ(c.dram.standard, "lpddr4");
  const arch::CostModel m(c);
  EXPECT_EQ(m.dram_pj_per_byte(), 0.0);
  ASSERT_EQ(m.not_modelled().size(), 1u);
  EXPECT_NE(m.not_modelled()[0].find("lpddr4"), std::string::npos);
}

TEST(CostModel, UserFiguresNeedTheirSource) {
  const auto file = source_path("configs/arch/fsd_npu_like.json");
  const arch::CostModel m(arch::load_config(
      file, {"dram.energy_pj_per_bit=5", "dram.energy_source=\"vendor datasheet X\"",
             "technology.idle_w_per_mm2=0.01", "technology.idle_source=\"our silicon\""}));
  EXPECT_DOUBLE_EQ(m.dram_pj_per_byte(), 40.0);
  EXPECT_TRUE(m.not_modelled().empty());
  EXPECT_DOUBLE_EQ(m.idle_power_w(), 0.01 * m.area().total_mm2());
  EXPECT_THROW(arch::load_config(file, {"dram.energy_pj_per_bit=5"}), InputError);
  EXPECT_THROW(arch::load_config(file, {"dram.energy_source=\"x\""}), InputError);
  EXPECT_THROW(arch::load_config(file, {"technology.idle_w_per_mm2=0.01"}), InputError);
}

TEST(CostModel, TpuV1AreaAgainstItsFloorPlan) {
  // Jouppi et al. 2017: die <= 331 mm^2 at 28 nm; Unified Buffer 29%, Matrix
  // Multiply Unit 24%, Accumulators 6%. The first two set the calibration;
  // the accumulators and the whole die are checks.
  const arch::CostModel m(arch::load_config(source_path("configs/arch/tpu_v1_like.json")));
  const auto& a = m.area();
  EXPECT_NEAR(a.mac_array_mm2, 0.24 * 331, 0.1);
  EXPECT_NEAR(a.sram_mm2[0], 0.29 * 331, 0.1);                // unified buffer
  EXPECT_NEAR(a.sram_mm2[2], 0.06 * 331, 0.06 * 331 * 0.25);  // accumulators, within 25%
  EXPECT_NEAR(a.total_mm2(), 331, 331 * 0.05);                // within 5%
}

TEST(Config, TechnologyAndDramStandardAreValidated) {
  const auto file = source_path("configs/arch/edge_npu.json");
  EXPECT_THAT(input_error_of([&] { arch::load_config(file, {"technology.node_nm=22"}); }),
              AllOf(HasSubstr("arch.technology.node_nm: no cited scaling for 22 nm"),
                    HasSubstr("5, 7, 10")));
  EXPECT_THROW(arch::load_config(file, {"dram.standard=ddr9"}), InputError);
  EXPECT_NO_THROW(arch::load_config(file, {"technology.vdd=0.75"}));  // 16 nm has a fit
  EXPECT_THAT(input_error_of([&] {
                arch::load_config(file, {"technology.node_nm=28", "technology.vdd=0.8"});
              }),
              HasSubstr("arch.technology.vdd: 28 nm has no cited voltage fit"));
  EXPECT_THROW(arch::load_config(file, {"technology.vdd=3"}), InputError);
  EXPECT_THROW(arch::load_config(file, {"technology.nm=7"}), InputError);  // unknown key
}

}  // namespace
}  // namespace tessel
