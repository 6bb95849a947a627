#pragma once
// SystemC time is only the carrier of accelerator cycles: one cycle is
// carried as 1 ns whatever the configured clock (the resolution is 1 ps).

#include <systemc>

#include "arch/units.h"

namespace tessel::sim {

inline constexpr std::uint64_t kCarrierPsPerCycle = 1000;

inline Cycles now_cycles() {
  return Cycles(sc_core::sc_time_stamp().value() / kCarrierPsPerCycle);
}

inline sc_core::sc_time carrier(Cycles c) {
  return sc_core::sc_time::from_value(c.count() * kCarrierPsPerCycle);
}

}  // namespace tessel::sim
