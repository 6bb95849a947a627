#pragma once
// A design-space sweep: base hardware and workload, parameters on hardware
// (`arch.*`, any config path) and model (`model.*`, a zoo family's
// parameters) paths, objectives, constraints and the search strategy.
// docs/sweep-format.md documents the JSON.

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "explorer/accuracy.h"
#include "explorer/expression.h"

namespace tessel::explorer {

struct Parameter {
  std::string path;                    // "arch.array.rows" or "model.width_mult"
  std::vector<nlohmann::json> values;  // candidate values (ranges expanded)
  // Computed from earlier parameters ("tie": a name; "derive": an
  // expression) instead of searched.
  std::shared_ptr<const Expression> derive;
  bool derived() const { return derive != nullptr; }
  bool is_model() const { return path.rfind("model.", 0) == 0; }
};

// A validity rule: a point where the expression is false (0) is recorded as
// infeasible without being evaluated.
struct Rule {
  std::shared_ptr<const Expression> expression;
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
  std::vector<Rule> rules;
  Strategy strategy;
  // Set when the spec has an "accuracy" block or names the metric
  // "accuracy"; then every point records it.
  std::optional<AccuracyTable> accuracy;
};

// Report paths an objective or constraint may name (docs/sweep-format.md).
extern const std::set<std::string> kMetrics;
// Energy, power and area metrics: they exist when the arch config has a
// technology block, in reports and in the analytical estimate alike.
extern const std::set<std::string> kCostMetrics;

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
  // The first rule the point breaks, when it breaks one.
  std::optional<std::string> broken_rule;
};
Resolved resolve(const SweepSpec& spec, const Point& point);

// A metric of a report by dotted path; nullopt if absent or not a number.
std::optional<double> metric(const nlohmann::json& report, const std::string& path);

}  // namespace tessel::explorer
