#include "arch/config.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "arch/error.h"
#include "arch/json_reader.h"
#include "arch/overrides.h"
#include "arch/scalesim_cfg.h"
#include "arch/technology.h"

namespace tessel::arch {

std::string to_string(Operand operand) {
  switch (operand) {
    case Operand::kInput:
      return "input";
    case Operand::kWeight:
      return "weight";
    case Operand::kOutput:
      return "output";
  }
  return "?";
}

bool SramConfig::holds_operand(Operand operand) const {
  for (auto h : holds) {
    if (h == operand) return true;
  }
  return false;
}

std::optional<MacRate> ArrayConfig::rate(DType dtype) const {
  for (const auto& [d, r] : rates) {
    if (d == dtype) return r;
  }
  return std::nullopt;
}

std::string ArrayConfig::supported() const {
  std::string out;
  for (const auto& [d, r] : rates) out += (out.empty() ? "" : ", ") + to_string(d);
  return out;
}

std::vector<std::size_t> Config::path(Operand operand) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < sram.size(); ++i) {
    if (sram[i].holds_operand(operand)) out.push_back(i);
  }
  return out;
}

namespace {

DType read_dtype(JsonReader& r, const std::string& key, DType fallback) {
  if (!r.has(key)) {
    r.ignore(key);
    return fallback;
  }
  const std::string name = r.required_string(key);
  const auto d = parse_dtype(name);
  if (!d) r.fail(key, fmt::format("must be one of {}, got \"{}\"", dtype_names(), name));
  return *d;
}

MacRate parse_rate(double v, JsonReader& r, const std::string& key) {
  if (v >= 1) {
    if (v != std::floor(v) || v > 64)
      r.fail(key, fmt::format("a rate of 1 or more must be a whole number up to 64, got {}", v));
    return {static_cast<std::uint32_t>(v), 1};
  }
  const double inverse = 1.0 / v;
  if (std::abs(inverse - std::round(inverse)) > 1e-9 || inverse > 64) {
    r.fail(key, fmt::format("a rate below 1 must be 1/n for a whole n up to 64, got {}", v));
  }
  return {1, static_cast<std::uint32_t>(std::llround(inverse))};
}

VectorClassConfig read_vector_class(JsonReader& v, const std::string& key,
                                    VectorClassConfig fallback) {
  if (!v.has(key)) {
    v.ignore(key);
    return fallback;
  }
  JsonReader c = v.object(key);
  VectorClassConfig out;
  out.cycles_per_element =
      static_cast<std::uint32_t>(c.required_uint("cycles_per_element", 1, 1024));
  out.latency_cycles =
      static_cast<std::uint32_t>(c.optional_uint("latency_cycles", 0, 0, 1u << 20));
  c.finish();
  return out;
}

Operand parse_operand(const std::string& s) {
  if (s == "weight") return Operand::kWeight;
  if (s == "output") return Operand::kOutput;
  return Operand::kInput;
}

constexpr std::uint32_t kMaxArrayDim = 4096;

const nlohmann::json& config_node(const nlohmann::json& root,
                                  std::initializer_list<const char*> keys) {
  const nlohmann::json* node = &root;
  for (const char* k : keys) node = &node->at(k);
  return *node;
}

const std::vector<std::string> kDramStandards = {"ddr3",    "ddr4",   "ddr5",    "lpddr4",
                                                 "lpddr4x", "lpddr5", "lpddr5x", "gddr5",
                                                 "gddr6",   "hbm2",   "hbm2e",   "hbm3"};

}  // namespace

Config parse_config(const nlohmann::json& json, const std::string& source) {
  Config config;
  JsonReader top(json, source, "arch");
  config.name = top.optional_string("name", "unnamed");
  top.ignore("comment");
  config.clock_mhz = top.required_number("clock_mhz", 0.0);

  {
    JsonReader a = top.object("array");
    config.array.rows = static_cast<std::uint32_t>(a.required_uint("rows", 1, kMaxArrayDim));
    config.array.cols = static_cast<std::uint32_t>(a.required_uint("cols", 1, kMaxArrayDim));
    std::vector<std::string> dataflows;
    for (const auto& row : kDataflows) dataflows.emplace_back(row.name);
    config.array.dataflow = *parse_dataflow(a.required_enum("dataflow", dataflows));
    if (a.optional_enum("weight_preload", "serial", {"serial", "overlapped"}) == "overlapped") {
      if (dataflow_row(config.array.dataflow).fill_rows < 2)
        a.fail("weight_preload", fmt::format("'overlapped' needs a dataflow that preloads a "
                                             "stationary operand (ws or is); {} preloads none",
                                             to_string(config.array.dataflow)));
      config.array.weight_preload = WeightPreload::kOverlapped;
    }
    config.array.precision = read_dtype(a, "precision", DType::kInt8);
    if (a.has("macs_per_pe_per_cycle")) {
      JsonReader rates = a.object("macs_per_pe_per_cycle");
      const auto& node = config_node(json, {"array", "macs_per_pe_per_cycle"});
      for (const auto& [name, value] : node.items()) {
        const auto d = parse_dtype(name);
        if (!d) rates.fail(name, fmt::format("not a precision: expected one of {}", dtype_names()));
        config.array.rates.push_back(
            {*d, parse_rate(rates.required_number(name, 0.0), rates, name)});
      }
      rates.finish();
      if (config.array.rates.empty())
        a.fail("macs_per_pe_per_cycle", "must list at least one precision");
    } else {
      a.ignore("macs_per_pe_per_cycle");
      config.array.rates.push_back({config.array.precision, MacRate{}});
    }
    a.finish();
  }

  std::set<std::string> names;
  top.array("sram", true, [&](JsonReader& s) {
    SramConfig sram;
    sram.name = s.required_string("name");
    if (sram.name.empty()) s.fail("name", "must not be empty");
    if (!names.insert(sram.name).second) {
      s.fail("name", fmt::format("duplicate buffer name \"{}\"", sram.name));
    }
    sram.capacity_bytes = s.required_uint("capacity_bytes", 1);
    sram.banks = static_cast<std::uint32_t>(s.required_uint("banks", 1, 1024));
    if (!std::has_single_bit(sram.banks)) {
      s.fail("banks", fmt::format("must be a power of two, got {}", sram.banks));
    }
    sram.bank_bytes_per_cycle =
        static_cast<std::uint32_t>(s.required_uint("bank_bytes_per_cycle", 1, 1u << 16));
    sram.double_buffered = s.optional_bool("double_buffered", true);
    if (sram.double_buffered && sram.banks < 2) {
      s.fail("banks", "a double-buffered buffer needs at least 2 banks (one set per half)");
    }
    const auto holds = s.string_array("holds");
    if (holds.empty()) s.fail("holds", "must list at least one of input, weight, output");
    for (std::size_t i = 0; i < holds.size(); ++i) {
      if (holds[i] != "input" && holds[i] != "weight" && holds[i] != "output") {
        s.fail(fmt::format("holds[{}]", i),
               fmt::format("must be one of input, weight, output, got \"{}\"", holds[i]));
      }
      const Operand op = parse_operand(holds[i]);
      if (sram.holds_operand(op)) s.fail(fmt::format("holds[{}]", i), "listed twice");
      sram.holds.push_back(op);
    }
    config.sram.push_back(std::move(sram));
  });
  for (Operand op : kAllOperands) {
    if (config.path(op).empty()) {
      top.fail("sram", fmt::format("no buffer holds the {} operand", to_string(op)));
    }
  }

  {
    // The vector unit is optional in the file; by default 16 lanes in the
    // first buffer holding inputs.
    config.vector = {16, config.path(Operand::kInput).front(), {1, 2}, {4, 8}, {8, 16}};
    if (top.has("vector")) {
      JsonReader v = top.object("vector");
      config.vector.lanes = static_cast<std::uint32_t>(v.required_uint("lanes", 1, 1u << 16));
      const std::string buffer = v.required_string("buffer");
      bool found = false;
      for (std::size_t i = 0; i < config.sram.size(); ++i) {
        if (config.sram[i].name == buffer) {
          config.vector.buffer = i;
          found = true;
        }
      }
      if (!found) v.fail("buffer", fmt::format("no sram buffer is named \"{}\"", buffer));
      config.vector.alu = read_vector_class(v, "alu", config.vector.alu);
      config.vector.transcendental =
          read_vector_class(v, "transcendental", config.vector.transcendental);
      config.vector.divide = read_vector_class(v, "divide", config.vector.divide);
      v.finish();
    } else {
      top.ignore("vector");
    }
  }

  {
    JsonReader d = top.object("dma");
    config.dma.channels = static_cast<std::uint32_t>(d.required_uint("channels", 1, 256));
    config.dma.bytes_per_cycle =
        static_cast<std::uint32_t>(d.required_uint("bytes_per_cycle", 1, 1u << 20));
    config.dma.setup_cycles =
        static_cast<std::uint32_t>(d.optional_uint("setup_cycles", 0, 0, 1u << 20));
    config.dma.max_outstanding =
        static_cast<std::uint32_t>(d.optional_uint("max_outstanding", 1, 1, 1024));
    d.finish();
  }

  {
    JsonReader d = top.object("dram");
    config.dram.channels = static_cast<std::uint32_t>(d.required_uint("channels", 1, 256));
    config.dram.channel_bandwidth_gb_per_s = d.required_number("channel_bandwidth_gb_per_s", 0.0);
    config.dram.latency_ns = d.optional_number("latency_ns", 0.0, -1e-12);
    config.dram.standard = d.optional_enum("standard", "", kDramStandards);
    if (d.has("energy_pj_per_bit")) {
      config.dram.energy_pj_per_bit = d.required_number("energy_pj_per_bit", 0.0);
      if (d.required_string("energy_source").empty())
        d.fail("energy_source", "name the datasheet or paper the energy comes from");
    } else if (d.has("energy_source")) {
      d.fail("energy_source", "only with dram.energy_pj_per_bit");
    }
    d.finish();
    const double bytes_per_cycle =
        config.dram.channels * config.dram.channel_bandwidth_gb_per_s * 1e3 / config.clock_mhz;
    const auto millibytes = static_cast<std::uint64_t>(std::llround(bytes_per_cycle * 1000.0));
    if (millibytes == 0) {
      d.fail("channel_bandwidth_gb_per_s", "is below 0.001 bytes per cycle at this clock");
    }
    config.dram.rate = Rate::bytes_per_kilocycle(millibytes);
    config.dram.latency_cycles = Cycles(static_cast<std::uint64_t>(
        std::ceil(config.dram.latency_ns * config.clock_mhz / 1e3 - 1e-9)));
  }
  if (top.has("technology")) {
    JsonReader t = top.object("technology");
    const auto nm = static_cast<int>(t.required_uint("node_nm", 1, 1000));
    const auto nodes = Technology::builtin().nodes_nm();
    if (std::find(nodes.begin(), nodes.end(), nm) == nodes.end()) {
      t.fail("node_nm",
             fmt::format("no cited scaling for {} nm (known: {} nm)", nm, fmt::join(nodes, ", ")));
    }
    config.technology_node_nm = nm;
    if (t.has("vdd")) {
      config.vdd = t.required_number("vdd", 0.0);
      const auto fitted = Technology::builtin().fitted_nodes_nm();
      if (std::find(fitted.begin(), fitted.end(), nm) == fitted.end()) {
        t.fail("vdd", fmt::format("{} nm has no cited voltage fit (fitted nodes: {} nm)", nm,
                                  fmt::join(fitted, ", ")));
      }
      if (*config.vdd < 0.3 || *config.vdd > 1.5) {
        t.fail("vdd", fmt::format("expected 0.3 to 1.5 V, got {}", *config.vdd));
      }
    }
    if (t.has("idle_w_per_mm2")) {
      config.idle_w_per_mm2 = t.required_number("idle_w_per_mm2", -1e-12);
      if (t.required_string("idle_source").empty())
        t.fail("idle_source", "name where the idle power density comes from");
    } else if (t.has("idle_source")) {
      t.fail("idle_source", "only with technology.idle_w_per_mm2");
    }
    t.finish();
  }
  if (top.has("controller")) {
    JsonReader c = top.object("controller");
    config.controller.issue_cycles = static_cast<std::uint32_t>(
        c.optional_uint("issue_cycles", config.controller.issue_cycles, 0, 1'000'000));
    config.controller.layer_cycles = static_cast<std::uint32_t>(
        c.optional_uint("layer_cycles", config.controller.layer_cycles, 0, 1'000'000'000));
    config.controller.window_instructions = static_cast<std::uint32_t>(
        c.optional_uint("window_instructions", config.controller.window_instructions, 1, 1u << 24));
    c.finish();
  }
  if (top.has("schedule")) {
    JsonReader s = top.object("schedule");
    config.schedule.mapper = s.optional_string("mapper", config.schedule.mapper);
    if (config.schedule.mapper.empty()) s.fail("mapper", "must name a registered mapper");
    config.schedule.residency = s.optional_enum("residency", "auto", {"none", "auto"}) == "none"
                                    ? ScheduleConfig::Residency::kNone
                                    : ScheduleConfig::Residency::kAuto;
    config.schedule.weights_resident =
        s.optional_bool("weights_resident", config.schedule.weights_resident);
    config.schedule.fusion = s.optional_string("fusion", config.schedule.fusion);
    if (config.schedule.fusion.empty()) s.fail("fusion", "must name a registered fusion policy");
    config.schedule.stripe_rows = s.optional_uint("stripe_rows", 0, 0, 1u << 20);
    s.finish();
  }
  top.finish();
  config.source = source;
  config.resolved = json;
  return config;
}

nlohmann::json read_config_file(const std::string& file) {
  const bool is_cfg = file.size() > 4 && file.substr(file.size() - 4) == ".cfg";
  return is_cfg ? scalesim_cfg_to_json(file) : load_json_file(file);
}

Config load_config(nlohmann::json base, const std::string& file,
                   const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) apply_override(base, o, "arch");
  return parse_config(base, file);
}

Config load_config(const std::string& file, const std::vector<std::string>& overrides) {
  return load_config(read_config_file(file), file, overrides);
}

}  // namespace tessel::arch
