#include "arch/scalesim_cfg.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "arch/error.h"

namespace tessel::arch {

namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\"");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\"");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

struct Entry {
  std::string value;
  int line = 0;
};

// Keys SCALE-Sim v2/v3 define that do not change Tessel's timing model.
const std::set<std::string> kIgnoredKeys = {"run_name",
                                            "ifmapoffset",
                                            "filteroffset",
                                            "ofmapoffset",
                                            "memorybanks",
                                            "readrequestbuffer",
                                            "writerequestbuffer",
                                            "topologycsvloc",
                                            "sparsitysupport",
                                            "sparserep",
                                            "optimizedmapping",
                                            "blocksize",
                                            "randomnumbergeneratorseed",
                                            "useramulatortrace",
                                            "layoutfilepath"};

const std::set<std::string> kUsedKeys = {"arrayheight",    "arraywidth",        "ifmapsramszkb",
                                         "filtersramszkb", "ofmapsramszkb",     "dataflow",
                                         "bandwidth",      "interfacebandwidth"};

}  // namespace

nlohmann::json scalesim_cfg_to_json(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw InputError(fmt::format("{}: cannot open file", file));
  std::map<std::string, Entry> entries;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';' || t[0] == '[') continue;
    const auto sep = t.find_first_of(":=");
    if (sep == std::string::npos) {
      throw InputError(fmt::format("{}:{}: expected 'Key : value', got \"{}\"", file, number, t));
    }
    const std::string key = lower(trim(t.substr(0, sep)));
    if (!kUsedKeys.contains(key) && !kIgnoredKeys.contains(key)) {
      throw InputError(
          fmt::format("{}:{}: unknown SCALE-Sim key \"{}\"", file, number, trim(t.substr(0, sep))));
    }
    entries[key] = {trim(t.substr(sep + 1)), number};
  }

  auto integer = [&](const std::string& key) -> std::uint64_t {
    const auto it = entries.find(key);
    if (it == entries.end()) throw InputError(fmt::format("{}: missing key {}", file, key));
    std::string v = it->second.value;
    const auto comma = v.find(',');  // per-bank bandwidth lists: all banks alike
    if (comma != std::string::npos) v = trim(v.substr(0, comma));
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos ||
        std::stoull(v) == 0) {
      throw InputError(fmt::format("{}:{}: {}: expected a positive integer, got \"{}\"", file,
                                   it->second.line, key, it->second.value));
    }
    return std::stoull(v);
  };

  const std::uint64_t rows = integer("arrayheight");
  const std::uint64_t cols = integer("arraywidth");
  const std::uint64_t bandwidth = integer("bandwidth");
  std::string dataflow = "ws";
  if (auto it = entries.find("dataflow"); it != entries.end()) {
    dataflow = lower(it->second.value);
    if (dataflow != "os" && dataflow != "ws" && dataflow != "is") {
      throw InputError(fmt::format("{}:{}: Dataflow: expected os, ws or is, got \"{}\"", file,
                                   it->second.line, it->second.value));
    }
  } else {
    throw InputError(fmt::format("{}: missing key Dataflow", file));
  }
  if (auto it = entries.find("interfacebandwidth"); it != entries.end()) {
    const std::string mode = it->second.value;
    if (mode != "USER" && mode != "CALC") {
      throw InputError(fmt::format("{}:{}: InterfaceBandwidth: expected USER or CALC, got \"{}\"",
                                   file, it->second.line, mode));
    }
  }

  // Each buffer half gets a port of 2 x max(R, C) bytes per cycle: a full
  // array edge every cycle plus partial-sum read-back, so that, as in
  // SCALE-Sim, SRAM bandwidth never stalls the array.
  const std::uint64_t port = 2 * std::bit_ceil(std::max(rows, cols));
  auto buffer = [&](const char* name, const char* key, const char* operand) {
    return nlohmann::json{{"name", name},
                          {"capacity_bytes", integer(key) * 1024},
                          {"banks", 2},
                          {"bank_bytes_per_cycle", port},
                          {"double_buffered", true},
                          {"holds", {operand}}};
  };
  nlohmann::json json = {
      {"name", "scalesim"},
      {"comment", fmt::format("translated from SCALE-Sim config {}", file)},
      {"clock_mhz", 1000},
      {"array", {{"rows", rows}, {"cols", cols}, {"dataflow", dataflow}, {"precision", "int8"}}},
      {"sram",
       {buffer("ifmap", "ifmapsramszkb", "input"), buffer("filter", "filtersramszkb", "weight"),
        buffer("ofmap", "ofmapsramszkb", "output")}},
      {"dma",
       {{"channels", 3},
        {"bytes_per_cycle", bandwidth},
        {"setup_cycles", 0},
        {"max_outstanding", 1}}},
      {"dram", {{"channels", 3}, {"channel_bandwidth_gb_per_s", bandwidth}, {"latency_ns", 0}}},
      {"controller", {{"issue_cycles", 0}, {"layer_cycles", 0}}},
      {"schedule", {{"fusion", "none"}}}};
  return json;
}

}  // namespace tessel::arch
