#pragma once
// `--set path=value` overrides on a JSON document before it is validated.

#include <string>

#include <nlohmann/json.hpp>

namespace tessel {

// Applies "a.b[2].c=value" to `doc`. `root` is an optional leading path
// component that may be written or omitted ("arch.array.rows" or
// "array.rows"). The value is parsed as JSON when it is valid JSON and taken
// as a string otherwise. The parent object or array element must exist; a
// new key in an existing object is allowed (validation rejects unknown keys).
void apply_override(nlohmann::json& doc, const std::string& assignment, const std::string& root);

}  // namespace tessel
