#pragma once
// A fixed-rate, non-preemptive server with a reservation calendar: the model
// of every shared bandwidth resource (a DRAM data bus, an SRAM slot's port).
// A request arriving at `arrive` holds the server for ceil(bytes / rate)
// cycles, in the earliest idle gap at or after its arrival that is long
// enough. Requests may be made for future arrivals (a LOAD books the SRAM
// port for when its data comes back from DRAM) without blocking earlier
// requests made later. Intervals that ended before `now` are forgotten, so
// the calendar stays as short as the number of transfers in flight.

#include <cstdint>
#include <iterator>
#include <map>

#include "arch/units.h"

namespace tessel::sim {

class Timeline {
 public:
  explicit Timeline(Rate rate) : m_rate(rate) {}

  // Reserves the server; `now` <= `arrive`. Returns the cycle the last byte
  // is through.
  Cycles serve(Cycles now, Cycles arrive, std::uint64_t bytes) {
    while (!m_busy_intervals.empty() && m_busy_intervals.begin()->second <= now) {
      m_busy_intervals.erase(m_busy_intervals.begin());
    }
    const Cycles hold = m_rate.time_for(bytes);
    m_busy += hold;
    m_bytes += bytes;
    if (hold == Cycles(0)) return arrive;
    Cycles start = arrive;
    // Walk the intervals that could overlap [start, start + hold).
    auto it = m_busy_intervals.upper_bound(start);
    if (it != m_busy_intervals.begin()) {
      auto prev = std::prev(it);
      if (prev->second > start) start = prev->second;
    }
    while (it != m_busy_intervals.end() && it->first < start + hold) {
      start = max(start, it->second);
      ++it;
    }
    m_busy_intervals.emplace(start, start + hold);
    return start + hold;
  }

  Cycles busy_cycles() const { return m_busy; }
  std::uint64_t bytes() const { return m_bytes; }
  Rate rate() const { return m_rate; }

 private:
  Rate m_rate;
  std::map<Cycles, Cycles> m_busy_intervals;  // start -> end, disjoint
  Cycles m_busy;
  std::uint64_t m_bytes = 0;
};

}  // namespace tessel::sim
