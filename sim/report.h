#pragma once
// Turns a simulation result into the versioned JSON report
// (docs/report.md documents every field) and a short text summary.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/config.h"
#include "arch/units.h"
#include "sim/simulator.h"

namespace tessel::sim {

inline constexpr const char* kReportSchema = "tessel.report/1";

struct Provenance {
  // Workload operators the importer left out on request (--skip-unsupported).
  std::vector<std::string> skipped_operators;
  std::string arch_file;
  std::string workload_file;  // or the trace file, or a model spec
  std::optional<std::string> arch_sha256;
  std::optional<std::string> workload_sha256;  // nullopt for a model spec
  std::string tool_version;
  std::string git_revision;
};

nlohmann::json make_report(const arch::Config& config, const SimResult& result,
                           const std::string& workload_name, const Provenance& provenance);

std::string summary_text(const nlohmann::json& report);

// What limits a layer (or the whole run): the resource with the highest
// demand in cycles (compute: the GEMMs' streaming cycles; dram: DRAM bytes
// over DRAM bandwidth; sram: the array's SRAM bytes over its port
// bandwidth; vector: the vector unit's busy cycles), or "latency" when even
// that demand covers less than half of the elapsed cycles (pipeline fill
// and drain, transfer latency and dependencies dominate).
std::string bound(const arch::Config& config, Cycles elapsed, Cycles streaming,
                  std::uint64_t dram_bytes, std::uint64_t array_sram_bytes, Cycles vector);

}  // namespace tessel::sim
