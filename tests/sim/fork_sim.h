#pragma once
// Runs one simulation in a forked child process and returns its report.
// The SystemC kernel cannot be reset, so the parent (the test binary)
// never elaborates it; each child does once.

#include <string>

#include <nlohmann/json.hpp>

#include "arch/config.h"
#include "workloads/trace.h"

namespace tessel::testing {

// The report, or {"error": message} when the child threw.
nlohmann::json simulate_in_child(const arch::Config& config, const workloads::Trace& trace);

}  // namespace tessel::testing
