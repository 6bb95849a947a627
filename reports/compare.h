#pragma once
// Comparing simulation reports: flattening a report into named numeric
// metrics, and classifying the differences between two reports as
// regressions, improvements or neutral changes. Pure JSON; no SystemC.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessel::reports {

// Every numeric leaf of a report that describes the result: hardware
// (peaks, area), totals, units, simulation events and each layer
// ("layers[3:conv1].cycles").
// Left out: wall time, tool version, input paths, the echoed config.
std::map<std::string, double> flatten(const nlohmann::json& report);

enum class Direction { kLowerIsBetter, kHigherIsBetter, kMustNotChange };
// By the metric's path: cycles, bytes, stalls, latency, events,
// transfers, energy (pJ, its breakdowns, EDP), power (W) and area (mm2)
// are better lower; utilization, efficiency, achieved throughput, TOPS/W
// and peak TOPS/mm2 better higher; anything else (MACs, intensities,
// peaks) must not change.
Direction direction_of(const std::string& path);

struct Change {
  std::string metric;
  double base = 0, current = 0;
  double delta() const { return current - base; }
  // Relative change in percent (0 when both are 0; infinite from 0).
  double percent() const;
};

struct Comparison {
  std::vector<Change> regressions;   // worse beyond tolerance, or a must-not-change metric moved
  std::vector<Change> improvements;  // better beyond tolerance
  std::vector<Change> within;        // changed, within tolerance
  std::vector<std::string> notes;    // metrics present in only one report, changed configs
};

// Tolerances in percent by metric name (last path component, e.g.
// "cycles") or full path; default 0: exact.
Comparison compare(const nlohmann::json& base, const nlohmann::json& current,
                   const std::map<std::string, double>& tolerance_percent);

// A fixed-width text table of changes.
std::string changes_table(const std::vector<Change>& changes);

}  // namespace tessel::reports
