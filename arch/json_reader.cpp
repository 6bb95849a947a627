#include "arch/json_reader.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "arch/error.h"

namespace tessel {

std::string describe_json(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::null:
      return "null";
    default:
      return value.dump();
  }
}

nlohmann::json load_json_file(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw InputError(fmt::format("{}: cannot open file", file));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann reports a byte offset; translate it into a line number.
    std::ifstream again(file);
    std::stringstream buffer;
    buffer << again.rdbuf();
    const std::string text = buffer.str();
    std::size_t line = 1;
    for (std::size_t i = 0; i < e.byte && i < text.size(); ++i) line += text[i] == '\n';
    std::string what = e.what();
    const auto pos = what.find("parse error");
    throw InputError(fmt::format("{}:{}: invalid JSON: {}", file, line,
                                 pos == std::string::npos ? what : what.substr(pos)));
  }
}

JsonReader::JsonReader(const nlohmann::json& node, std::string source, std::string path)
    : m_node(node), m_source(std::move(source)), m_path(std::move(path)) {
  if (!m_node.is_object()) {
    throw InputError(fmt::format("{}: {}: expected an object, got {}", m_source,
                                 m_path.empty() ? "(top level)" : m_path, describe_json(m_node)));
  }
}

std::string JsonReader::child_path(const std::string& key) const {
  return m_path.empty() ? key : m_path + "." + key;
}

void JsonReader::fail(const std::string& key, const std::string& what) const {
  throw InputError(fmt::format("{}: {}: {}", m_source, child_path(key), what));
}

bool JsonReader::has(const std::string& key) const {
  return m_node.contains(key);
}

void JsonReader::ignore(const std::string& key) {
  m_seen.insert(key);
}

const nlohmann::json& JsonReader::get(const std::string& key) {
  m_seen.insert(key);
  if (!m_node.contains(key)) fail(key, "required key is missing");
  return m_node.at(key);
}

std::uint64_t JsonReader::required_uint(const std::string& key, std::uint64_t min,
                                        std::uint64_t max) {
  const auto& v = get(key);
  bool integral = v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
  if (v.is_number_float()) {
    const double d = v.get<double>();
    integral = d >= 0 && std::floor(d) == d && d < 1.8e19;
    if (integral) {
      const auto u = static_cast<std::uint64_t>(d);
      if (u < min || u > max) fail(key, fmt::format("must be in [{}, {}], got {}", min, max, u));
      return u;
    }
  }
  if (!integral)
    fail(key, fmt::format("expected a non-negative integer, got {}", describe_json(v)));
  const auto u = v.get<std::uint64_t>();
  if (u < min || u > max) fail(key, fmt::format("must be in [{}, {}], got {}", min, max, u));
  return u;
}

std::uint64_t JsonReader::optional_uint(const std::string& key, std::uint64_t fallback,
                                        std::uint64_t min, std::uint64_t max) {
  if (!has(key)) {
    m_seen.insert(key);
    return fallback;
  }
  return required_uint(key, min, max);
}

double JsonReader::required_number(const std::string& key, double min_exclusive) {
  const auto& v = get(key);
  if (!v.is_number()) fail(key, fmt::format("expected a number, got {}", describe_json(v)));
  const double d = v.get<double>();
  if (!(d > min_exclusive) || !std::isfinite(d)) {
    fail(key, fmt::format("must be greater than {}, got {}", min_exclusive, d));
  }
  return d;
}

double JsonReader::optional_number(const std::string& key, double fallback, double min_exclusive) {
  if (!has(key)) {
    m_seen.insert(key);
    return fallback;
  }
  return required_number(key, min_exclusive);
}

std::string JsonReader::required_string(const std::string& key) {
  const auto& v = get(key);
  if (!v.is_string()) fail(key, fmt::format("expected a string, got {}", describe_json(v)));
  return v.get<std::string>();
}

std::string JsonReader::optional_string(const std::string& key, const std::string& fallback) {
  if (!has(key)) {
    m_seen.insert(key);
    return fallback;
  }
  return required_string(key);
}

std::string JsonReader::required_enum(const std::string& key,
                                      const std::vector<std::string>& allowed) {
  const std::string value = required_string(key);
  for (const auto& a : allowed) {
    if (a == value) return value;
  }
  fail(key, fmt::format("must be one of {}, got \"{}\"", fmt::join(allowed, ", "), value));
}

std::string JsonReader::optional_enum(const std::string& key, const std::string& fallback,
                                      const std::vector<std::string>& allowed) {
  if (!has(key)) {
    m_seen.insert(key);
    return fallback;
  }
  return required_enum(key, allowed);
}

bool JsonReader::optional_bool(const std::string& key, bool fallback) {
  if (!has(key)) {
    m_seen.insert(key);
    return fallback;
  }
  const auto& v = get(key);
  if (!v.is_boolean()) fail(key, fmt::format("expected true or false, got {}", describe_json(v)));
  return v.get<bool>();
}

JsonReader JsonReader::object(const std::string& key) {
  const auto& v = get(key);
  if (!v.is_object()) fail(key, fmt::format("expected an object, got {}", describe_json(v)));
  return JsonReader(v, m_source, child_path(key));
}

void JsonReader::array(const std::string& key, bool required,
                       const std::function<void(JsonReader&)>& each) {
  if (!required && !has(key)) {
    m_seen.insert(key);
    return;
  }
  const auto& v = get(key);
  if (!v.is_array()) fail(key, fmt::format("expected an array, got {}", describe_json(v)));
  for (std::size_t i = 0; i < v.size(); ++i) {
    JsonReader element(v[i], m_source, fmt::format("{}[{}]", child_path(key), i));
    each(element);
    element.finish();
  }
}

std::vector<std::string> JsonReader::string_array(const std::string& key) {
  const auto& v = get(key);
  if (!v.is_array())
    fail(key, fmt::format("expected an array of strings, got {}", describe_json(v)));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) {
      fail(fmt::format("{}[{}]", key, i),
           fmt::format("expected a string, got {}", describe_json(v[i])));
    }
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

void JsonReader::finish() const {
  for (const auto& [key, value] : m_node.items()) {
    if (!m_seen.contains(key)) fail(key, "unknown key");
  }
}

}  // namespace tessel
