#include "reports/compare.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace tessel::reports {

namespace {

void walk(const nlohmann::json& node, const std::string& path, std::map<std::string, double>& out) {
  if (node.is_number()) {
    out[path] = node.get<double>();
  } else if (node.is_object()) {
    for (const auto& [k, v] : node.items()) walk(v, path.empty() ? k : path + "." + k, out);
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto& e = node[i];
      const std::string name = e.is_object() && e.contains("name") && e["name"].is_string()
                                   ? fmt::format("{}:{}", i, e["name"].get<std::string>())
                                   : std::to_string(i);
      walk(e, fmt::format("{}[{}]", path, name), out);
    }
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::map<std::string, double> flatten(const nlohmann::json& report) {
  std::map<std::string, double> out;
  for (const char* section : {"hardware", "totals", "units", "layers"}) {
    if (report.contains(section)) walk(report[section], section, out);
  }
  if (report.contains("simulation") && report["simulation"].contains("events")) {
    out["simulation.events"] = report["simulation"]["events"].get<double>();
  }
  return out;
}

Direction direction_of(const std::string& path) {
  const auto dot = path.find_last_of('.');
  const std::string leaf = dot == std::string::npos ? path : path.substr(dot + 1);
  const bool in_stalls = path.find("stall_by_cause.") != std::string::npos;
  if (leaf.find("utilization") != std::string::npos || leaf == "mapping_efficiency" ||
      leaf == "achieved_macs_per_cycle" || leaf == "achieved_tops" || leaf == "tops_per_w" ||
      leaf == "peak_tops_per_mm2") {
    return Direction::kHigherIsBetter;
  }
  // Energy, power and area: the totals and their breakdowns.
  const bool cost = path.find("energy_by_") != std::string::npos ||
                    path.find("_mm2.") != std::string::npos || ends_with(leaf, "_pj") ||
                    ends_with(leaf, "_w") || ends_with(leaf, "_mm2") || leaf == "edp_j_s";
  if (in_stalls || cost || ends_with(leaf, "cycles") || ends_with(leaf, "bytes") ||
      leaf == "latency_ms" || leaf == "events" || leaf == "transfers") {
    return Direction::kLowerIsBetter;
  }
  return Direction::kMustNotChange;
}

double Change::percent() const {
  if (base == 0) return current == 0 ? 0 : std::numeric_limits<double>::infinity();
  return 100.0 * (current - base) / std::abs(base);
}

Comparison compare(const nlohmann::json& base, const nlohmann::json& current,
                   const std::map<std::string, double>& tolerance_percent) {
  Comparison c;
  const auto a = flatten(base), b = flatten(current);
  auto tolerance = [&](const std::string& path) {
    if (const auto it = tolerance_percent.find(path); it != tolerance_percent.end())
      return it->second;
    const auto dot = path.find_last_of('.');
    const std::string leaf = dot == std::string::npos ? path : path.substr(dot + 1);
    if (const auto it = tolerance_percent.find(leaf); it != tolerance_percent.end())
      return it->second;
    return 0.0;
  };
  for (const auto& [path, value] : a) {
    const auto it = b.find(path);
    if (it == b.end()) {
      c.notes.push_back(fmt::format("{}: only in the baseline", path));
      continue;
    }
    Change change{path, value, it->second};
    // Floating-point fields compare with a relative epsilon; integers exactly.
    if (std::abs(change.delta()) <= 1e-9 * std::max(std::abs(value), 1.0)) continue;
    const double pct = std::abs(change.percent());
    const Direction d = direction_of(path);
    const bool worse = d == Direction::kMustNotChange ||
                       (d == Direction::kLowerIsBetter ? change.delta() > 0 : change.delta() < 0);
    if (pct <= tolerance(path)) {
      c.within.push_back(change);
    } else if (worse) {
      c.regressions.push_back(change);
    } else {
      c.improvements.push_back(change);
    }
  }
  for (const auto& [path, value] : b) {
    if (!a.contains(path)) c.notes.push_back(fmt::format("{}: only in the current report", path));
  }
  if (base.contains("config") && current.contains("config") &&
      base["config"] != current["config"]) {
    c.notes.push_back("the hardware config differs");
  }
  return c;
}

std::string changes_table(const std::vector<Change>& changes) {
  std::string out = fmt::format("  {:<58} {:>16} {:>16} {:>14} {:>9}\n", "metric", "base",
                                "current", "delta", "%");
  for (const auto& ch : changes) {
    out += fmt::format("  {:<58} {:>16.6g} {:>16.6g} {:>+14.6g} {:>+8.2f}%\n", ch.metric, ch.base,
                       ch.current, ch.delta(), ch.percent());
  }
  return out;
}

}  // namespace tessel::reports
