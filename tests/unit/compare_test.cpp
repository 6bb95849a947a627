// Which way each report metric should move, energy and area included.

#include <gtest/gtest.h>

#include "reports/compare.h"

namespace tessel {
namespace {

using reports::Direction;
using reports::direction_of;

TEST(Compare, DirectionsOfEnergyPowerAndArea) {
  for (const char* lower :
       {"totals.cycles", "totals.energy_pj", "totals.energy_by_component_pj.dram",
        "totals.energy_by_buffer_pj.gbuf", "layers[3:conv1].energy_pj", "totals.power_w",
        "totals.edp_j_s", "hardware.area_mm2", "hardware.area_by_component_mm2.sram",
        "hardware.area_by_buffer_mm2.gbuf", "hardware.idle_power_w"}) {
    EXPECT_EQ(direction_of(lower), Direction::kLowerIsBetter) << lower;
  }
  for (const char* higher : {"totals.utilization", "totals.tops_per_w", "totals.achieved_tops",
                             "hardware.peak_tops_per_mm2"}) {
    EXPECT_EQ(direction_of(higher), Direction::kHigherIsBetter) << higher;
  }
  for (const char* fixed : {"totals.macs", "hardware.peak_tops", "hardware.technology_node_nm"}) {
    EXPECT_EQ(direction_of(fixed), Direction::kMustNotChange) << fixed;
  }
}

TEST(Compare, LessEnergyIsAnImprovementAndMoreAreaARegression) {
  const nlohmann::json base = {{"hardware", {{"area_mm2", 10.0}}},
                               {"totals", {{"energy_pj", 100.0}, {"tops_per_w", 2.0}}}};
  const nlohmann::json current = {{"hardware", {{"area_mm2", 11.0}}},
                                  {"totals", {{"energy_pj", 90.0}, {"tops_per_w", 2.2}}}};
  const auto c = reports::compare(base, current, {});
  ASSERT_EQ(c.regressions.size(), 1u);
  EXPECT_EQ(c.regressions[0].metric, "hardware.area_mm2");
  ASSERT_EQ(c.improvements.size(), 2u);
  // Within a tolerance by name, the area change is no regression.
  EXPECT_TRUE(reports::compare(base, current, {{"area_mm2", 15.0}}).regressions.empty());
}

}  // namespace
}  // namespace tessel
