#include "arch/cost.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "arch/roofline.h"

namespace tessel::arch {

Actions& Actions::operator+=(const Actions& other) {
  for (std::size_t i = 0; i < macs.size(); ++i) macs[i] += other.macs[i];
  sram_read_bytes.resize(std::max(sram_read_bytes.size(), other.sram_read_bytes.size()), 0);
  sram_write_bytes.resize(std::max(sram_write_bytes.size(), other.sram_write_bytes.size()), 0);
  for (std::size_t i = 0; i < other.sram_read_bytes.size(); ++i) {
    sram_read_bytes[i] += other.sram_read_bytes[i];
    sram_write_bytes[i] += other.sram_write_bytes[i];
  }
  dram_read_bytes += other.dram_read_bytes;
  dram_write_bytes += other.dram_write_bytes;
  dma_bytes += other.dma_bytes;
  vector_lane_ops += other.vector_lane_ops;
  return *this;
}

std::uint64_t Actions::total_macs() const {
  return std::accumulate(macs.begin(), macs.end(), std::uint64_t{0});
}

double Energy::sram_total_pj() const {
  return std::accumulate(sram_pj.begin(), sram_pj.end(), 0.0);
}

double Energy::total_pj() const {
  return mac_pj + sram_total_pj() + dram_pj + interconnect_pj + vector_pj + idle_pj;
}

double Area::sram_total_mm2() const {
  return std::accumulate(sram_mm2.begin(), sram_mm2.end(), 0.0);
}

double Area::total_mm2() const {
  return mac_array_mm2 + sram_total_mm2() + vector_mm2 + periphery_mm2 + dma_mm2 + interconnect_mm2;
}

nlohmann::json components_json(const Area& area) {
  return {{"mac_array", area.mac_array_mm2},
          {"sram", area.sram_total_mm2()},
          {"vector", area.vector_mm2},
          {"periphery", area.periphery_mm2},
          {"dma", area.dma_mm2},
          {"interconnect", area.interconnect_mm2}};
}

nlohmann::json buffers_json(const Area& area, const Config& config) {
  nlohmann::json out = nlohmann::json::object();
  for (std::size_t b = 0; b < area.sram_mm2.size(); ++b)
    out[config.sram[b].name] = area.sram_mm2[b];
  return out;
}

nlohmann::json components_json(const Energy& energy) {
  return {{"mac", energy.mac_pj},       {"sram", energy.sram_total_pj()},
          {"dram", energy.dram_pj},     {"interconnect", energy.interconnect_pj},
          {"vector", energy.vector_pj}, {"idle", energy.idle_pj}};
}

nlohmann::json buffers_json(const Energy& energy, const Config& config) {
  nlohmann::json out = nlohmann::json::object();
  for (std::size_t b = 0; b < energy.sram_pj.size(); ++b)
    out[config.sram[b].name] = energy.sram_pj[b];
  return out;
}

nlohmann::json energy_totals_json(const Energy& energy, std::uint64_t macs, double seconds) {
  const double joules = energy.total_pj() * 1e-12;
  return {{"energy_pj", energy.total_pj()},
          {"energy_by_component_pj", components_json(energy)},
          {"power_w", seconds > 0 ? joules / seconds : 0.0},
          {"tops_per_w", joules > 0 ? 2.0 * static_cast<double>(macs) / joules / 1e12 : 0.0},
          {"edp_j_s", joules * seconds}};
}

nlohmann::json hardware_cost_json(const CostModel& model, const Config& config) {
  const Area& area = model.area();
  return {{"technology_node_nm", config.technology_node_nm.value()},
          {"area_mm2", area.total_mm2()},
          {"area_by_component_mm2", components_json(area)},
          {"area_by_buffer_mm2", buffers_json(area, config)},
          {"peak_tops_per_mm2", peak_tops(config, config.array.precision) / area.total_mm2()},
          {"idle_power_w", model.idle_power_w()},
          {"energy_not_modelled", model.not_modelled()}};
}

CostModel::CostModel(const Config& config, const Technology& table)
    : m_table(table), m_clock_mhz(config.clock_mhz) {
  const int node = config.technology_node_nm.value();
  m_scale = table.scale(node, config.vdd).value();
  constexpr double kUm2PerMm2 = 1e6;

  // The MAC array: one PE per position, sized for the widest precision it
  // runs natively (one MAC per cycle, unpacked); slower rates are passes
  // over narrower multipliers and packed rates split a wider one.
  double pe_um2 = table.mac_area_um2(config.array.precision);
  for (const auto& [dtype, rate] : config.array.rates) {
    if (rate.pack == 1 && rate.cycles_per_mac == 1)
      pe_um2 = std::max(pe_um2, table.mac_area_um2(dtype));
  }
  m_area.mac_array_mm2 = static_cast<double>(config.array.rows) * config.array.cols * pe_um2 *
                         table.mac_array_area_factor() * m_scale.area / kUm2PerMm2;
  auto sram_mm2 = [&](double bits, double banks) {
    return bits * table.sram_cell_um2() * table.sram_area_factor() *
           table.sram_banking_factor(bits, banks) * m_scale.area / kUm2PerMm2;
  };
  for (const auto& s : config.sram) {
    m_area.sram_mm2.push_back(sram_mm2(static_cast<double>(s.capacity_bytes) * 8, s.banks));
    // One access reads one bank; a byte costs an eighth of a 64-bit access.
    const double bank_bytes = static_cast<double>(s.capacity_bytes) / s.banks;
    m_sram_pj_per_byte.push_back(table.sram_access_64b_pj(bank_bytes) / 8 * m_scale.energy);
  }
  m_area.vector_mm2 = config.vector.lanes * table.fp32_fma_area_um2() *
                      table.mac_array_area_factor() * m_scale.area / kUm2PerMm2;
  m_area.periphery_mm2 = (table.periphery_area_factor() - 1) *
                         (m_area.mac_array_mm2 + m_area.sram_total_mm2() + m_area.vector_mm2);
  // A DMA channel: its address adders, and a one-bank read buffer holding
  // what is in flight over the DRAM latency at the channel's rate (Little's
  // law).
  const double in_flight_bits =
      8.0 * config.dma.bytes_per_cycle * static_cast<double>(config.dram.latency_cycles.count());
  m_area.dma_mm2 =
      config.dma.channels *
      (table.dma_channel_logic_um2() * table.mac_array_area_factor() * m_scale.area / kUm2PerMm2 +
       (in_flight_bits > 0 ? sram_mm2(in_flight_bits, 1) : 0.0));
  // The channels' data buses span one die edge s, and their charged wire
  // tracks are part of the die: s^2 = rest + h s, with h the buses' charged
  // width, so s = (h + sqrt(h^2 + 4 rest)) / 2.
  const double pitch_mm = table.wire_pitch_45nm_um() * std::sqrt(m_scale.area) / 1e3;
  const double h_mm = table.bus_wire_track_share() * 8.0 * config.dma.channels *
                      config.dma.bytes_per_cycle * pitch_mm;
  const double rest_mm2 = m_area.total_mm2();
  m_area.interconnect_mm2 = h_mm * (h_mm + std::sqrt(h_mm * h_mm + 4 * rest_mm2)) / 2;
  m_idle_w =
      config.idle_w_per_mm2.value_or(table.idle_w_per_mm2(node, config.clock_mhz, config.vdd)) *
      m_area.total_mm2();

  if (config.dram.energy_pj_per_bit) {
    m_dram_pj_per_byte = *config.dram.energy_pj_per_bit * 8;
  } else if (config.dram.standard.empty()) {
    m_not_modelled.push_back("dram energy (the config gives no dram.standard)");
  } else if (const auto pj = table.dram_pj_per_bit(config.dram.standard)) {
    m_dram_pj_per_byte = *pj * 8;
  } else {
    m_not_modelled.push_back(fmt::format("dram energy (no cited energy per bit for {}; cited: {})",
                                         config.dram.standard,
                                         fmt::join(table.dram_standards(), ", ")));
  }
  // A DMA transfer crosses the die: one edge of a square die on average.
  m_interconnect_pj_per_byte =
      8 * table.wire_pj_per_bit_mm() * std::sqrt(m_area.total_mm2()) * m_scale.energy;
  m_vector_pj_per_lane_op = table.fp32_fma_energy_pj() * m_scale.energy;
}

double CostModel::mac_pj(DType dtype) const {
  return m_table.mac_energy_pj(dtype) * m_scale.energy;
}

Energy CostModel::energy(const Actions& a, Cycles cycles) const {
  Energy e;
  for (DType d : kAllDTypes) e.mac_pj += a.macs[static_cast<std::size_t>(d)] * mac_pj(d);
  for (std::size_t b = 0; b < m_sram_pj_per_byte.size(); ++b) {
    const std::uint64_t bytes = (b < a.sram_read_bytes.size() ? a.sram_read_bytes[b] : 0) +
                                (b < a.sram_write_bytes.size() ? a.sram_write_bytes[b] : 0);
    e.sram_pj.push_back(bytes * m_sram_pj_per_byte[b]);
  }
  e.dram_pj = (a.dram_read_bytes + a.dram_write_bytes) * m_dram_pj_per_byte;
  e.interconnect_pj = a.dma_bytes * m_interconnect_pj_per_byte;
  e.vector_pj = a.vector_lane_ops * m_vector_pj_per_lane_op;
  // W x s = J; cycles / MHz = microseconds; 1 W x 1 us = 1e6 pJ.
  e.idle_pj = m_idle_w * (cycles.count() / m_clock_mhz) * 1e6;
  return e;
}

}  // namespace tessel::arch
