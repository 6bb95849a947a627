#pragma once
// A design-space sweep: base hardware and workload, parameters on hardware
// (`arch.*`, any config path) and model (`model.*`, a zoo family's
// parameters) paths, objectives, constraints and the search strategy.
// docs/sweep-format.md documents the JSON.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "explorer/accuracy.h"

namespace tessel::explorer {

struct Parameter {
  std::string path;                    // "arch.array.rows" or "model.width_mult"
  std::vector<nlohmann::json> values;  // candidate values (ranges expanded)
  std::optional<std::string> tie;      // takes the value of another parameter
  bool is_model() const { return path.rfind("model.", 0) == 0; }
};

struct Objective {
  std::string metric;  // a report path ("totals.latency_ms") or "accuracy"
  bool minimise = true;
};

struct Constraint {
  std::string metric;
  std::optional<double> min, max;
};

struct Strategy {
  std::string name = "grid";      // grid, random, lhs, nsga2
  std::uint64_t samples = 0;      // random, lhs
  std::uint64_t population = 0;   // nsga2: a multiple of 4, at least 8
  std::uint64_t generations = 0;  // nsga2
  std::uint64_t seed = 1;
};

struct SweepSpec {
  std::string name;
  std::string arch;      // hardware config file (resolved against the spec's folder)
  std::string workload;  // model spec or file
  std::vector<Parameter> parameters;
  std::vector<Objective> objectives;
  std::vector<Constraint> constraints;
  Strategy strategy;
  // Set when the spec has an "accuracy" block or names the metric
  // "accuracy"; then every point records it.
  std::optional<AccuracyTable> accuracy;
};

// Parses and validates a spec: every `arch.*` path exists in the base config
// (checked by applying a value and validating), `model.*` parameters exist
// in the workload's model family, ranges are non-empty, ties name earlier
// parameters, objectives and constraints name report metrics. Errors name
// the file and JSON path.
SweepSpec load_sweep(const std::string& file);

// A point: one value per parameter (ties resolved).
using Point = std::vector<nlohmann::json>;

// The `--set` overrides and the workload spec of a point.
struct Resolved {
  std::vector<std::string> overrides;
  std::string workload;
  nlohmann::json params;  // {"arch.array.rows": 32, ...}
  std::string key;        // stable hash of the above
};
Resolved resolve(const SweepSpec& spec, const Point& point);

// A metric of a report by dotted path; nullopt if absent or not a number.
std::optional<double> metric(const nlohmann::json& report, const std::string& path);

}  // namespace tessel::explorer
