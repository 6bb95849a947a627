// `tessel simulate`, also the sweep's worker.
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <boost/program_options.hpp>

#include "arch/config.h"
#include "arch/error.h"
#include "common.h"
#include "provenance.h"
#include "sim/report.h"
#include "sim/simulator.h"
#include "sim/timeline_json.h"
#include "workloads/lowering/stream.h"
#include "workloads/trace.h"
#include "workloads/zoo/registry.h"

#ifndef TESSEL_VERSION
#define TESSEL_VERSION "0.0.0"
#endif
#ifndef TESSEL_GIT_REVISION
#define TESSEL_GIT_REVISION "unknown"
#endif

namespace po = boost::program_options;

namespace tessel::cli {

const char* const kVersion = TESSEL_VERSION;
const char* const kGitRevision = TESSEL_GIT_REVISION;

namespace {

po::options_description simulate_options() {
  po::options_description d(
      "tessel simulate --arch FILE (--workload FILE | --trace FILE) [options]");
  d.add_options()("help,h", "show this text")(
      "arch,a", po::value<std::string>()->value_name("FILE"),
      "hardware config: Tessel .json or SCALE-Sim .cfg (required)")(
      "workload,w", po::value<std::string>()->value_name("FILE"),
      "workload: a model spec (resnet50, vit:depth=6), a Tessel .json layer list or a SCALE-Sim "
      ".csv topology")("skip-unsupported",
                       "leave ONNX operators Tessel does not model out of the workload and list "
                       "them in the report (default: an error naming the node)")(
      "trace,t", po::value<std::string>()->value_name("FILE"),
      "a lowered trace (from `tessel lower` or another compiler) instead of a workload")(
      "set,s", po::value<std::vector<std::string>>()->value_name("PATH=VALUE")->composing(),
      "override a hardware config value, e.g. --set arch.array.rows=64 or --set "
      "sram[0].banks=8; repeatable; the value is JSON or a bare string")(
      "output,o", po::value<std::string>()->value_name("FILE"),
      "write the JSON report to FILE and print a summary; without it the report goes to stdout")(
      "timeline", po::value<std::string>()->value_name("FILE"),
      "write a Chrome/Perfetto trace (JSON) of every unit's activity to FILE")(
      "timeline-max-events", po::value<std::size_t>()->default_value(200000)->value_name("N"),
      "bound the timeline's size: merge spans per track beyond about N events");
  return d;
}

}  // namespace

int run_simulate(const std::vector<std::string>& args) {
  const auto desc = simulate_options();
  const auto vm = parse(desc, args);
  const std::string arch_file = required(vm, "arch");
  if (vm.count("workload") == vm.count("trace")) {
    throw UsageError("give exactly one of --workload FILE or --trace FILE");
  }
  const arch::Config config = arch::load_config(arch_file, overrides(vm));
  const bool timeline = vm.count("timeline") > 0;
  std::string input, workload_name;
  std::vector<std::string> skipped;
  sim::SimResult result;
  if (vm.count("workload")) {
    // The lowering streams into the simulator: the trace is never whole.
    input = vm["workload"].as<std::string>();
    const auto workload = workloads::zoo::load(input, vm.count("skip-unsupported") > 0);
    skipped = workload.skipped;
    auto lowered = workloads::lower_stream(workload, config);
    workload_name = lowered.plan.trace.workload;
    result = sim::simulate(config, *lowered.instructions, timeline);
  } else {
    input = vm["trace"].as<std::string>();
    const auto trace = workloads::load_trace(input, config);
    workload_name = trace.workload;
    result = sim::simulate(config, trace, timeline);
  }
  if (timeline) {
    write_text(
        vm["timeline"].as<std::string>(),
        sim::timeline_json(result, config.clock_mhz, vm["timeline-max-events"].as<std::size_t>())
                .dump() +
            "\n");
  }
  const auto report = sim::make_report(config, result, workload_name,
                                       {skipped, arch_file, input, sha256_of_file(arch_file),
                                        sha256_of_file(input), kVersion, kGitRevision});
  if (vm.count("output")) {
    const std::string out = vm["output"].as<std::string>();
    write_text(out, report.dump(2) + "\n");
    std::cout << sim::summary_text(report) << "report        " << out << "\n";
  } else {
    std::cout << report.dump(2) << "\n";
  }
  return 0;
}

}  // namespace tessel::cli
