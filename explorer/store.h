#pragma once
// The sweep's result store: SQLite in WAL mode, one row per evaluated
// point keyed by the hash of its resolved configuration, committed as each
// point finishes, so a killed sweep loses nothing it finished and resumes
// without re-running it.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;

namespace tessel::explorer {

struct Result {
  std::string key;
  nlohmann::json params;
  std::string status;  // "ok", "infeasible", "failed"
  std::string reason;  // why infeasible or failed
  nlohmann::json metrics;
  std::string report;  // report path, for "ok" and "infeasible" by constraint
  double seconds = 0;
};

class Store {
 public:
  explicit Store(const std::string& file);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  void put(const Result& r);
  // Batches puts into one transaction (fast bulk writes); commit() ends it.
  void begin();
  void commit();
  std::optional<Result> get(const std::string& key) const;
  std::vector<Result> all() const;  // in insertion order
  std::size_t size() const;

 private:
  void exec(const std::string& sql) const;
  sqlite3* m_db = nullptr;
  std::string m_file;
};

}  // namespace tessel::explorer
