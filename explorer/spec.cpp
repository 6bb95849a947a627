#include "explorer/spec.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "arch/config.h"
#include "arch/error.h"
#include "arch/json_reader.h"
#include "workloads/zoo/registry.h"

namespace tessel::explorer {

const std::set<std::string> kCostMetrics = {"hardware.area_mm2",
                                            "hardware.peak_tops_per_mm2",
                                            "hardware.idle_power_w",
                                            "totals.energy_pj",
                                            "totals.power_w",
                                            "totals.tops_per_w",
                                            "totals.edp_j_s",
                                            "totals.energy_by_component_pj.dram",
                                            "totals.energy_by_component_pj.sram",
                                            "totals.energy_by_component_pj.mac",
                                            "totals.energy_by_component_pj.interconnect",
                                            "totals.energy_by_component_pj.vector",
                                            "totals.energy_by_component_pj.idle"};

// Report metrics an objective or constraint may name: these, and
// kCostMetrics when the config has a technology block.
const std::set<std::string> kMetrics = {"totals.cycles",
                                        "totals.latency_ms",
                                        "totals.compute_cycles",
                                        "totals.stall_cycles",
                                        "totals.macs",
                                        "totals.utilization",
                                        "totals.achieved_tops",
                                        "totals.dram_read_bytes",
                                        "totals.dram_write_bytes",
                                        "totals.roofline.achieved_macs_per_cycle",
                                        "totals.roofline.attainable_macs_per_cycle",
                                        "totals.roofline.operational_intensity_macs_per_dram_byte",
                                        "totals.roofline.operational_intensity_macs_per_sram_byte",
                                        "totals.stall_by_cause.dram",
                                        "totals.stall_by_cause.sram",
                                        "totals.stall_by_cause.dma",
                                        "totals.stall_by_cause.vector",
                                        "hardware.peak_tops",
                                        "hardware.peak_macs_per_cycle",
                                        "hardware.dram_bytes_per_cycle",
                                        "hardware.array_sram_bytes_per_cycle",
                                        "units.dram.busy_cycles",
                                        "units.dram.bandwidth_utilization",
                                        "units.vector.busy_cycles",
                                        "units.vector.utilization",
                                        "units.dma.transfers",
                                        "units.dma.busy_cycles",
                                        "units.dma.channel_utilization"};

namespace {

std::vector<nlohmann::json> expand_range(JsonReader& r) {
  const auto& node = r;  // for messages
  (void)node;
  const double min = r.required_number("min", -1e300), max = r.required_number("max", -1e300);
  const std::string scale = r.optional_enum("scale", "linear", {"linear", "log2"});
  std::vector<nlohmann::json> values;
  if (max < min) r.fail("max", fmt::format("must be at least min ({}), got {}", min, max));
  const bool integral = std::floor(min) == min && std::floor(max) == max;
  if (scale == "log2") {
    r.ignore("step");
    if (min <= 0) r.fail("min", "a log2 range needs min > 0");
    for (double v = min; v <= max * (1 + 1e-12); v *= 2) {
      values.push_back(integral ? nlohmann::json(static_cast<std::int64_t>(v)) : nlohmann::json(v));
    }
  } else {
    const double step = r.required_number("step", 0.0);
    for (double v = min; v <= max + step * 1e-9; v += step) {
      const bool whole = integral && std::floor(step) == step;
      values.push_back(whole ? nlohmann::json(static_cast<std::int64_t>(std::llround(v)))
                             : nlohmann::json(v));
      if (values.size() > 100000) r.fail("step", "the range has more than 100000 values");
    }
  }
  if (values.empty()) r.fail("min", "the range is empty");
  return values;
}

std::string append_model_params(const std::string& workload,
                                const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out = workload;
  bool first = workload.find(':') == std::string::npos;
  for (const auto& [k, v] : params) {
    out += (first ? ":" : ",") + k + "=" + v;
    first = false;
  }
  return out;
}

std::string text_of(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

SweepSpec load_sweep(const std::string& file) {
  const nlohmann::json json = load_json_file(file);
  JsonReader top(json, file, "sweep");
  SweepSpec spec;
  spec.name = top.optional_string("name", std::filesystem::path(file).stem().string());
  top.ignore("comment");
  spec.arch = top.required_string("arch");
  spec.workload = top.required_string("workload");
  // Files are relative to the working directory, as on the command line.
  const auto base_config = arch::load_config(spec.arch);  // validates the base
  const bool zoo_workload = spec.workload.find('/') == std::string::npos &&
                            spec.workload.find(".json") == std::string::npos &&
                            spec.workload.find(".csv") == std::string::npos &&
                            spec.workload.find(".onnx") == std::string::npos;
  std::set<std::string> seen;
  top.array("parameters", true, [&](JsonReader& r) {
    Parameter p;
    p.path = r.required_string("path");
    if (p.path.rfind("arch.", 0) != 0 && p.path.rfind("model.", 0) != 0) {
      r.fail("path", fmt::format("must start with arch. or model., got \"{}\"", p.path));
    }
    if (!seen.insert(p.path).second) r.fail("path", fmt::format("\"{}\" is swept twice", p.path));
    const int given = r.has("values") + r.has("range") + r.has("tie") + r.has("derive");
    if (given != 1) r.fail("path", "give exactly one of values, range, tie or derive");
    if (r.has("tie") || r.has("derive")) {
      const char* key = r.has("tie") ? "tie" : "derive";
      try {
        p.derive = std::make_shared<const Expression>(r.required_string(key));
      } catch (const InputError& e) {
        r.fail(key, e.what());
      }
      if (r.has("tie") && p.derive->names() != std::vector<std::string>{p.derive->text()})
        r.fail("tie", "names one earlier parameter (derive takes an expression)");
      for (const auto& name : p.derive->names()) {
        if (!seen.contains(name) || name == p.path) {
          r.fail(key, fmt::format("\"{}\" is not an earlier parameter", name));
        }
      }
    } else if (r.has("values")) {
      r.ignore("values");
      const auto& v = json["parameters"][spec.parameters.size()]["values"];
      if (!v.is_array() || v.empty()) r.fail("values", "expected a non-empty array");
      p.values.assign(v.begin(), v.end());
    } else {
      JsonReader range = r.object("range");
      p.values = expand_range(range);
      range.finish();
    }
    r.ignore("values");
    r.ignore("range");
    r.ignore("tie");
    r.ignore("derive");
    // Every value must be valid where it goes.
    for (const auto& v : p.values) {
      try {
        if (p.is_model()) {
          if (!zoo_workload) r.fail("path", "model.* parameters need a model-zoo workload spec");
          workloads::zoo::build(
              append_model_params(spec.workload, {{p.path.substr(6), text_of(v)}}));
        } else {
          arch::load_config(spec.arch, {p.path + "=" + v.dump()});
        }
      } catch (const InputError& e) {
        r.fail(p.is_model() ? "path" : "values",
               fmt::format("value {} is invalid: {}", v.dump(), e.what()));
      }
    }
    spec.parameters.push_back(std::move(p));
  });
  auto known = [](const std::string& m) {
    return kMetrics.contains(m) || kCostMetrics.contains(m) || m == "accuracy";
  };
  // Energy, power and area exist only with a technology block, in the base
  // config or set by a parameter.
  const bool costed =
      base_config.technology_node_nm ||
      std::any_of(spec.parameters.begin(), spec.parameters.end(),
                  [](const Parameter& p) { return p.path.rfind("arch.technology", 0) == 0; });
  auto check_costed = [&](JsonReader& r, const std::string& m) {
    if (kCostMetrics.contains(m) && !costed) {
      r.fail("metric", fmt::format("{} needs a \"technology\" block in {} (docs/energy-area.md)", m,
                                   spec.arch));
    }
  };
  top.array("objectives", true, [&](JsonReader& r) {
    Objective o;
    o.metric = r.required_string("metric");
    if (!known(o.metric)) {
      r.fail("metric", fmt::format("not a metric; one of: accuracy, {}, {}",
                                   fmt::join(kMetrics, ", "), fmt::join(kCostMetrics, ", ")));
    }
    check_costed(r, o.metric);
    o.minimise = r.required_enum("goal", {"min", "max"}) == "min";
    spec.objectives.push_back(o);
  });
  if (spec.objectives.empty()) top.fail("objectives", "give at least one objective");
  top.array("constraints", false, [&](JsonReader& r) {
    Constraint c;
    c.metric = r.required_string("metric");
    if (!known(c.metric)) r.fail("metric", "not a metric (accuracy or a report metric)");
    check_costed(r, c.metric);
    if (r.has("min")) c.min = r.required_number("min", -1e300);
    if (r.has("max")) c.max = r.required_number("max", -1e300);
    r.ignore("min");
    r.ignore("max");
    if (!c.min && !c.max) r.fail("metric", "a constraint needs min or max");
    spec.constraints.push_back(c);
  });
  // Expressions read numbers: every parameter they name must have only numeric values.
  auto numeric = [&](const std::string& name) {
    for (const auto& p : spec.parameters) {
      if (p.path != name || p.derived()) continue;
      return std::all_of(p.values.begin(), p.values.end(),
                         [](const nlohmann::json& v) { return v.is_number(); });
    }
    return true;
  };
  for (std::size_t i = 0; i < spec.parameters.size(); ++i) {
    const auto& p = spec.parameters[i];
    if (!p.derive) continue;
    for (const auto& name : p.derive->names()) {
      if (!numeric(name)) {
        throw InputError(fmt::format("{}: sweep.parameters[{}]: {} has values that are not numbers",
                                     file, i, name));
      }
    }
  }
  if (top.has("rules")) {
    top.ignore("rules");
    const auto& rules = json["rules"];
    auto fail = [&](std::size_t i, const std::string& what) {
      throw InputError(fmt::format("{}: sweep.rules[{}]: {}", file, i, what));
    };
    if (!rules.is_array()) {
      throw InputError(fmt::format("{}: sweep.rules: expected an array of expressions", file));
    }
    for (std::size_t i = 0; i < rules.size(); ++i) {
      if (!rules[i].is_string()) fail(i, "expected an expression string");
      try {
        spec.rules.push_back({std::make_shared<const Expression>(rules[i].get<std::string>())});
      } catch (const InputError& e) {
        fail(i, e.what());
      }
      for (const auto& name : spec.rules.back().expression->names()) {
        if (!seen.contains(name)) fail(i, fmt::format("\"{}\" is not a parameter", name));
        if (!numeric(name)) fail(i, fmt::format("{} has values that are not numbers", name));
      }
    }
  }
  const auto free_count = std::count_if(spec.parameters.begin(), spec.parameters.end(),
                                        [](const Parameter& p) { return !p.derived(); });
  if (top.has("strategy")) {
    JsonReader s = top.object("strategy");
    spec.strategy.name = s.required_enum("name", {"grid", "random", "lhs", "nsga2"});
    if (spec.strategy.name == "nsga2") {
      spec.strategy.population = s.optional_uint("population", 16, 8, 100000);
      if (spec.strategy.population % 4 != 0) {
        s.fail("population",
               fmt::format("NSGA-II needs a multiple of 4, got {}", spec.strategy.population));
      }
      spec.strategy.generations = s.optional_uint("generations", 10, 1, 100000);
      if (spec.objectives.size() < 2) s.fail("name", "NSGA-II needs at least two objectives");
      if (free_count == 0) s.fail("name", "NSGA-II needs at least one swept parameter");
    } else if (spec.strategy.name != "grid") {
      spec.strategy.samples = s.optional_uint("samples", 16, 1, 1000000);
    }
    spec.strategy.seed = s.optional_uint("seed", 1, 0, 0xffffffffu);
    s.finish();
  } else {
    top.ignore("strategy");
  }
  const auto names_accuracy = [](const auto& list) {
    return std::any_of(list.begin(), list.end(),
                       [](const auto& x) { return x.metric == "accuracy"; });
  };
  std::string table = "builtin";
  if (top.has("accuracy")) {
    JsonReader a = top.object("accuracy");
    table = a.required_string("table");
    a.finish();
  } else {
    top.ignore("accuracy");
  }
  if (top.has("accuracy") || names_accuracy(spec.objectives) || names_accuracy(spec.constraints)) {
    if (!zoo_workload) {
      top.fail("workload",
               "the metric accuracy needs a model-zoo workload, whose parameters "
               "select the accuracy table's row");
    }
    try {
      spec.accuracy = load_accuracy_table(table);
    } catch (const InputError& e) {
      top.fail("accuracy", e.what());
    }
    const auto family = workloads::zoo::resolve_spec(spec.workload).first;
    if (std::none_of(spec.accuracy->rows.begin(), spec.accuracy->rows.end(),
                     [&](const AccuracyRow& row) { return row.family == family; })) {
      top.fail("accuracy", fmt::format("the table {} has no rows for the family {}",
                                       spec.accuracy->file, family));
    }
  }
  top.finish();
  return spec;
}

namespace {

// A parameter's value for expressions: numbers as they are; anything else
// is an error naming the parameter.
std::function<double(const std::string&)> lookup_in(const nlohmann::json& params) {
  return [&params](const std::string& name) {
    const auto it = params.find(name);
    if (it == params.end()) throw InputError(fmt::format("no parameter {}", name));
    if (!it->is_number()) {
      throw InputError(fmt::format("{} is {}, not a number", name, describe_json(*it)));
    }
    return it->get<double>();
  };
}

// An expression's value as JSON: an integer when it is one.
nlohmann::json number_json(double v) {
  if (std::isfinite(v) && std::floor(v) == v && std::abs(v) < 9e15)
    return static_cast<std::int64_t>(v);
  return v;
}

}  // namespace

Resolved resolve(const SweepSpec& spec, const Point& point) {
  Resolved r;
  r.params = nlohmann::json::object();
  std::vector<std::pair<std::string, std::string>> model;
  for (std::size_t i = 0; i < spec.parameters.size(); ++i) {
    const auto& p = spec.parameters[i];
    nlohmann::json value = point[i];
    if (p.derive) value = number_json(p.derive->evaluate(lookup_in(r.params)));
    r.params[p.path] = value;
    if (p.is_model()) {
      model.push_back({p.path.substr(6), text_of(value)});
    } else {
      r.overrides.push_back(p.path + "=" + value.dump());
    }
  }
  r.workload = append_model_params(spec.workload, model);
  for (const auto& rule : spec.rules) {
    if (rule.expression->evaluate(lookup_in(r.params)) == 0) {
      r.broken_rule = rule.expression->text();
      break;
    }
  }
  r.key = fmt::format(
      "{:016x}",
      fnv1a(nlohmann::json{{"arch", spec.arch}, {"set", r.overrides}, {"workload", r.workload}}
                .dump()));
  return r;
}

std::optional<double> metric(const nlohmann::json& report, const std::string& path) {
  const nlohmann::json* node = &report;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto dot = path.find('.', start);
    const std::string key =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!node->is_object() || !node->contains(key)) return std::nullopt;
    node = &(*node)[key];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (!node->is_number()) return std::nullopt;
  return node->get<double>();
}

}  // namespace tessel::explorer
