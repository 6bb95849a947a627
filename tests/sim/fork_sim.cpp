#include "fork_sim.h"

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include "sim/report.h"
#include "sim/simulator.h"

namespace tessel::testing {

nlohmann::json simulate_in_child(const arch::Config& config, const workloads::Trace& trace) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    close(fds[0]);
    std::string out;
    try {
      const auto result = sim::simulate(config, trace);
      out = sim::make_report(config, result, trace.workload,
                             {{}, "arch", "workload", std::nullopt, std::nullopt, "test", "test"})
                .dump();
    } catch (const std::exception& e) {
      out = nlohmann::json{{"error", e.what()}}.dump();
    }
    // Every report the tests produce is validated against the schema
    // (tests/schema/validate_reports.py).
    if (const char* dir = std::getenv("TESSEL_REPORT_DIR"); dir && !out.starts_with("{\"error\"")) {
      std::ofstream(std::string(dir) + "/sim-" + std::to_string(getpid()) + ".json") << out;
    }
    std::size_t written = 0;
    while (written < out.size()) {
      const ssize_t n = write(fds[1], out.data() + written, out.size() - written);
      if (n <= 0) _exit(2);
      written += static_cast<std::size_t>(n);
    }
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("simulation child crashed (status " + std::to_string(status) + ")");
  }
  return nlohmann::json::parse(text);
}

}  // namespace tessel::testing
