#pragma once
// The page of a sweep (pareto.html): one SVG scatter per pair of objectives
// with the Pareto front highlighted and every point's parameters on hover,
// and a per-parameter sensitivity summary. Self-contained: no scripts, no
// network.

#include <string>

#include <nlohmann/json.hpp>

namespace tessel::reports {

// `sweep` is {"name", "objectives": [{"metric", "goal"}], "parameters":
// [path, ...], "points": [{"key", "status", "reason", "params", "metrics",
// "front"}]}.
std::string sweep_html(const nlohmann::json& sweep);

}  // namespace tessel::reports
