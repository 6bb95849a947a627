#pragma once
// A fixed-rate, non-preemptive server with a reservation calendar: the model
// of every shared bandwidth resource (a DRAM data bus, an SRAM slot's port).
// A request arriving at `arrive` holds the server for ceil(bytes / rate)
// cycles, in the earliest idle gap at or after its arrival that is long
// enough. Requests may be made for future arrivals (a LOAD books the SRAM
// port for when its data comes back from DRAM) without blocking earlier
// requests made later. Intervals that ended before `now` are forgotten, so
// the calendar stays as short as the number of transfers in flight.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <utility>
#include <vector>

#include "arch/units.h"

namespace tessel::sim {

class Timeline {
 public:
  explicit Timeline(Rate rate) : m_rate(rate) {}

  // Reserves the server; `now` <= `arrive`. Returns the cycle the last byte
  // is through.
  Cycles serve(Cycles now, Cycles arrive, std::uint64_t bytes) {
    while (m_head < m_busy_intervals.size() && m_busy_intervals[m_head].second <= now) ++m_head;
    if (m_head > kCompactAt && 2 * m_head > m_busy_intervals.size()) {
      m_busy_intervals.erase(m_busy_intervals.begin(),
                             m_busy_intervals.begin() + static_cast<std::ptrdiff_t>(m_head));
      m_head = 0;
    }
    const Cycles hold = m_rate.time_for(bytes);
    m_busy += hold;
    m_bytes += bytes;
    if (hold == Cycles(0)) return arrive;
    Cycles start = arrive;
    // Walk the intervals that could overlap [start, start + hold).
    const auto first = m_busy_intervals.begin() + static_cast<std::ptrdiff_t>(m_head);
    auto after = [](Cycles t, const Interval& i) { return t < i.first; };
    auto it = std::upper_bound(first, m_busy_intervals.end(), start, after);
    if (it != first) {
      auto prev = std::prev(it);
      if (prev->second > start) start = prev->second;
    }
    while (it != m_busy_intervals.end() && it->first < start + hold) {
      start = max(start, it->second);
      ++it;
    }
    m_busy_intervals.insert(std::upper_bound(first, m_busy_intervals.end(), start, after),
                            Interval{start, start + hold});
    return start + hold;
  }

  Cycles busy_cycles() const { return m_busy; }
  std::uint64_t bytes() const { return m_bytes; }
  Rate rate() const { return m_rate; }

 private:
  using Interval = std::pair<Cycles, Cycles>;  // [start, end)
  // Forgotten intervals are dropped from the front in batches.
  static constexpr std::size_t kCompactAt = 32;
  Rate m_rate;
  // Disjoint, by start; those before m_head ended before the last `now`.
  std::vector<Interval> m_busy_intervals;
  std::size_t m_head = 0;
  Cycles m_busy;
  std::uint64_t m_bytes = 0;
};

}  // namespace tessel::sim
