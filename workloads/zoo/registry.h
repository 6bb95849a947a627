#pragma once
// The model zoo: parameterised network families, each in its own file and
// registered there by TESSEL_REGISTER_MODEL (no hand-kept list). Presets
// name a family with fixed parameters ("resnet50" = resnet:depth=50).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "workloads/layer.h"

namespace tessel::workloads::zoo {

struct ParamSpec {
  enum class Type { kInt, kReal, kChoice };
  std::string name;
  Type type = Type::kInt;
  std::string default_value;
  std::string help;
  double min = 0, max = 0;           // kInt, kReal (inclusive)
  std::vector<std::string> choices;  // kChoice
};

// Validated parameter values of one build.
class ModelParams {
 public:
  explicit ModelParams(std::map<std::string, std::string> values) : m_values(std::move(values)) {}
  std::int64_t integer(const std::string& name) const;
  double real(const std::string& name) const;
  const std::string& text(const std::string& name) const;
  const std::map<std::string, std::string>& values() const { return m_values; }

 private:
  std::map<std::string, std::string> m_values;
};

struct ModelFamily {
  std::string name;
  std::string description;  // the default member it models, with its source
  std::vector<ParamSpec> params;
  // Builds the network; batch and the dtypes come from the common params.
  std::function<Workload(const ModelParams&, class Builder&)> build;
};

struct ModelPreset {
  std::string name;
  std::string family;
  std::string params;  // "k=v,k=v"
};

bool register_family(ModelFamily family);
bool register_preset(ModelPreset preset);
const std::vector<ModelFamily>& families();
const std::vector<ModelPreset>& presets();

// Parameters every family takes, added by the registry.
std::vector<ParamSpec> common_params();
// `classes` of an image classifier, default ImageNet's 1000.
ParamSpec classifier_classes_param();

// Builds "name" or "name:k=v,k=v" (a family or a preset). Throws InputError
// naming the spec and what was expected.
Workload build(const std::string& spec);

// The family and every parameter value (defaults filled in) of a spec.
std::pair<std::string, std::map<std::string, std::string>> resolve_spec(const std::string& spec);

// What every --workload takes: a model spec, or a file (.json, .csv) by
// its extension or because it exists.
Workload load(const std::string& spec, bool skip_unsupported = false);

}  // namespace tessel::workloads::zoo

#define TESSEL_ZOO_CONCAT2(a, b) a##b
#define TESSEL_ZOO_CONCAT(a, b) TESSEL_ZOO_CONCAT2(a, b)
// Registers a family (or preset) at static initialisation. The zoo is an
// OBJECT library, so the linker never drops these.
#define TESSEL_REGISTER_MODEL(...)                                                         \
  static const bool TESSEL_ZOO_CONCAT(tessel_zoo_registered_, __LINE__) [[maybe_unused]] = \
      ::tessel::workloads::zoo::register_family(__VA_ARGS__)
#define TESSEL_REGISTER_PRESET(...)                                                    \
  static const bool TESSEL_ZOO_CONCAT(tessel_zoo_preset_, __LINE__) [[maybe_unused]] = \
      ::tessel::workloads::zoo::register_preset(__VA_ARGS__)
