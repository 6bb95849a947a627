#pragma once
// Typed, path-tracking reader over a JSON object. Every accessor names the
// file and JSON path in its error; finish() rejects keys nobody asked for, so
// a typo in a config is an error rather than a silent default.

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tessel {

class JsonReader {
 public:
  // `source` is the file name (or "--set", "<string>") used in messages;
  // `path` is the JSON path of `node`, e.g. "arch.sram[1]".
  JsonReader(const nlohmann::json& node, std::string source, std::string path);

  const std::string& path() const { return m_path; }
  const std::string& source() const { return m_source; }
  bool has(const std::string& key) const;

  std::uint64_t required_uint(const std::string& key, std::uint64_t min = 0,
                              std::uint64_t max = UINT64_MAX);
  std::uint64_t optional_uint(const std::string& key, std::uint64_t fallback, std::uint64_t min = 0,
                              std::uint64_t max = UINT64_MAX);
  double required_number(const std::string& key, double min_exclusive);
  double optional_number(const std::string& key, double fallback, double min_exclusive);
  std::string required_string(const std::string& key);
  std::string optional_string(const std::string& key, const std::string& fallback);
  std::string required_enum(const std::string& key, const std::vector<std::string>& allowed);
  std::string optional_enum(const std::string& key, const std::string& fallback,
                            const std::vector<std::string>& allowed);
  bool optional_bool(const std::string& key, bool fallback);
  // Marks `key` as known without reading it (free-form fields such as comments).
  void ignore(const std::string& key);

  JsonReader object(const std::string& key);
  // Calls `each` with a reader for every element of the array at `key`.
  void array(const std::string& key, bool required, const std::function<void(JsonReader&)>& each);
  std::vector<std::string> string_array(const std::string& key);

  // Throws if the object has keys that no accessor asked for.
  void finish() const;
  // Throws InputError("<source>: <path>.<key>: <what>").
  [[noreturn]] void fail(const std::string& key, const std::string& what) const;

 private:
  const nlohmann::json& get(const std::string& key);
  std::string child_path(const std::string& key) const;

  const nlohmann::json& m_node;
  std::string m_source;
  std::string m_path;
  std::set<std::string> m_seen;
};

// Short description of a JSON value for messages: `"abc"`, `3`, `an object`.
std::string describe_json(const nlohmann::json& value);

// Parses a JSON file; errors name the file and the line.
nlohmann::json load_json_file(const std::string& file);

}  // namespace tessel
