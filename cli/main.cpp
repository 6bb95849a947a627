// tessel: the command-line front end. Parses flags, runs one stage of the
// flow per subcommand and turns InputError into a one-line message.

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "common.h"

#include "arch/config.h"
#include "arch/cost.h"
#include "arch/error.h"
#include "workloads/estimate.h"
#include "workloads/importers.h"
#include "workloads/lowering/lower.h"
#include "workloads/trace.h"
#include "workloads/zoo/registry.h"

namespace po = boost::program_options;
using namespace tessel;
using tessel::cli::overrides;
using tessel::cli::parse;
using tessel::cli::required;
using tessel::cli::UsageError;
using tessel::cli::write_text;

namespace {

constexpr const char* kTopHelp = R"(tessel: cycle-level accelerator simulator

usage: tessel <command> [options]

commands:
  simulate   lower a workload (or take a trace) and simulate it; write a JSON report
  lower      lower a workload onto a hardware config; write the trace as JSON
  workloads  list the model zoo, or show a workload's layers, MACs and parameters
  estimate   the analytical latency estimate (no SystemC; thousands of points a second)
  sweep      explore hardware x model parameters jointly; Pareto front of the objectives
  diff       what changed between two reports (totals and per layer)
  regress    compare directories of reports; exit 1 on a regression (for CI)
  report     render a report as a self-contained HTML page or a per-layer CSV
  help       show this text, or `tessel help <command>` for a command's options

options:
  -h, --help     show this text
  --version      print the version

Hardware configs are Tessel JSON (configs/arch/*.json) or SCALE-Sim .cfg files.
A workload is a model spec (resnet50, mobilenet_v2:width_mult=0.75,resolution=192;
see `tessel workloads list`), a Tessel JSON layer list or a SCALE-Sim topology .csv.
)";

po::options_description lower_options() {
  po::options_description d("tessel lower --arch FILE --workload FILE [options]");
  d.add_options()("help,h", "show this text")(
      "arch,a", po::value<std::string>()->value_name("FILE"),
      "hardware config: Tessel .json or SCALE-Sim .cfg (required)")(
      "workload,w", po::value<std::string>()->value_name("FILE"),
      "workload: a model spec, a Tessel .json layer list or a SCALE-Sim .csv topology (required)")(
      "set,s", po::value<std::vector<std::string>>()->value_name("PATH=VALUE")->composing(),
      "override a hardware config value; repeatable")("output,o",
                                                      po::value<std::string>()->value_name("FILE"),
                                                      "write the trace to FILE (default: stdout)")(
      "plan",
      "print each layer's mapping (tiles, order, the outer level's block, where its output "
      "lives, expected cycles, DRAM bytes and instructions) instead of the trace");
  return d;
}

int run_lower(const std::vector<std::string>& args) {
  const auto desc = lower_options();
  const auto vm = parse(desc, args);
  const arch::Config config = arch::load_config(required(vm, "arch"), overrides(vm));
  const auto workload = workloads::zoo::load(required(vm, "workload"));
  // The plan needs no trace: a plan alone is not emitted.
  const bool plan_only = vm.count("plan") > 0;
  const auto lowered =
      plan_only ? workloads::plan_lowering(workload, config) : workloads::lower(workload, config);
  std::string text;
  if (plan_only) {
    // Where a layer's output lives: in the resident buffer (at its offset,
    // until its last consumer), or in DRAM (network outputs, spills).
    const auto& res = lowered.residency;
    auto home = [&](std::size_t l) -> std::string {
      const std::size_t t = res.tensor_of[l];
      if (!res.resident(t)) return "dram";
      const auto& h = res.home[t];
      return fmt::format("{}@{}K..{}", config.sram[res.buffer].name, h.offset_bytes / 1024,
                         lowered.workload.layers[h.last_use].name);
    };
    text += fmt::format(
        "{:<24} {:>8} {:>8} {:>8} {:>6} {:>6} {:>8} {:>8} {:<32} {:>14} {:>14} {:>10}\n", "layer",
        "tile_m", "tile_n", "tile_k", "tile_g", "order", "chunked", "block", "output_lives",
        "est_cycles", "dram_bytes", "insts");
    for (std::size_t i = 0; i < lowered.mappings.size(); ++i) {
      const auto& p = lowered.mappings[i];
      text += fmt::format(
          "{:<24} {:>8} {:>8} {:>8} {:>6} {:>6} {:>8} {:>8} {:<32} {:>14} {:>14} {:>10}\n",
          lowered.workload.layers[i].name, p.tm, p.tn, p.tk, p.tg,
          // With two levels, the blocks' loop, then the nest over a block.
          std::string(p.block_m > 0   ? "m/"
                      : p.block_n > 0 ? "n/"
                                      : "") +
              std::string(p.order),
          p.chunking == workloads::Mapping::Chunking::kNone         ? "no"
          : p.chunking == workloads::Mapping::Chunking::kRepeatFold ? "repeat"
                                                                    : "stream",
          p.block_m > 0   ? "m:" + std::to_string(p.block_m)
          : p.block_n > 0 ? "n:" + std::to_string(p.block_n)
                          : std::string("-"),
          home(i), p.estimated_cycles, p.dram_bytes, p.instructions);
    }
    if (res.buffer >= 0) {
      text += fmt::format("resident area: {} of {} B of \"{}\"; the rest stages tiles\n",
                          res.area_bytes, config.sram[res.buffer].capacity_bytes,
                          config.sram[res.buffer].name);
    }
  } else {
    text = workloads::trace_to_json(lowered.trace).dump(1) + "\n";
  }
  if (vm.count("output")) {
    write_text(vm["output"].as<std::string>(), text);
  } else {
    std::cout << text;
  }
  return 0;
}

std::string human(double v) {
  const char* units[] = {"", "K", "M", "G", "T"};
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  return fmt::format("{:.3g}{}", v, units[u]);
}

std::string kind_name(const workloads::Layer& l) {
  switch (l.kind) {
    case workloads::LayerKind::kConv2d:
      return l.groups > 1 ? "conv2d/g" : "conv2d";
    case workloads::LayerKind::kGemm:
      return l.second == workloads::OperandSource::kParameters ? "gemm" : "matmul";
    case workloads::LayerKind::kVector:
      return arch::to_string(l.work.op);
    case workloads::LayerKind::kDataMove:
      return l.move == workloads::MoveKind::kConcat      ? "concat"
             : l.move == workloads::MoveKind::kTranspose ? "transpose"
             : l.move == workloads::MoveKind::kReshape   ? "reshape"
                                                         : "copy";
    case workloads::LayerKind::kEmbedding:
      return "embedding";
  }
  return "?";
}

int run_estimate(const std::vector<std::string>& args) {
  po::options_description desc(
      "tessel estimate --arch FILE --workload SPEC [--set PATH=VALUE]...\n\nThe analytical "
      "estimate: the lowering's schedule (tiles, residency) priced by its mapping cost model, "
      "without SystemC");
  desc.add_options()("help,h", "show this text")(
      "arch,a", po::value<std::string>()->value_name("FILE"), "hardware config")(
      "workload,w", po::value<std::string>()->value_name("SPEC"), "workload")(
      "set,s", po::value<std::vector<std::string>>()->value_name("PATH=VALUE")->composing(),
      "override a config value");
  const auto vm = parse(desc, args);
  const auto config = arch::load_config(required(vm, "arch"), overrides(vm));
  const auto w = workloads::zoo::load(required(vm, "workload"));
  const auto e = workloads::estimate(w, config);
  nlohmann::json out = {{"workload", w.name},         {"cycles", e.cycles.count()},
                        {"latency_ms", e.latency_ms}, {"compute_cycles", e.compute_cycles.count()},
                        {"dram_bytes", e.dram_bytes}, {"macs", e.macs()}};
  nlohmann::json& layers = out["layers"] = nlohmann::json::array();
  for (std::size_t i = 0; i < e.layers.size(); ++i) {
    const auto& l = e.layers[i];
    layers.push_back({{"name", l.name},
                      {"cycles", l.cycles.count()},
                      {"compute_cycles", l.compute_cycles.count()},
                      {"dram_bytes", l.dram_bytes}});
  }
  if (config.technology_node_nm) {
    const arch::CostModel cost(config);
    out.update(
        arch::energy_totals_json(cost.energy(e.actions, e.cycles), e.macs(), e.latency_ms / 1e3));
    out["area_mm2"] = cost.area().total_mm2();
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

// `tessel sweep` is tessel-sweep, next to this binary: the search
// libraries (pagmo, MPI) load only there, so every other command (and each
// sweep worker, a `tessel simulate`) starts light.
[[noreturn]] void exec_sweep(const std::vector<std::string>& args) {
  const auto binary =
      (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "tessel-sweep").string();
  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(binary.c_str(), argv.data());
  throw InputError(fmt::format("cannot run {} (it is built and installed with tessel): {}", binary,
                               std::strerror(errno)));
}

int run_workloads(const std::vector<std::string>& args) {
  po::options_description desc(
      "tessel workloads list\ntessel workloads show SPEC [--json]\n\nSPEC is a model (optionally "
      "with parameters, name:k=v,k=v) or a workload file");
  desc.add_options()("help,h", "show this text")("json", "print JSON instead of a table");
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << desc << "\n";
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "list") {
    for (const auto& f : workloads::zoo::families()) {
      std::cout << fmt::format("{}\n  {}\n", f.name, f.description);
      for (const auto& p : f.params) {
        std::string range;
        if (p.type == workloads::zoo::ParamSpec::Type::kChoice) {
          range = fmt::format("{{{}}}", fmt::join(p.choices, ", "));
        } else {
          range = fmt::format("[{}, {}]", p.min, p.max);
        }
        std::cout << fmt::format("    {:<20} {:>6}  {} {}\n", p.name, p.default_value, p.help,
                                 range);
      }
    }
    std::cout << "\npresets:\n";
    for (const auto& p : workloads::zoo::presets()) {
      std::cout << fmt::format("  {:<16} = {}{}{}\n", p.name, p.family, p.params.empty() ? "" : ":",
                               p.params);
    }
    return 0;
  }
  if (args[0] != "show" || args.size() < 2)
    throw UsageError("expected `workloads list` or `workloads show SPEC`");
  const auto vm = parse(desc, std::vector<std::string>(args.begin() + 2, args.end()));
  const auto w = workloads::zoo::load(args[1]);
  std::uint64_t weight_bytes[7] = {}, activation_bytes[7] = {};
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : w.layers) {
    const DType act = l.dtype.value_or(DType::kInt8);
    const DType wt = l.weight_dtype.value_or(act);
    const std::uint64_t wb =
        l.second == workloads::OperandSource::kParameters ? bytes_for(l.params(), wt) : 0;
    const std::uint64_t ab = bytes_for(l.output_elements(), act);
    weight_bytes[static_cast<int>(wt)] += wb;
    activation_bytes[static_cast<int>(act)] += ab;
    layers.push_back({{"name", l.name},
                      {"op", kind_name(l)},
                      {"macs", l.macs()},
                      {"params", l.params()},
                      {"output_elements", l.output_elements()},
                      {"dtype", to_string(act)},
                      {"weight_dtype", to_string(wt)}});
  }
  nlohmann::json bytes = nlohmann::json::object();
  for (DType d : kAllDTypes) {
    const int i = static_cast<int>(d);
    if (weight_bytes[i] || activation_bytes[i]) {
      bytes[to_string(d)] = {{"weight_bytes", weight_bytes[i]},
                             {"activation_bytes", activation_bytes[i]}};
    }
  }
  if (vm.count("json")) {
    std::cout << nlohmann::json{{"name", w.name},          {"macs", w.macs()},
                                {"params", w.params()},    {"layers_count", w.layers.size()},
                                {"bytes_by_dtype", bytes}, {"layers", layers}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::cout << fmt::format("{:<40} {:<16} {:>12} {:>12}\n", "layer", "op", "MACs", "params");
  for (const auto& l : layers) {
    std::cout << fmt::format("{:<40} {:<16} {:>12} {:>12}\n", l["name"].get<std::string>(),
                             l["op"].get<std::string>(), human(l["macs"].get<double>()),
                             human(l["params"].get<double>()));
  }
  std::cout << fmt::format("\n{}: {} layers, {} MACs, {} parameters\n", w.name, w.layers.size(),
                           human(static_cast<double>(w.macs())),
                           human(static_cast<double>(w.params())));
  for (const auto& [d, b] : bytes.items()) {
    std::cout << fmt::format("  {}: {} B of weights, {} B of layer outputs\n", d,
                             b["weight_bytes"].get<std::uint64_t>(),
                             b["activation_bytes"].get<std::uint64_t>());
  }
  return 0;
}

}  // namespace

// SystemC's entry points (declared extern "C" by SystemC's headers).
extern "C" int sc_elab_and_sim(int argc, char* argv[]);

int main(int argc, char* argv[]) {
  // Keep SystemC's banner out of reports and error output; it prints before sc_main.
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_elab_and_sim(argc, argv);
}

extern "C" int sc_main(int argc, char* argv[]) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return cli::guarded("tessel", [&]() -> int {
    if (args.empty() || args[0] == "-h" || args[0] == "--help" ||
        (args[0] == "help" && args.size() == 1)) {
      std::cout << kTopHelp;
      return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version") {
      std::cout << "tessel " << cli::kVersion << " (" << cli::kGitRevision << ")\n";
      return 0;
    }
    if (args[0] == "help") args = {args[1], "--help"};
    const std::string command = args[0];
    args.erase(args.begin());
    if (command == "simulate") return cli::run_simulate(args);
    if (command == "lower") return run_lower(args);
    if (command == "workloads") return run_workloads(args);
    if (command == "diff") return cli::run_diff(args);
    if (command == "sweep") exec_sweep(args);
    if (command == "estimate") return run_estimate(args);
    if (command == "regress") return cli::run_regress(args);
    if (command == "report") return cli::run_report(args);
    throw UsageError(fmt::format("unknown command \"{}\" (try tessel --help)", command));
  });
}
