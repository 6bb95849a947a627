// tessel-sweep: `tessel sweep`, which tessel runs (exec) for that command.
// It alone links the search libraries (pagmo, Boost.MPI); its workers are
// `tessel simulate` processes.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "common.h"

#include "arch/error.h"
#include "explorer/spec.h"
#include "explorer/sweep.h"

namespace tessel {
namespace {

namespace po = boost::program_options;
using cli::parse;
using cli::required;
using cli::UsageError;

int run_sweep(const std::vector<std::string>& args) {
  po::options_description desc(
      "tessel sweep SPEC.json -o DIR [options]\n\nRuns a design-space sweep "
      "(docs/sweep-format.md): every "
      "point in a worker process, results\nin DIR/results.sqlite as they finish, then "
      "DIR/points.csv, "
      "DIR/pareto.json and DIR/pareto.html");
  desc.add_options()("help,h", "show this text")(
      "spec", po::value<std::string>()->value_name("FILE"), "the sweep spec")(
      "output,o", po::value<std::string>()->value_name("DIR"), "output directory (required)")(
      "jobs,j", po::value<std::size_t>()->value_name("N"),
      "worker processes at once (default: the cores)")(
      "timeout", po::value<double>()->default_value(600)->value_name("SECONDS"),
      "per-point limit; a point over it is killed and recorded as failed")(
      "resume", "continue a killed sweep in DIR: finished points are not run again")(
      "analytical",
      "evaluate every point with the analytical estimate (no simulation) for screening")(
      "screen", po::value<std::size_t>()->value_name("N"),
      "multi-fidelity: estimate every point analytically, then simulate the N most promising "
      "(analytical Pareto layers first); DIR/screening.json says how far the two disagree")(
      "mpi",
      "run under mpirun: rank 0 searches and writes DIR, every other rank simulates one point at "
      "a time (DIR must be on a filesystem all ranks share)");
  po::positional_options_description pos;
  pos.add("spec", 1);
  const auto vm = parse(desc, args, &pos);
  if (!vm.count("spec")) throw UsageError("give the sweep spec file");
  explorer::SweepOptions options;
  options.out_dir = required(vm, "output");
  options.jobs = vm.count("jobs") ? vm["jobs"].as<std::size_t>()
                                  : std::max(1u, std::thread::hardware_concurrency());
  if (options.jobs == 0) throw UsageError("--jobs must be at least 1");
  options.timeout_seconds = vm["timeout"].as<double>();
  options.resume = vm.count("resume") > 0;
  options.analytical = vm.count("analytical") > 0;
  if (vm.count("screen")) {
    options.screen = vm["screen"].as<std::size_t>();
    if (options.screen == 0) throw UsageError("--screen must be at least 1");
    if (options.analytical) throw UsageError("give --analytical or --screen, not both");
  }
  // Workers run `tessel simulate`, next to this binary.
  options.tessel_binary =
      (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "tessel").string();
  if (!std::filesystem::exists(options.tessel_binary)) {
    throw InputError(
        fmt::format("the worker {} is missing (it is built and installed with "
                    "tessel-sweep)",
                    options.tessel_binary));
  }
  const auto spec = explorer::load_sweep(vm["spec"].as<std::string>());
  options.mpi = vm.count("mpi") > 0;
  const auto s = explorer::run_sweep(spec, options);
  if (s.serving) return 0;
  std::cout << fmt::format(
      "sweep {}: {} evaluated, {} reused; {} ok, {} infeasible, {} failed; {} on the Pareto front\n"
      "outputs: {}/points.csv, {}/pareto.json, {}/pareto.html, {}/results.sqlite\n",
      spec.name, s.evaluated, s.reused, s.ok, s.infeasible, s.failed, s.pareto, options.out_dir,
      options.out_dir, options.out_dir, options.out_dir);
  if (options.screen) {
    std::cout << fmt::format("screened {} points analytically; {}/screening.json:\n{}\n",
                             s.screened, options.out_dir,
                             s.screening["ratio_analytical_over_simulated"].dump(2));
  }
  return 0;
}

}  // namespace
}  // namespace tessel

int main(int argc, char* argv[]) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return tessel::cli::guarded("tessel sweep", [&] { return tessel::run_sweep(args); });
}
