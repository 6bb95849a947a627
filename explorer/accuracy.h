#pragma once
// Accuracy tables: published model accuracy by family and parameter values,
// so a sweep can trade accuracy against latency, energy and area.
// docs/sweep-format.md documents the CSV.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tessel::explorer {

struct AccuracyRow {
  std::string family;
  std::map<std::string, std::string> params;  // non-blank columns only
  double accuracy = 0;                        // percent
  std::string source;
  int line = 0;
};

struct AccuracyTable {
  std::string file;  // "builtin:imagenet_top1" or a path
  std::vector<AccuracyRow> rows;
};

// "builtin" is the table shipped with Tessel (explorer/data/imagenet_top1.csv);
// anything else is a CSV file. Errors name the file and line.
AccuracyTable load_accuracy_table(const std::string& name);

// The accuracy of a model: the row of its family whose every parameter
// column equals the model's value (numbers compare numerically) and which
// names the most parameters. nullopt if no row matches.
std::optional<double> lookup(const AccuracyTable& table, const std::string& family,
                             const std::map<std::string, std::string>& params);

}  // namespace tessel::explorer
