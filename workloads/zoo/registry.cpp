#include "workloads/zoo/registry.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include "arch/error.h"
#include "workloads/importers.h"
#include "workloads/zoo/builder.h"

namespace tessel::workloads::zoo {

namespace {

std::vector<ModelFamily>& family_list() {
  static std::vector<ModelFamily> list;
  return list;
}
std::vector<ModelPreset>& preset_list() {
  static std::vector<ModelPreset> list;
  return list;
}

std::map<std::string, std::string> parse_assignments(const std::string& text,
                                                     const std::string& spec) {
  std::map<std::string, std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      throw InputError(
          fmt::format("workload spec \"{}\": expected key=value, got \"{}\"", spec, item));
    }
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

void check_value(const ParamSpec& p, const std::string& value, const std::string& spec) {
  auto bad = [&](const std::string& what) {
    throw InputError(
        fmt::format("workload spec \"{}\": {} {}, got \"{}\"", spec, p.name, what, value));
  };
  switch (p.type) {
    case ParamSpec::Type::kInt: {
      std::size_t used = 0;
      long long v = 0;
      try {
        v = std::stoll(value, &used);
      } catch (...) {
        used = 0;
      }
      if (used != value.size()) bad("must be an integer");
      if (v < p.min || v > p.max) bad(fmt::format("must be in [{}, {}]", p.min, p.max));
      break;
    }
    case ParamSpec::Type::kReal: {
      std::size_t used = 0;
      double v = 0;
      try {
        v = std::stod(value, &used);
      } catch (...) {
        used = 0;
      }
      if (used != value.size() || !std::isfinite(v)) bad("must be a number");
      if (v < p.min || v > p.max) bad(fmt::format("must be in [{}, {}]", p.min, p.max));
      break;
    }
    case ParamSpec::Type::kChoice:
      if (std::find(p.choices.begin(), p.choices.end(), value) == p.choices.end()) {
        bad(fmt::format("must be one of {}", fmt::join(p.choices, ", ")));
      }
      break;
  }
}

}  // namespace

std::int64_t ModelParams::integer(const std::string& name) const {
  return std::stoll(m_values.at(name));
}
double ModelParams::real(const std::string& name) const {
  return std::stod(m_values.at(name));
}
const std::string& ModelParams::text(const std::string& name) const {
  return m_values.at(name);
}

bool register_family(ModelFamily family) {
  auto common = common_params();
  family.params.insert(family.params.end(), common.begin(), common.end());
  family_list().push_back(std::move(family));
  return true;
}

bool register_preset(ModelPreset preset) {
  preset_list().push_back(std::move(preset));
  return true;
}

const std::vector<ModelFamily>& families() {
  auto& list = family_list();
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return list;
}

const std::vector<ModelPreset>& presets() {
  auto& list = preset_list();
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return list;
}

ParamSpec classifier_classes_param() {
  return {"classes", ParamSpec::Type::kInt, "1000", "classifier outputs", 1, 100000, {}};
}

std::vector<ParamSpec> common_params() {
  std::vector<std::string> dtypes = {"int4", "int8", "fp8", "int16", "fp16", "bf16", "fp32"};
  std::vector<std::string> weights = dtypes;
  weights.insert(weights.begin(), "same");
  return {
      {"batch", ParamSpec::Type::kInt, "1", "images or sequences per inference", 1, 4096, {}},
      {"precision", ParamSpec::Type::kChoice, "int8", "activation (and default weight) type", 0, 0,
       dtypes},
      {"weight_precision", ParamSpec::Type::kChoice, "same", "weight type, e.g. int4 for W4A8", 0,
       0, weights},
      {"attention_precision", ParamSpec::Type::kChoice, "same",
       "type of attention's score and context matmuls and softmax (the KV cache in decode); "
       "families with attention only",
       0, 0, weights},
      {"first_last_precision", ParamSpec::Type::kChoice, "same",
       "activation and weight type of the first and last array layers (stem and classifier), "
       "the usual exception in low-bit quantisation",
       0, 0, weights},
  };
}

namespace {
struct ResolvedSpec {
  const ModelFamily* family;
  std::map<std::string, std::string> values, given;
};
ResolvedSpec resolve(const std::string& spec);
}  // namespace

std::pair<std::string, std::map<std::string, std::string>> resolve_spec(const std::string& spec) {
  const auto r = resolve(spec);
  return {r.family->name, r.values};
}

Workload build(const std::string& spec) {
  const auto resolved = resolve(spec);
  const ModelFamily* family = resolved.family;
  const auto& values = resolved.values;
  const auto& given = resolved.given;
  const ModelParams params(values);
  std::string label = family->name;
  for (const auto& [k, v] : given) label += (label == family->name ? ":" : ",") + k + "=" + v;
  const DType activation = *parse_dtype(params.text("precision"));
  const std::string& w = params.text("weight_precision");
  Builder builder(label, static_cast<std::uint64_t>(params.integer("batch")), activation,
                  w == "same" ? std::nullopt : parse_dtype(w));
  const std::string& attention = params.text("attention_precision");
  if (attention != "same") builder.set_attention_precision(parse_dtype(attention));
  Workload workload = family->build(params, builder);
  if (attention != "same" && builder.attention_blocks() == 0) {
    throw InputError(
        fmt::format("{}: attention_precision: {} has no attention", spec, family->name));
  }
  workload.name = spec;
  if (const std::string& edge = params.text("first_last_precision"); edge != "same") {
    std::vector<std::size_t> array_layers;
    for (std::size_t i = 0; i < workload.layers.size(); ++i)
      if (workload.layers[i].on_array()) array_layers.push_back(i);
    for (std::size_t i : {array_layers.front(), array_layers.back()}) {
      workload.layers[i].dtype = parse_dtype(edge);
      workload.layers[i].weight_dtype = parse_dtype(edge);
    }
  }
  validate_edges(workload, spec);
  return workload;
}

namespace {

ResolvedSpec resolve(const std::string& spec) {
  const auto colon = spec.find(':');
  std::string name = spec.substr(0, colon);
  auto given = parse_assignments(colon == std::string::npos ? "" : spec.substr(colon + 1), spec);
  for (const auto& p : presets()) {
    if (p.name == name) {
      for (const auto& [k, v] : parse_assignments(p.params, p.name)) {
        if (given.contains(k) && given[k] != v) {
          throw InputError(
              fmt::format("workload spec \"{}\": preset {} fixes {}={}; use the family "
                          "\"{}\" to change it",
                          spec, p.name, k, v, p.family));
        }
        given[k] = v;
      }
      name = p.family;
    }
  }
  const ModelFamily* family = nullptr;
  for (const auto& f : families()) {
    if (f.name == name) family = &f;
  }
  if (family == nullptr) {
    std::vector<std::string> names;
    for (const auto& f : families()) names.push_back(f.name);
    for (const auto& p : presets()) names.push_back(p.name);
    throw InputError(
        fmt::format("workload spec \"{}\": no model \"{}\" (models: {}; or give a "
                    ".json, .csv or .onnx file)",
                    spec, name, fmt::join(names, ", ")));
  }
  std::map<std::string, std::string> values;
  for (const auto& p : family->params) values[p.name] = p.default_value;
  for (const auto& [k, v] : given) {
    const auto it = std::find_if(family->params.begin(), family->params.end(),
                                 [&](const ParamSpec& p) { return p.name == k; });
    if (it == family->params.end()) {
      std::vector<std::string> names;
      for (const auto& p : family->params) names.push_back(p.name);
      throw InputError(fmt::format("workload spec \"{}\": {} has no parameter \"{}\" (it has {})",
                                   spec, family->name, k, fmt::join(names, ", ")));
    }
    check_value(*it, v, spec);
    values[k] = v;
  }
  return {family, values, given};
}

}  // namespace

Workload load(const std::string& spec, bool skip_unsupported) {
  const auto dot = spec.find_last_of('.');
  const std::string ext = dot == std::string::npos ? "" : spec.substr(dot);
  const bool is_file = ext == ".json" || ext == ".csv" || ext == ".onnx" ||
                       spec.find('/') != std::string::npos || std::filesystem::exists(spec);
  return is_file ? load_workload(spec, skip_unsupported) : build(spec);
}

}  // namespace tessel::workloads::zoo
