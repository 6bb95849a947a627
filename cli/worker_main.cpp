// tessel-sim: `tessel simulate` alone, the sweep's worker. It links no
// search library, so a worker process starts in a few milliseconds.
#include <cstdlib>
#include <string>
#include <vector>

#include "common.h"

// SystemC's entry points (declared extern "C" by SystemC's headers).
extern "C" int sc_elab_and_sim(int argc, char* argv[]);

int main(int argc, char* argv[]) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  return sc_elab_and_sim(argc, argv);
}

extern "C" int sc_main(int argc, char* argv[]) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return tessel::cli::guarded("tessel-sim", [&] { return tessel::cli::run_simulate(args); });
}
