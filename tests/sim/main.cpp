// Entry point of the SystemC test executable. libsystemc wants an sc_main;
// the tests never call it: each simulation runs in a forked child (fork_sim.h).

#include <cstdlib>

#include <gtest/gtest.h>

extern "C" int sc_main(int, char*[]) {
  return 0;
}

int main(int argc, char** argv) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 0);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
