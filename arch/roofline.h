#pragma once
// Peak throughput and the roofline of a hardware config (Williams,
// Waterman & Patterson, "Roofline: An Insightful Visual Performance Model",
// CACM 2009): attainable MACs per cycle = min(peak, bandwidth x intensity)
// for each memory level.

#include <cstdint>

#include "arch/config.h"

namespace tessel::arch {

// MACs per cycle of the whole array at `dtype` (0 if unsupported).
double peak_macs_per_cycle(const ArrayConfig& array, DType dtype);
// Tera-operations per second, counting a MAC as two operations.
double peak_tops(const Config& config, DType dtype);
// Achieved tera-operations per second: `macs` in `cycles` at the clock.
double achieved_tops(const Config& config, std::uint64_t macs, std::uint64_t cycles);
double dram_bytes_per_cycle(const Config& config);
// Port bandwidth of the buffers that feed and drain the array (the
// innermost buffer of each operand, one slot each, counted once).
double array_sram_bytes_per_cycle(const Config& config);

struct Roofline {
  double peak_macs_per_cycle = 0;
  double dram_intensity = 0;  // MACs per DRAM byte
  double sram_intensity = 0;  // MACs per array-side SRAM byte
  double attainable_macs_per_cycle = 0;
};

// `dram_bytes` and `sram_bytes` of zero mean "no traffic" (no roof).
Roofline roofline(const Config& config, double peak, std::uint64_t macs, std::uint64_t dram_bytes,
                  std::uint64_t sram_bytes);

}  // namespace tessel::arch
