#include "explorer/accuracy.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "arch/error.h"

namespace tessel::explorer {

extern const char* const kBuiltinImagenetTop1;  // generated from data/imagenet_top1.csv

namespace {

// One CSV record: comma-separated, fields optionally in double quotes ("" is
// a quote). Records are single lines.
std::vector<std::string> split_csv(const std::string& line, const std::string& where) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  if (quoted) throw InputError(fmt::format("{}: unterminated quoted field", where));
  for (auto& f : fields) {
    const auto b = f.find_first_not_of(" \t"), e = f.find_last_not_of(" \t");
    f = b == std::string::npos ? "" : f.substr(b, e - b + 1);
  }
  return fields;
}

std::optional<double> number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

bool same_value(const std::string& a, const std::string& b) {
  const auto x = number(a), y = number(b);
  if (x && y) return *x == *y;
  return a == b;
}

AccuracyTable parse(std::istream& in, const std::string& file) {
  AccuracyTable table{file, {}};
  std::vector<std::string> header;
  std::string line;
  int number_of_line = 0;
  int accuracy_col = -1, family_col = -1, source_col = -1;
  while (std::getline(in, line)) {
    ++number_of_line;
    const std::string where = fmt::format("{}:{}", file, number_of_line);
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#') continue;
    auto fields = split_csv(line, where);
    if (header.empty()) {
      header = fields;
      for (std::size_t i = 0; i < header.size(); ++i) {
        const auto& h = header[i];
        if (h.empty()) throw InputError(fmt::format("{}: column {} has no name", where, i + 1));
        for (std::size_t j = 0; j < i; ++j) {
          if (header[j] == h) throw InputError(fmt::format("{}: column \"{}\" twice", where, h));
        }
        if (h == "top1" || h == "accuracy") {
          if (accuracy_col >= 0) {
            throw InputError(fmt::format("{}: give one of top1 or accuracy, not both", where));
          }
          accuracy_col = static_cast<int>(i);
        }
        if (h == "family") family_col = static_cast<int>(i);
        if (h == "source") source_col = static_cast<int>(i);
      }
      if (family_col < 0 || accuracy_col < 0) {
        throw InputError(fmt::format(
            "{}: the header needs columns family and top1 (or accuracy), got \"{}\"", where, line));
      }
      continue;
    }
    if (fields.size() != header.size()) {
      throw InputError(fmt::format("{}: expected {} fields as in the header, got {}", where,
                                   header.size(), fields.size()));
    }
    AccuracyRow row;
    row.line = number_of_line;
    row.family = fields[family_col];
    if (row.family.empty()) throw InputError(fmt::format("{}: family is blank", where));
    const auto acc = number(fields[accuracy_col]);
    if (!acc || *acc < 0 || *acc > 100) {
      throw InputError(fmt::format("{}: {} must be a percentage in [0, 100], got \"{}\"", where,
                                   header[accuracy_col], fields[accuracy_col]));
    }
    row.accuracy = *acc;
    if (source_col >= 0) row.source = fields[source_col];
    if (row.source.empty()) {
      throw InputError(fmt::format("{}: every accuracy needs its source (column source)", where));
    }
    for (std::size_t i = 0; i < header.size(); ++i) {
      const int c = static_cast<int>(i);
      if (c == family_col || c == accuracy_col || c == source_col || fields[i].empty()) continue;
      row.params[header[i]] = fields[i];
    }
    table.rows.push_back(std::move(row));
  }
  if (header.empty()) throw InputError(fmt::format("{}: the table is empty", file));
  return table;
}

}  // namespace

AccuracyTable load_accuracy_table(const std::string& name) {
  if (name == "builtin") {
    std::istringstream in(kBuiltinImagenetTop1);
    return parse(in, "builtin:imagenet_top1");
  }
  std::ifstream in(name);
  if (!in) throw InputError(fmt::format("{}: cannot open the accuracy table", name));
  return parse(in, name);
}

std::optional<double> lookup(const AccuracyTable& table, const std::string& family,
                             const std::map<std::string, std::string>& params) {
  const AccuracyRow* best = nullptr;
  for (const auto& row : table.rows) {
    if (row.family != family) continue;
    bool match = true;
    for (const auto& [k, v] : row.params) {
      const auto it = params.find(k);
      if (it == params.end() || !same_value(it->second, v)) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    if (best && best->params.size() == row.params.size() && best->accuracy != row.accuracy) {
      throw InputError(fmt::format("{}: lines {} and {} both match {} with different accuracy",
                                   table.file, best->line, row.line, family));
    }
    if (!best || row.params.size() > best->params.size()) best = &row;
  }
  if (!best) return std::nullopt;
  return best->accuracy;
}

}  // namespace tessel::explorer
