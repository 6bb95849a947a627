#include "arch/config.h"

#include <bit>
#include <cmath>
#include <set>

#include <fmt/format.h>

#include "arch/error.h"
#include "arch/json_reader.h"
#include "arch/overrides.h"
#include "arch/scalesim_cfg.h"

namespace tessel::arch {

std::string to_string(Dataflow dataflow) {
  switch (dataflow) {
    case Dataflow::kOutputStationary:
      return "os";
    case Dataflow::kWeightStationary:
      return "ws";
    case Dataflow::kInputStationary:
      return "is";
  }
  return "?";
}

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

std::string to_string(Precision precision) {
  switch (precision) {
    case Precision::kInt8:
      return "int8";
    case Precision::kInt16:
      return "int16";
    case Precision::kFp16:
      return "fp16";
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp32:
      return "fp32";
  }
  return "?";
}

std::uint64_t bytes_per_element(Precision precision) {
  switch (precision) {
    case Precision::kInt8:
      return 1;
    case Precision::kInt16:
    case Precision::kFp16:
    case Precision::kBf16:
      return 2;
    case Precision::kFp32:
      return 4;
  }
  return 1;
}

bool SramConfig::holds_operand(Operand operand) const {
  for (auto h : holds) {
    if (h == operand) return true;
  }
  return false;
}

std::vector<std::size_t> Config::path(Operand operand) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < sram.size(); ++i) {
    if (sram[i].holds_operand(operand)) out.push_back(i);
  }
  return out;
}

namespace {

Dataflow parse_dataflow(const std::string& s) {
  if (s == "os") return Dataflow::kOutputStationary;
  if (s == "is") return Dataflow::kInputStationary;
  return Dataflow::kWeightStationary;
}

Precision parse_precision(const std::string& s) {
  if (s == "int16") return Precision::kInt16;
  if (s == "fp16") return Precision::kFp16;
  if (s == "bf16") return Precision::kBf16;
  if (s == "fp32") return Precision::kFp32;
  return Precision::kInt8;
}

Operand parse_operand(const std::string& s) {
  if (s == "weight") return Operand::kWeight;
  if (s == "output") return Operand::kOutput;
  return Operand::kInput;
}

constexpr std::uint32_t kMaxArrayDim = 4096;

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
    config.array.dataflow = parse_dataflow(a.required_enum("dataflow", {"os", "ws", "is"}));
    config.array.precision = parse_precision(
        a.optional_enum("precision", "int8", {"int8", "int16", "fp16", "bf16", "fp32"}));
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
  top.finish();
  config.resolved = json;
  return config;
}

Config load_config(const std::string& file, const std::vector<std::string>& overrides) {
  nlohmann::json json;
  const bool is_cfg = file.size() > 4 && file.substr(file.size() - 4) == ".cfg";
  json = is_cfg ? scalesim_cfg_to_json(file) : load_json_file(file);
  for (const auto& o : overrides) apply_override(json, o, "arch");
  return parse_config(json, file);
}

}  // namespace tessel::arch
