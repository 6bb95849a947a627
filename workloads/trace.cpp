#include "workloads/trace.h"

#include <fmt/format.h>

#include "arch/error.h"
#include "arch/json_reader.h"

namespace tessel::workloads {

std::string to_string(Opcode op) {
  switch (op) {
    case Opcode::kLoad:
      return "LOAD";
    case Opcode::kStore:
      return "STORE";
    case Opcode::kMove:
      return "MOVE";
    case Opcode::kGemm:
      return "GEMM";
    case Opcode::kVector:
      return "VECTOR";
    case Opcode::kBarrier:
      return "BARRIER";
  }
  return "?";
}

Unit unit_of(Opcode op) {
  switch (op) {
    case Opcode::kLoad:
    case Opcode::kStore:
    case Opcode::kMove:
      return Unit::kDma;
    case Opcode::kGemm:
      return Unit::kArray;
    case Opcode::kVector:
      return Unit::kVector;
    case Opcode::kBarrier:
      return Unit::kSequencer;
  }
  return Unit::kSequencer;
}

namespace {

// [buffer, slot] or [buffer, slot, region], slot and region unsigned 32-bit.
bool is_location(const nlohmann::json& v) {
  if (!v.is_array() || (v.size() != 2 && v.size() != 3)) return false;
  for (std::size_t e = 0; e < v.size(); ++e) {
    if (!v[e].is_number_integer()) return false;
    if (e > 0 && (v[e].get<std::int64_t>() < 0 || v[e].get<std::uint64_t>() > UINT32_MAX))
      return false;
  }
  return v[0].get<std::int64_t>() >= INT32_MIN && v[0].get<std::int64_t>() <= INT32_MAX;
}

Location location_of(const nlohmann::json& v) {
  return {v[0].get<int>(), v[1].get<std::uint32_t>(),
          v.size() == 3 ? v[2].get<std::uint32_t>() : 0u};
}

nlohmann::json location_json(const Location& l) {
  if (l.region != 0) return {l.buffer, l.slot, l.region};
  return {l.buffer, l.slot};
}

const char* kOpNames[] = {"LOAD", "STORE", "MOVE", "GEMM", "VECTOR", "BARRIER"};

}  // namespace

nlohmann::json trace_to_json(const Trace& trace) {
  nlohmann::json insts = nlohmann::json::array();
  for (const auto& i : trace.instructions) {
    nlohmann::json j = {
        {"id", i.id}, {"op", to_string(i.op)}, {"layer", i.layer}, {"deps", i.deps}};
    switch (i.op) {
      case Opcode::kLoad:
      case Opcode::kStore:
      case Opcode::kMove:
        j["operand"] = i.residual ? "residual" : arch::to_string(i.operand);
        j["src"] = location_json(i.src);
        j["dst"] = location_json(i.dst);
        if (i.op != Opcode::kMove) {
          j["address"] = i.address;
          j["stride_bytes"] = i.stride_bytes;
        }
        j["rows"] = i.rows;
        j["row_bytes"] = i.row_bytes;
        break;
      case Opcode::kGemm:
        j["m"] = i.shape.m;
        j["n"] = i.shape.n;
        j["k"] = i.shape.k;
        j["batch"] = i.shape.batch;
        j["dataflow"] = arch::to_string(i.dataflow);
        j["input"] = location_json(i.input);
        j["weight"] = location_json(i.weight);
        j["output"] = location_json(i.output);
        j["accumulate"] = i.accumulate;
        j["fold_overhead"] = i.fold_overhead;
        j["input_dtype"] = to_string(i.input_dtype);
        j["weight_dtype"] = to_string(i.weight_dtype);
        j["output_dtype"] = to_string(i.output_dtype);
        break;
      case Opcode::kVector: {
        j["vector_op"] = arch::to_string(i.work.op);
        j["rows"] = i.work.rows;
        j["row_length"] = i.work.row_length;
        j["window"] = i.work.window;
        j["state"] = i.work.state;
        nlohmann::json sources = nlohmann::json::array();
        for (const auto& l : i.sources) sources.push_back(location_json(l));
        j["sources"] = sources;
        j["output"] = location_json(i.output);
        j["in_bytes"] = i.in_bytes;
        j["out_bytes"] = i.out_bytes;
        break;
      }
      case Opcode::kBarrier:
        break;
    }
    insts.push_back(std::move(j));
  }
  return {{"format", "tessel.trace/1"},
          {"workload", trace.workload},
          {"layers", trace.layers},
          {"instructions", std::move(insts)}};
}

Trace trace_from_json(const nlohmann::json& json, const std::string& source,
                      const arch::Config& config) {
  Trace t;
  JsonReader top(json, source, "trace");
  const std::string format = top.required_string("format");
  if (format != "tessel.trace/1") {
    top.fail("format", fmt::format("expected \"tessel.trace/1\", got \"{}\"", format));
  }
  t.workload = top.optional_string("workload", "");
  t.layers = top.string_array("layers");
  if (t.layers.empty()) top.fail("layers", "must name at least one layer");
  const auto& raw = json.at("instructions");
  std::uint32_t next_id = 0;
  top.array("instructions", true, [&](JsonReader& r) {
    Instruction i;
    i.id = static_cast<std::uint32_t>(r.required_uint("id"));
    if (i.id != next_id)
      r.fail("id", fmt::format("ids must be 0, 1, 2, ... in order; expected {}", next_id));
    ++next_id;
    const std::string op =
        r.required_enum("op", {"LOAD", "STORE", "MOVE", "GEMM", "VECTOR", "BARRIER"});
    for (int o = 0; o < 6; ++o) {
      if (op == kOpNames[o]) i.op = static_cast<Opcode>(o);
    }
    i.layer = static_cast<std::uint32_t>(r.required_uint("layer"));
    if (i.layer >= t.layers.size()) {
      r.fail("layer",
             fmt::format("must index layers[] (size {}), got {}", t.layers.size(), i.layer));
    }
    if (!t.instructions.empty() && i.layer < t.instructions.back().layer) {
      r.fail("layer", fmt::format("layer {} after layer {}: a trace's layers come in order",
                                  i.layer, t.instructions.back().layer));
    }
    const auto& node = raw[i.id];
    r.ignore("deps");
    if (!node.contains("deps") || !node["deps"].is_array())
      r.fail("deps", "expected an array of ids");
    for (const auto& d : node["deps"]) {
      if (!d.is_number_integer() || d.get<std::int64_t>() < 0 || d.get<std::uint64_t>() >= i.id) {
        r.fail("deps",
               fmt::format("each dependency must be the id of an earlier instruction, got {}",
                           describe_json(d)));
      }
      i.deps.push_back(d.get<std::uint32_t>());
    }
    auto location = [&](const std::string& key, bool dram_ok) {
      r.ignore(key);
      const auto& v = node.contains(key) ? node[key] : nlohmann::json();
      if (!is_location(v)) {
        r.fail(key, fmt::format("expected [buffer, slot] or [buffer, slot, region], got {}",
                                describe_json(v)));
      }
      const Location l = location_of(v);
      if (l.buffer == kDram) {
        if (!dram_ok) r.fail(key, "DRAM (-1) is not allowed here");
        if (l.slot != 0 || l.region != 0) r.fail(key, "DRAM has no slots; use slot 0");
        return l;
      }
      if (l.buffer < 0 || static_cast<std::size_t>(l.buffer) >= config.sram.size()) {
        r.fail(key, fmt::format("buffer {} does not exist: the config has {} sram buffers",
                                l.buffer, config.sram.size()));
      }
      if (l.slot >= config.sram[l.buffer].slots()) {
        r.fail(key, fmt::format("slot {} does not exist in buffer \"{}\" ({} slots)", l.slot,
                                config.sram[l.buffer].name, config.sram[l.buffer].slots()));
      }
      return l;
    };
    switch (i.op) {
      case Opcode::kLoad:
      case Opcode::kStore:
      case Opcode::kMove: {
        const std::string operand =
            r.required_enum("operand", {"input", "weight", "output", "residual"});
        i.operand = operand == "weight"   ? arch::Operand::kWeight
                    : operand == "output" ? arch::Operand::kOutput
                                          : arch::Operand::kInput;
        i.residual = operand == "residual";
        if (i.residual && i.op != Opcode::kLoad)
          r.fail("operand", "\"residual\" is the operand of a LOAD only");
        i.src = location("src", i.op == Opcode::kLoad);
        i.dst = location("dst", i.op == Opcode::kStore);
        if (i.op == Opcode::kLoad && i.src.buffer != kDram) r.fail("src", "a LOAD reads DRAM (-1)");
        if (i.op == Opcode::kStore && i.dst.buffer != kDram)
          r.fail("dst", "a STORE writes DRAM (-1)");
        if (i.op != Opcode::kMove) {
          i.address = r.required_uint("address");
          i.stride_bytes = r.optional_uint("stride_bytes", 0);
        }
        i.rows = r.required_uint("rows", 1);
        i.row_bytes = r.required_uint("row_bytes", 1);
        break;
      }
      case Opcode::kGemm: {
        i.shape.m = r.required_uint("m", 1);
        i.shape.n = r.required_uint("n", 1);
        i.shape.k = r.required_uint("k", 1);
        i.shape.batch = r.optional_uint("batch", 1, 1);
        const std::string df = r.required_enum("dataflow", {"os", "ws", "is"});
        if (df != arch::to_string(config.array.dataflow)) {
          r.fail("dataflow", fmt::format("the array runs \"{}\", the trace asks for \"{}\"",
                                         arch::to_string(config.array.dataflow), df));
        }
        i.dataflow = config.array.dataflow;
        i.input = location("input", false);
        i.weight = location("weight", false);
        i.output = location("output", false);
        i.accumulate = r.optional_bool("accumulate", false);
        i.fold_overhead = r.optional_bool("fold_overhead", true);
        auto dtype = [&](const std::string& key) {
          const std::string name = r.optional_string(key, to_string(config.array.precision));
          const auto d = parse_dtype(name);
          if (!d) r.fail(key, fmt::format("must be one of {}, got \"{}\"", dtype_names(), name));
          return *d;
        };
        i.input_dtype = dtype("input_dtype");
        i.weight_dtype = dtype("weight_dtype");
        i.output_dtype = dtype("output_dtype");
        if (!config.array.rate(mac_dtype(i.input_dtype, i.weight_dtype))) {
          r.fail("input_dtype", fmt::format("the array has no {} MACs (it supports {})",
                                            to_string(mac_dtype(i.input_dtype, i.weight_dtype)),
                                            config.array.supported()));
        }
        break;
      }
      case Opcode::kVector: {
        const std::string name = r.required_string("vector_op");
        const auto vop = arch::parse_vector_op(name);
        if (!vop) {
          r.fail("vector_op",
                 fmt::format("must be one of {}, got \"{}\"", arch::vector_op_names(), name));
        }
        i.work.op = *vop;
        i.work.rows = r.required_uint("rows", 1);
        i.work.row_length = r.required_uint("row_length", 1);
        i.work.window = r.optional_uint("window", 1, 1);
        i.work.state = r.optional_uint("state", 1, 1);
        r.ignore("sources");
        if (!node.contains("sources") || !node["sources"].is_array() || node["sources"].empty()) {
          r.fail("sources", "expected a non-empty array of [buffer, slot]");
        }
        for (std::size_t s = 0; s < node["sources"].size(); ++s) {
          const auto& v = node["sources"][s];
          if (!is_location(v) || v[0].get<std::int64_t>() < 0 ||
              v[0].get<std::uint64_t>() >= config.sram.size() ||
              v[1].get<std::uint64_t>() >= config.sram[v[0].get<std::size_t>()].slots()) {
            r.fail(fmt::format("sources[{}]", s),
                   fmt::format("expected [buffer, slot] or [buffer, slot, region] of the "
                               "config's sram, got {}",
                               describe_json(v)));
          }
          i.sources.push_back(location_of(v));
        }
        i.output = location("output", false);
        i.in_bytes = r.required_uint("in_bytes");
        i.out_bytes = r.required_uint("out_bytes");
        break;
      }
      case Opcode::kBarrier:
        break;
    }
    t.instructions.push_back(std::move(i));
  });
  top.finish();
  return t;
}

Trace load_trace(const std::string& file, const arch::Config& config) {
  return trace_from_json(load_json_file(file), file, config);
}

}  // namespace tessel::workloads
