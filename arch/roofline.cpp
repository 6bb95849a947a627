#include "arch/roofline.h"

#include <algorithm>
#include <limits>
#include <set>

namespace tessel::arch {

double peak_macs_per_cycle(const ArrayConfig& array, DType dtype) {
  const auto rate = array.rate(dtype);
  if (!rate) return 0;
  return static_cast<double>(array.rows) * array.cols * rate->macs_per_cycle();
}

double peak_tops(const Config& config, DType dtype) {
  return 2.0 * peak_macs_per_cycle(config.array, dtype) * config.clock_mhz * 1e6 / 1e12;
}

double achieved_tops(const Config& config, std::uint64_t macs, std::uint64_t cycles) {
  return cycles > 0 ? 2.0 * static_cast<double>(macs) / static_cast<double>(cycles) *
                          config.clock_mhz * 1e6 / 1e12
                    : 0.0;
}

double dram_bytes_per_cycle(const Config& config) {
  return config.dram.rate.bytes_per_cycle_real();
}

double array_sram_bytes_per_cycle(const Config& config) {
  std::set<std::size_t> innermost;
  for (Operand op : kAllOperands) innermost.insert(config.path(op).back());
  double total = 0;
  for (auto b : innermost) total += config.sram[b].slot_port_rate().bytes_per_cycle_real();
  return total;
}

Roofline roofline(const Config& config, double peak, std::uint64_t macs, std::uint64_t dram_bytes,
                  std::uint64_t sram_bytes) {
  Roofline r;
  r.peak_macs_per_cycle = peak;
  const double inf = std::numeric_limits<double>::infinity();
  r.dram_intensity = dram_bytes ? static_cast<double>(macs) / dram_bytes : 0;
  r.sram_intensity = sram_bytes ? static_cast<double>(macs) / sram_bytes : 0;
  const double dram_roof = dram_bytes ? dram_bytes_per_cycle(config) * r.dram_intensity : inf;
  const double sram_roof = sram_bytes ? array_sram_bytes_per_cycle(config) * r.sram_intensity : inf;
  r.attainable_macs_per_cycle = std::min({peak, dram_roof, sram_roof});
  return r;
}

}  // namespace tessel::arch
