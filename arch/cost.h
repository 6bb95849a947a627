#pragma once
// Energy, power and area of a configured accelerator, from action counts
// and the cited technology table (arch/technology.h). The rules are in
// docs/energy-area.md; every constant is in arch/data/technology.json.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/config.h"
#include "arch/technology.h"
#include "arch/units.h"

namespace tessel::arch {

inline constexpr std::size_t kDTypeCount = std::size(kAllDTypes);

// What a layer (or a whole run) did, counted from its trace
// (workloads/actions.h).
struct Actions {
  std::array<std::uint64_t, kDTypeCount> macs{};  // by MAC precision, indexed by DType
  std::vector<std::uint64_t> sram_read_bytes;     // per buffer of Config::sram
  std::vector<std::uint64_t> sram_write_bytes;
  std::uint64_t dram_read_bytes = 0;
  std::uint64_t dram_write_bytes = 0;
  std::uint64_t dma_bytes = 0;  // bytes the DMA engines moved (loads, stores, moves)
  // Vector lane operations: element operations of each class times that
  // class's cycles per element.
  std::uint64_t vector_lane_ops = 0;

  explicit Actions(std::size_t buffers = 0)
      : sram_read_bytes(buffers, 0), sram_write_bytes(buffers, 0) {}
  std::uint64_t total_macs() const;
  Actions& operator+=(const Actions& other);
};

struct Energy {
  double mac_pj = 0;
  std::vector<double> sram_pj;  // per buffer
  double dram_pj = 0;
  double interconnect_pj = 0;  // DMA transfers across the die
  double vector_pj = 0;
  double idle_pj = 0;  // idle power over the run's duration
  double sram_total_pj() const;
  double total_pj() const;
};

struct Area {
  double mac_array_mm2 = 0;
  std::vector<double> sram_mm2;  // per buffer
  double vector_mm2 = 0;
  // Control, I/O and glue logic: the periphery factor applied to the blocks
  // above.
  double periphery_mm2 = 0;
  // DMA engines: address generation and a read buffer per channel.
  double dma_mm2 = 0;
  // The DMA channels' data buses across the die.
  double interconnect_mm2 = 0;
  double sram_total_mm2() const;
  double total_mm2() const;
};

// {"mac_array": .., "sram": .., "vector": .., "periphery": .., "dma": ..,
// "interconnect": ..} and the buffers by name, for reports.
nlohmann::json components_json(const Area& area);
nlohmann::json buffers_json(const Area& area, const Config& config);
// {"mac": .., "sram": .., "dram": .., "interconnect": .., "vector": .., "idle": ..}
nlohmann::json components_json(const Energy& energy);
nlohmann::json buffers_json(const Energy& energy, const Config& config);

// The report's run-level energy fields: energy_pj, energy_by_component_pj,
// power_w (average), tops_per_w (2 operations per MAC) and edp_j_s.
nlohmann::json energy_totals_json(const Energy& energy, std::uint64_t macs, double seconds);

class CostModel;
// The report's hardware cost fields: technology_node_nm, area_mm2, area by
// component and by buffer, peak_tops_per_mm2, idle_power_w and
// energy_not_modelled.
nlohmann::json hardware_cost_json(const CostModel& model, const Config& config);

class CostModel {
 public:
  // Needs config.technology_node_nm.
  explicit CostModel(const Config& config, const Technology& table = Technology::builtin());

  const Area& area() const { return m_area; }
  double idle_power_w() const { return m_idle_w; }
  // Energy of the actions, with idle power over `cycles` at the clock.
  Energy energy(const Actions& actions, Cycles cycles) const;

  // Unit costs at the configured node.
  double mac_pj(DType dtype) const;
  double sram_pj_per_byte(std::size_t buffer) const { return m_sram_pj_per_byte.at(buffer); }
  double dram_pj_per_byte() const { return m_dram_pj_per_byte; }
  double interconnect_pj_per_byte() const { return m_interconnect_pj_per_byte; }
  double vector_pj_per_lane_op() const { return m_vector_pj_per_lane_op; }
  // Parts left at zero for want of a cited value, e.g. "dram energy
  // (no cited energy per bit for lpddr4)".
  const std::vector<std::string>& not_modelled() const { return m_not_modelled; }

 private:
  const Technology& m_table;
  double m_clock_mhz = 0;
  NodeScale m_scale;
  Area m_area;
  double m_idle_w = 0;
  std::vector<double> m_sram_pj_per_byte;
  double m_dram_pj_per_byte = 0;
  double m_interconnect_pj_per_byte = 0;
  double m_vector_pj_per_lane_op = 0;
  std::vector<std::string> m_not_modelled;
};

}  // namespace tessel::arch
