#pragma once
// A first-come first-served, non-preemptive server with a fixed rate: the
// model of every shared bandwidth resource (a DRAM data bus, an SRAM slot's
// port). A request arriving at `arrive` starts when the server is free and
// holds it for ceil(bytes / rate) cycles. Requests must be made in
// non-decreasing order of arrival (the SystemC processes guarantee this).

#include <cstdint>

#include "arch/units.h"

namespace tessel::sim {

class Timeline {
 public:
  explicit Timeline(Rate rate) : m_rate(rate) {}

  // Reserves the server; returns the cycle the last byte is through.
  Cycles serve(Cycles arrive, std::uint64_t bytes) {
    const Cycles start = max(arrive, m_free);
    const Cycles hold = m_rate.time_for(bytes);
    m_free = start + hold;
    m_busy += hold;
    m_bytes += bytes;
    return m_free;
  }

  Cycles busy_cycles() const { return m_busy; }
  std::uint64_t bytes() const { return m_bytes; }
  Rate rate() const { return m_rate; }

 private:
  Rate m_rate;
  Cycles m_free;
  Cycles m_busy;
  std::uint64_t m_bytes = 0;
};

}  // namespace tessel::sim
