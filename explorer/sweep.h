#pragma once
// Running a sweep: the strategy proposes points, each is simulated by a
// `tessel simulate` worker process (the SystemC kernel is one per process;
// a crash or hang stays in its process), results go to the store as they
// finish, and the outputs are written at the end.

#include <cstddef>
#include <string>

#include "explorer/spec.h"

namespace tessel::explorer {

struct SweepOptions {
  std::string out_dir;
  std::string tessel_binary;  // the worker command
  std::size_t jobs = 1;
  double timeout_seconds = 600;
  bool resume = false;
  // Evaluate every point with the analytical estimator, in this process
  // (no workers, no SystemC), for screening.
  bool analytical = false;
  // Multi-fidelity: when > 0, every point the strategy proposes is
  // estimated analytically (screen.sqlite), then the `screen` most
  // promising (whole analytical Pareto layers first) are simulated.
  std::size_t screen = 0;
  // Under mpirun: rank 0 searches and stores, the other ranks simulate
  // (one point at a time each; `jobs` is ignored).
  bool mpi = false;
};

struct SweepSummary {
  std::size_t evaluated = 0, reused = 0, ok = 0, infeasible = 0, failed = 0, pareto = 0;
  std::size_t screened = 0;  // points estimated in a multi-fidelity run
  nlohmann::json screening;  // screening.json: how the fidelities disagree
  bool serving = false;      // an MPI rank other than 0: nothing to report
};

// Outputs in `out_dir`: results.sqlite, reports/, points.csv (sorted by
// point key), pareto.json, pareto.html; with `screen`, also screen.sqlite
// and screening.json. Throws InputError when the store exists and
// `resume` is false.
SweepSummary run_sweep(const SweepSpec& spec, const SweepOptions& options);

}  // namespace tessel::explorer
