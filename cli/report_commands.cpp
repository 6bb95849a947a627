// tessel diff / regress: comparing simulation reports.

#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "arch/error.h"
#include "arch/json_reader.h"
#include "common.h"
#include "reports/compare.h"
#include "reports/render.h"

namespace po = boost::program_options;

namespace tessel::cli {

namespace {

std::map<std::string, double> tolerances(const po::variables_map& vm) {
  std::map<std::string, double> out;
  if (!vm.count("tolerance")) return out;
  for (const auto& t : vm["tolerance"].as<std::vector<std::string>>()) {
    const auto eq = t.find('=');
    double pct = -1;
    try {
      if (eq != std::string::npos) pct = std::stod(t.substr(eq + 1));
    } catch (...) {
      pct = -1;
    }
    if (eq == std::string::npos || eq == 0 || pct < 0) {
      throw UsageError(fmt::format("--tolerance {}: expected METRIC=PERCENT, e.g. cycles=1.5", t));
    }
    out[t.substr(0, eq)] = pct;
  }
  return out;
}

nlohmann::json load_report(const std::string& file) {
  const auto j = load_json_file(file);
  if (!j.is_object() || !j.contains("schema") || !j["schema"].is_string() ||
      j["schema"].get<std::string>().rfind("tessel.report/", 0) != 0) {
    throw InputError(
        fmt::format("{}: not a tessel report (no \"schema\": \"tessel.report/...\")", file));
  }
  return j;
}

}  // namespace

int run_diff(const std::vector<std::string>& args) {
  po::options_description desc(
      "tessel diff BASE.json NEW.json [options]\n\nWhat changed between two reports, "
      "totals and per layer, absolute and relative");
  desc.add_options()("help,h", "show this text")("all", "also list metrics that did not change")(
      "base", po::value<std::string>()->value_name("FILE"), "baseline report")(
      "new", po::value<std::string>()->value_name("FILE"), "new report");
  po::positional_options_description pos;
  pos.add("base", 1).add("new", 1);
  const auto vm = parse(desc, args, &pos);
  if (!vm.count("base") || !vm.count("new")) throw UsageError("give BASE.json and NEW.json");
  const auto base = load_report(vm["base"].as<std::string>());
  const auto current = load_report(vm["new"].as<std::string>());
  const auto c = reports::compare(base, current, {});
  std::vector<reports::Change> changes = c.regressions;
  changes.insert(changes.end(), c.improvements.begin(), c.improvements.end());
  std::sort(changes.begin(), changes.end(),
            [](const auto& a, const auto& b) { return a.metric < b.metric; });
  if (vm.count("all")) {
    const auto a = reports::flatten(base), b = reports::flatten(current);
    for (const auto& [k, v] : a) {
      if (b.contains(k) && b.at(k) == v) changes.push_back({k, v, v});
    }
    std::sort(changes.begin(), changes.end(),
              [](const auto& x, const auto& y) { return x.metric < y.metric; });
  }
  if (changes.empty() && c.notes.empty()) {
    std::cout << "no differences\n";
    return 0;
  }
  std::cout << reports::changes_table(changes);
  for (const auto& n : c.notes) std::cout << "  note: " << n << "\n";
  return 0;
}

int run_regress(const std::vector<std::string>& args) {
  po::options_description desc(
      "tessel regress --baseline DIR --current DIR [--tolerance METRIC=PCT]... [--markdown "
      "FILE]\n\n"
      "Compares every report in DIR (by file name). Exit 1 when a metric got worse beyond its\n"
      "tolerance (exact by default), a must-not-change metric (MACs, peaks) moved, or a report\n"
      "is missing");
  desc.add_options()("help,h", "show this text")(
      "baseline", po::value<std::string>()->value_name("DIR"), "directory of baseline reports")(
      "current", po::value<std::string>()->value_name("DIR"), "directory of current reports")(
      "tolerance", po::value<std::vector<std::string>>()->value_name("METRIC=PCT")->composing(),
      "allowed relative change in percent for a metric name (cycles, dram_read_bytes, ...) or full "
      "path (totals.cycles); repeatable")("markdown", po::value<std::string>()->value_name("FILE"),
                                          "also write a Markdown summary (for a pull request)");
  const auto vm = parse(desc, args);
  if (!vm.count("baseline") || !vm.count("current"))
    throw UsageError("give --baseline DIR and --current DIR");
  const std::filesystem::path base_dir = vm["baseline"].as<std::string>(),
                              cur_dir = vm["current"].as<std::string>();
  for (const auto& d : {base_dir, cur_dir}) {
    if (!std::filesystem::is_directory(d))
      throw InputError(fmt::format("{}: not a directory", d.string()));
  }
  const auto tol = tolerances(vm);
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(base_dir)) {
    if (e.path().extension() == ".json") files.push_back(e.path().filename());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw InputError(fmt::format("{}: no .json reports", base_dir.string()));
  int regressed = 0, improved = 0, missing = 0;
  std::string markdown =
      "## Tessel regression check\n\n| report | status | regressions | improvements "
      "|\n|---|---|---|---|\n";
  std::string details;
  for (const auto& f : files) {
    if (!std::filesystem::exists(cur_dir / f)) {
      ++missing;
      std::cout << fmt::format("MISSING  {}: no current report\n", f.string());
      markdown += fmt::format("| {} | missing | | |\n", f.string());
      continue;
    }
    const auto c = reports::compare(load_report((base_dir / f).string()),
                                    load_report((cur_dir / f).string()), tol);
    const bool bad = !c.regressions.empty();
    regressed += bad;
    improved += c.regressions.empty() && !c.improvements.empty();
    const char* status = bad ? "REGRESSED" : !c.improvements.empty() ? "IMPROVED" : "ok";
    std::cout << fmt::format("{:<9} {} ({} worse, {} better, {} within tolerance)\n", status,
                             f.string(), c.regressions.size(), c.improvements.size(),
                             c.within.size());
    if (bad) std::cout << "  regressions:\n" << reports::changes_table(c.regressions);
    if (!c.improvements.empty())
      std::cout << "  improvements:\n" << reports::changes_table(c.improvements);
    for (const auto& n : c.notes) std::cout << "  note: " << n << "\n";
    markdown += fmt::format("| {} | {} | {} | {} |\n", f.string(), status, c.regressions.size(),
                            c.improvements.size());
    auto md_rows = [&](const char* title, const std::vector<reports::Change>& rows) {
      if (rows.empty()) return;
      details +=
          fmt::format("\n### {}: {}\n\n| metric | base | current | change |\n|---|---|---|---|\n",
                      f.string(), title);
      for (const auto& r : rows) {
        details += fmt::format("| `{}` | {:.6g} | {:.6g} | {:+.2f}% |\n", r.metric, r.base,
                               r.current, r.percent());
      }
    };
    md_rows("regressions", c.regressions);
    md_rows("improvements", c.improvements);
  }
  std::cout << fmt::format("regress: {} passed, {} failed\n", files.size() - regressed - missing,
                           regressed + missing);
  if (vm.count("markdown")) write_text(vm["markdown"].as<std::string>(), markdown + details);
  return (regressed + missing) ? 1 : 0;
}

int run_report(const std::vector<std::string>& args) {
  po::options_description desc(
      "tessel report REPORT.json [--html FILE] [--csv FILE]\n\nRenders a report: a self-contained "
      "HTML page "
      "for a review (summary, per-layer cycles by stall cause, utilization, memory traffic, "
      "roofline) or "
      "the per-layer table as CSV");
  desc.add_options()("help,h", "show this text")(
      "report", po::value<std::string>()->value_name("FILE"), "the JSON report")(
      "html", po::value<std::string>()->value_name("FILE"), "write the HTML page to FILE")(
      "csv", po::value<std::string>()->value_name("FILE"),
      "write the per-layer table to FILE (- for stdout)");
  po::positional_options_description pos;
  pos.add("report", 1);
  const auto vm = parse(desc, args, &pos);
  if (!vm.count("report")) throw UsageError("give a report file");
  if (!vm.count("html") && !vm.count("csv")) throw UsageError("give --html FILE and/or --csv FILE");
  const auto report = load_report(vm["report"].as<std::string>());
  if (vm.count("html")) write_text(vm["html"].as<std::string>(), reports::html_page(report));
  if (vm.count("csv")) {
    const std::string csv = reports::layers_csv(report);
    if (vm["csv"].as<std::string>() == "-") {
      std::cout << csv;
    } else {
      write_text(vm["csv"].as<std::string>(), csv);
    }
  }
  return 0;
}

}  // namespace tessel::cli
