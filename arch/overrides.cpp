#include "arch/overrides.h"

#include <fmt/format.h>

#include "arch/error.h"

namespace tessel {

namespace {

struct Step {
  std::string key;  // object key, when index < 0
  long index = -1;  // array index
};

std::vector<Step> parse_path(const std::string& path, const std::string& assignment) {
  std::vector<Step> steps;
  std::size_t i = 0;
  auto bad = [&](const std::string& what) {
    throw InputError(fmt::format("--set {}: {}", assignment, what));
  };
  while (i < path.size()) {
    if (path[i] == '[') {
      const auto close = path.find(']', i);
      if (close == std::string::npos) bad("missing ']'");
      const std::string digits = path.substr(i + 1, close - i - 1);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) {
        bad(fmt::format("array index must be a non-negative integer, got \"{}\"", digits));
      }
      steps.push_back({"", std::stol(digits)});
      i = close + 1;
      if (i < path.size() && path[i] == '.') ++i;
    } else {
      const auto end = path.find_first_of(".[", i);
      const std::string key =
          path.substr(i, end == std::string::npos ? std::string::npos : end - i);
      if (key.empty()) bad("empty path component");
      steps.push_back({key, -1});
      i = end == std::string::npos ? path.size() : end;
      if (i < path.size() && path[i] == '.') ++i;
    }
  }
  if (steps.empty()) bad("empty path");
  return steps;
}

}  // namespace

void apply_override(nlohmann::json& doc, const std::string& assignment, const std::string& root) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos) {
    throw InputError(fmt::format("--set {}: expected PATH=VALUE", assignment));
  }
  std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  if (!root.empty() && path.rfind(root + ".", 0) == 0) path = path.substr(root.size() + 1);
  auto steps = parse_path(path, assignment);

  nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
  if (value.is_discarded()) value = text;

  nlohmann::json* node = &doc;
  std::string walked = root;
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const bool last = s + 1 == steps.size();
    const Step& step = steps[s];
    if (step.index >= 0) {
      if (!node->is_array()) {
        throw InputError(fmt::format("--set {}: {} is not an array", assignment, walked));
      }
      if (static_cast<std::size_t>(step.index) >= node->size()) {
        throw InputError(fmt::format("--set {}: {} has {} elements, no index {}", assignment,
                                     walked, node->size(), step.index));
      }
      walked += fmt::format("[{}]", step.index);
      node = &(*node)[static_cast<std::size_t>(step.index)];
    } else {
      if (!node->is_object()) {
        throw InputError(fmt::format("--set {}: {} is not an object", assignment, walked));
      }
      walked += (walked.empty() ? "" : ".") + step.key;
      // A missing object on the way is created (an optional section such as
      // `schedule`); validation rejects it if the key is unknown.
      if (!node->contains(step.key) && !last) (*node)[step.key] = nlohmann::json::object();
      node = &(*node)[step.key];
    }
    if (last) *node = value;
  }
}

}  // namespace tessel
