#pragma once
// The cited technology table (arch/data/technology.json, compiled in):
// energy and area of the operators at 45 nm, SRAM and DRAM access energy,
// wire energy, node scaling, and the area calibration. Every value carries
// its source in the data file; this class only reads them.

#include <array>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/dtype.h"

namespace tessel::arch {

// Factors relative to 45 nm.
struct NodeScale {
  double area = 1;
  double energy = 1;
};

class Technology {
 public:
  // The table compiled into the binary.
  static const Technology& builtin();
  // Parses a table of the same form; `source` names it in errors.
  Technology(const nlohmann::json& data, const std::string& source);

  std::vector<int> nodes_nm() const;
  // The node's scales at its nominal supply, or at `vdd` (volts) through
  // its cited energy fit; nullopt for an unknown node, or a `vdd` on a node
  // without a fit.
  std::optional<NodeScale> scale(int node_nm, std::optional<double> vdd = std::nullopt) const;
  // Nodes with an energy fit, so a supply voltage of their own.
  std::vector<int> fitted_nodes_nm() const;

  // One multiply at `dtype` plus one add into its accumulator, 45 nm.
  double mac_energy_pj(DType dtype) const;
  double mac_area_um2(DType dtype) const;
  // One multiply and one add at fp32, 45 nm: a vector-unit lane operation.
  double fp32_fma_energy_pj() const;
  double fp32_fma_area_um2() const;
  // A 64-bit access of an SRAM array of `capacity_bytes`, 45 nm.
  double sram_access_64b_pj(double capacity_bytes) const;
  double sram_cell_um2() const { return m_sram_cell_um2; }
  // Area of an SRAM of `bits` in `banks` banks relative to its cell array:
  // 1 + periphery x sqrt(banks / bits).
  double sram_banking_factor(double bits, double banks) const {
    return 1 + m_sram_bank_periphery * std::sqrt(banks / bits);
  }
  double wire_pj_per_bit_mm() const { return m_wire_pj_per_bit_mm; }
  // Semi-global wire pitch at 45 nm, and the share of a bus's wire tracks
  // charged as die area.
  double wire_pitch_45nm_um() const { return m_wire_pitch_45nm_um; }
  double bus_wire_track_share() const { return m_bus_wire_track_share; }
  // Address generation of one DMA channel (its int32 adders), 45 nm.
  double dma_channel_logic_um2() const;
  // Energy per bit of a DRAM standard, or nullopt when no cited value.
  std::optional<double> dram_pj_per_bit(const std::string& standard) const;
  std::vector<std::string> dram_standards() const;

  double mac_array_area_factor() const { return m_mac_array_area_factor; }
  double sram_area_factor() const { return m_sram_area_factor; }
  double periphery_area_factor() const { return m_periphery_area_factor; }
  // Idle power of a clocked die per mm^2: the 28 nm figure per cycle, at
  // `clock_mhz`; other nodes scale it by their energy scale over their area
  // scale (energy density).
  double idle_w_per_mm2(int node_nm, double clock_mhz,
                        std::optional<double> vdd = std::nullopt) const;

 private:
  struct Operation {
    double energy_pj = 0;
    double area_um2 = 0;
  };
  const Operation& op(const std::string& name) const;
  const Operation& mul(DType dtype) const;
  const Operation& accumulator(DType dtype) const;

  std::map<std::string, Operation> m_ops;
  std::map<std::string, std::string> m_accumulator;      // dtype name -> op name
  std::vector<std::pair<double, double>> m_sram_points;  // capacity bytes, pJ
  double m_sram_cell_um2 = 0;
  double m_sram_bank_periphery = 0;
  double m_wire_pj_per_bit_mm = 0;
  double m_wire_pitch_45nm_um = 0;
  double m_bus_wire_track_share = 0;
  double m_dma_channel_adders = 0;
  std::map<std::string, double> m_dram_pj_per_bit;
  double m_mac_array_area_factor = 0, m_sram_area_factor = 0, m_periphery_area_factor = 0;
  double m_idle_pj_per_cycle_mm2_28nm = 0;
  std::map<int, NodeScale> m_nodes;
  std::map<int, std::array<double, 3>> m_fits;  // a, b, c of E(V) = a V^2 + b V + c
  double m_reference_energy = 0;                // E_45 at the operator energies' supply
};

}  // namespace tessel::arch
