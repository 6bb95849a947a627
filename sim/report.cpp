#include "sim/report.h"

#include <fmt/format.h>

#include "arch/roofline.h"

namespace tessel::sim {

namespace {

nlohmann::json causes_json(const std::array<Cycles, kCauseCount>& by_cause) {
  nlohmann::json j = nlohmann::json::object();
  for (Cause c : kAllCauses) j[to_string(c)] = by_cause[static_cast<int>(c)].count();
  return j;
}

nlohmann::json roofline_json(const arch::Config& config, double peak, std::uint64_t macs,
                             std::uint64_t dram_bytes, std::uint64_t sram_bytes, Cycles cycles) {
  const auto r = arch::roofline(config, peak, macs, dram_bytes, sram_bytes);
  return {{"operational_intensity_macs_per_dram_byte", r.dram_intensity},
          {"operational_intensity_macs_per_sram_byte", r.sram_intensity},
          {"attainable_macs_per_cycle", r.attainable_macs_per_cycle},
          {"achieved_macs_per_cycle",
           cycles.count() ? static_cast<double>(macs) / cycles.count() : 0.0}};
}

}  // namespace

std::string bound(const arch::Config& config, Cycles elapsed, Cycles streaming,
                  std::uint64_t dram_bytes, std::uint64_t array_sram_bytes, Cycles vector) {
  const std::pair<const char*, double> demands[] = {
      {"compute", static_cast<double>(streaming.count())},
      {"dram", dram_bytes / arch::dram_bytes_per_cycle(config)},
      {"sram", array_sram_bytes / arch::array_sram_bytes_per_cycle(config)},
      {"vector", static_cast<double>(vector.count())}};
  const char* best = "latency";
  double most = 0;
  for (const auto& [name, cycles] : demands) {
    if (cycles > most) {
      most = cycles;
      best = name;
    }
  }
  return most * 2 < static_cast<double>(elapsed.count()) ? "latency" : best;
}

namespace {

// Energy, power and area (arch/cost.h) into the report's hardware block,
// totals and layers.
void add_cost(const arch::Config& config, const SimResult& r, nlohmann::json& hardware,
              nlohmann::json& totals, nlohmann::json& layers) {
  const arch::CostModel model(config);
  hardware.update(arch::hardware_cost_json(model, config));
  arch::Actions all(config.sram.size());
  for (std::size_t i = 0; i < r.layers.size(); ++i) {
    const auto& l = r.layers[i];
    all += l.actions;
    const arch::Energy e = model.energy(l.actions, l.cycles);
    layers[i]["energy_pj"] = e.total_pj();
    layers[i]["energy_by_component_pj"] = arch::components_json(e);
  }
  const arch::Energy e = model.energy(all, r.cycles);
  totals.update(arch::energy_totals_json(
      e, r.macs, static_cast<double>(r.cycles.count()) / (config.clock_mhz * 1e6)));
  totals["energy_by_buffer_pj"] = arch::buffers_json(e, config);
}

}  // namespace

nlohmann::json make_report(const arch::Config& config, const SimResult& r,
                           const std::string& workload_name, const Provenance& provenance) {
  const double pes = static_cast<double>(config.array.rows) * config.array.cols;
  const double cycles = static_cast<double>(r.cycles.count());
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers) {
    const std::uint64_t dram_bytes = l.actions.dram_read_bytes + l.actions.dram_write_bytes;
    nlohmann::json roof = roofline_json(config, l.peak_macs_per_cycle, l.macs(), dram_bytes,
                                        l.array_sram_bytes, l.cycles);
    roof["bound"] = bound(config, l.cycles, l.streaming_cycles, dram_bytes, l.array_sram_bytes,
                          l.vector_cycles);
    auto lives = [&](int buffer) {
      return buffer < 0 ? std::string("dram") : config.sram[buffer].name;
    };
    nlohmann::json tensors = nlohmann::json::object();
    for (std::size_t role = 0; role < l.tensors.size(); ++role) {
      const auto& t = l.tensors[role];
      if (!t.used) continue;
      tensors[workloads::kTensorRoleNames[role]] = {{"lives", lives(t.buffer)},
                                                    {"dram_read_bytes", t.dram_read_bytes},
                                                    {"dram_write_bytes", t.dram_write_bytes}};
    }
    layers.push_back(
        {{"name", l.name},
         {"roofline", roof},
         {"cycles", l.cycles.count()},
         {"compute_cycles", l.compute_cycles.count()},
         {"stall_cycles", l.stall_cycles.count()},
         {"stall_by_cause", causes_json(l.stall_by_cause)},
         {"vector_cycles", l.vector_cycles.count()},
         {"instructions", l.instructions},
         {"output_lives",
          lives(l.tensors[static_cast<std::size_t>(workloads::TensorRole::kOutput)].buffer)},
         {"tensors", tensors},
         {"macs", l.macs()},
         {"mapping_efficiency", l.mapping_efficiency},
         {"utilization", l.utilization},
         {"dram_read_bytes", l.actions.dram_read_bytes},
         {"dram_write_bytes", l.actions.dram_write_bytes}});
  }
  nlohmann::json sram = nlohmann::json::array();
  for (const auto& b : r.buffers) {
    sram.push_back({{"name", b.name},
                    {"read_bytes", b.read_bytes},
                    {"write_bytes", b.write_bytes},
                    {"busy_cycles", b.busy_cycles.count()}});
  }
  double peak = 0;
  std::uint64_t array_sram_bytes = 0;
  Cycles streaming, vector_busy;
  for (const auto& l : r.layers) {
    peak = std::max(peak, l.peak_macs_per_cycle);
    array_sram_bytes += l.array_sram_bytes;
    streaming += l.streaming_cycles;
    vector_busy += l.vector_cycles;
  }
  nlohmann::json totals_roofline = roofline_json(
      config, peak, r.macs, r.dram_read_bytes + r.dram_write_bytes, array_sram_bytes, r.cycles);
  totals_roofline["bound"] =
      bound(config, r.cycles, streaming, r.dram_read_bytes + r.dram_write_bytes, array_sram_bytes,
            vector_busy);
  const Cycles stalls = r.cycles - r.compute_cycles;
  nlohmann::json hardware = {
      {"peak_macs_per_cycle", arch::peak_macs_per_cycle(config.array, config.array.precision)},
      {"peak_tops", arch::peak_tops(config, config.array.precision)},
      {"peak_tops_precision", to_string(config.array.precision)},
      {"dram_bytes_per_cycle", arch::dram_bytes_per_cycle(config)},
      {"array_sram_bytes_per_cycle", arch::array_sram_bytes_per_cycle(config)}};
  nlohmann::json totals = {
      {"cycles", r.cycles.count()},
      {"latency_ms", cycles / (config.clock_mhz * 1e3)},
      {"compute_cycles", r.compute_cycles.count()},
      {"stall_cycles", stalls.count()},
      {"stall_by_cause", causes_json(r.stall_by_cause)},
      {"macs", r.macs},
      {"utilization", cycles > 0 ? static_cast<double>(r.macs) / (pes * cycles) : 0.0},
      {"achieved_tops", arch::achieved_tops(config, r.macs, r.cycles.count())},
      {"dram_read_bytes", r.dram_read_bytes},
      {"dram_write_bytes", r.dram_write_bytes},
      {"roofline", totals_roofline}};
  if (config.technology_node_nm) add_cost(config, r, hardware, totals, layers);
  return {
      {"schema", kReportSchema},
      {"tool",
       {{"name", "tessel"},
        {"version", provenance.tool_version},
        {"git_revision", provenance.git_revision}}},
      {"inputs",
       {{"arch", provenance.arch_file},
        {"arch_sha256",
         provenance.arch_sha256 ? nlohmann::json(*provenance.arch_sha256) : nlohmann::json()},
        {"workload", provenance.workload_file},
        {"workload_sha256", provenance.workload_sha256 ? nlohmann::json(*provenance.workload_sha256)
                                                       : nlohmann::json()}}},
      {"workload", workload_name},
      {"skipped_operators", provenance.skipped_operators},
      {"config", config.resolved},
      {"hardware", hardware},
      {"totals", totals},
      {"units",
       {{"dram",
         {{"busy_cycles", r.dram_busy_cycles.count()},
          {"bandwidth_utilization", cycles > 0 ? r.dram_busy_cycles.count() / cycles : 0.0}}},
        {"vector",
         {{"busy_cycles", r.vector_busy_cycles.count()},
          {"utilization", cycles > 0 ? r.vector_busy_cycles.count() / cycles : 0.0}}},
        {"dma",
         {{"transfers", r.dma_transfers},
          {"busy_cycles", r.dma_busy_cycles.count()},
          {"channel_utilization",
           cycles > 0 ? r.dma_busy_cycles.count() / (cycles * config.dma.channels) : 0.0}}},
        {"sram", sram}}},
      {"simulation", {{"wall_seconds", r.wall_seconds}, {"events", r.events}}},
      {"layers", layers}};
}

std::string summary_text(const nlohmann::json& report) {
  const auto& t = report["totals"];
  const auto& s = t["stall_by_cause"];
  std::string out;
  out += fmt::format("workload      {}\n", report["workload"].get<std::string>());
  out += fmt::format("hardware      {}\n", report["config"].value("name", "unnamed"));
  out += fmt::format("cycles        {} ({:.3f} ms)\n", t["cycles"].get<std::uint64_t>(),
                     t["latency_ms"].get<double>());
  std::string causes;
  for (const auto& [cause, cycles] : s.items()) {
    causes +=
        fmt::format("{}{} {}", causes.empty() ? "" : ", ", cause, cycles.get<std::uint64_t>());
  }
  out += fmt::format("compute       {} cycles, stalls {} ({})\n",
                     t["compute_cycles"].get<std::uint64_t>(),
                     t["stall_cycles"].get<std::uint64_t>(), causes);
  out += fmt::format("MACs          {} (utilization {:.1f}%)\n", t["macs"].get<std::uint64_t>(),
                     100.0 * t["utilization"].get<double>());
  out += fmt::format("DRAM          {} B read, {} B written\n",
                     t["dram_read_bytes"].get<std::uint64_t>(),
                     t["dram_write_bytes"].get<std::uint64_t>());
  if (t.contains("energy_pj")) {
    const auto& hw = report["hardware"];
    out += fmt::format("energy        {:.4g} mJ, {:.3f} W average, {:.3f} TOPS/W\n",
                       t["energy_pj"].get<double>() * 1e-9, t["power_w"].get<double>(),
                       t["tops_per_w"].get<double>());
    out += fmt::format("area          {:.3f} mm2 at {} nm\n", hw["area_mm2"].get<double>(),
                       hw["technology_node_nm"].get<int>());
    for (const auto& gap : hw["energy_not_modelled"])
      out += fmt::format("not modelled  {}\n", gap.get<std::string>());
  } else {
    out += "energy, area  not modelled (the config has no technology block)\n";
  }
  out += fmt::format("simulation    {:.3f} s wall, {} events\n",
                     report["simulation"]["wall_seconds"].get<double>(),
                     report["simulation"]["events"].get<std::uint64_t>());
  return out;
}

}  // namespace tessel::sim
