#include "explorer/store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include "arch/error.h"

namespace tessel::explorer {

namespace {

struct Statement {
  sqlite3_stmt* s = nullptr;
  ~Statement() { sqlite3_finalize(s); }
};

Result row(sqlite3_stmt* s) {
  auto text = [&](int c) {
    const auto* t = sqlite3_column_text(s, c);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  };
  Result r;
  r.key = text(0);
  r.params = nlohmann::json::parse(text(1));
  r.status = text(2);
  r.reason = text(3);
  r.metrics = nlohmann::json::parse(text(4));
  r.report = text(5);
  r.seconds = sqlite3_column_double(s, 6);
  return r;
}

}  // namespace

Store::Store(const std::string& file) : m_file(file) {
  if (sqlite3_open(file.c_str(), &m_db) != SQLITE_OK) {
    throw InputError(
        fmt::format("{}: cannot open the result store: {}", file, sqlite3_errmsg(m_db)));
  }
  sqlite3_busy_timeout(m_db, 10000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=NORMAL");
  exec(
      "CREATE TABLE IF NOT EXISTS points (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE "
      "NOT NULL, "
      "params TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL, metrics TEXT NOT NULL, "
      "report TEXT NOT NULL, seconds REAL NOT NULL)");
}

Store::~Store() {
  sqlite3_close(m_db);
}

void Store::exec(const std::string& sql) const {
  char* error = nullptr;
  if (sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    throw InputError(fmt::format("{}: result store: {}", m_file, message));
  }
}

void Store::put(const Result& r) {
  Statement st;
  sqlite3_prepare_v2(
      m_db,
      "INSERT OR REPLACE INTO points (key, params, status, reason, metrics, report, seconds) "
      "VALUES (?, ?, ?, ?, ?, ?, ?)",
      -1, &st.s, nullptr);
  const std::string params = r.params.dump(), metrics = r.metrics.dump();
  sqlite3_bind_text(st.s, 1, r.key.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 2, params.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 3, r.status.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 4, r.reason.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 5, metrics.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st.s, 6, r.report.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_double(st.s, 7, r.seconds);
  if (sqlite3_step(st.s) != SQLITE_DONE) {
    throw InputError(fmt::format("{}: result store: {}", m_file, sqlite3_errmsg(m_db)));
  }
}

void Store::begin() {
  exec("BEGIN");
}
void Store::commit() {
  exec("COMMIT");
}

std::optional<Result> Store::get(const std::string& key) const {
  Statement st;
  sqlite3_prepare_v2(
      m_db,
      "SELECT key, params, status, reason, metrics, report, seconds FROM points WHERE key = ?", -1,
      &st.s, nullptr);
  sqlite3_bind_text(st.s, 1, key.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st.s) == SQLITE_ROW) return row(st.s);
  return std::nullopt;
}

std::vector<Result> Store::all() const {
  Statement st;
  sqlite3_prepare_v2(
      m_db, "SELECT key, params, status, reason, metrics, report, seconds FROM points ORDER BY seq",
      -1, &st.s, nullptr);
  std::vector<Result> out;
  while (sqlite3_step(st.s) == SQLITE_ROW) out.push_back(row(st.s));
  return out;
}

std::size_t Store::size() const {
  return all().size();
}

}  // namespace tessel::explorer
