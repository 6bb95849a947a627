#pragma once
// The hardware description: plain immutable values parsed once from JSON (or
// a SCALE-Sim .cfg) and validated. Models nothing by itself; sim/ and the
// lowering read it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/dataflow.h"
#include "arch/dtype.h"
#include "arch/units.h"

namespace tessel::arch {

enum class Operand : std::uint8_t { kInput, kWeight, kOutput };

inline constexpr Operand kAllOperands[] = {Operand::kInput, Operand::kWeight, Operand::kOutput};

std::string to_string(Operand operand);

// MAC throughput of one PE at one precision: `pack` MACs per cycle (e.g.
// int4 packs two per int8 MAC), or one MAC every `cycles_per_mac` cycles.
struct MacRate {
  std::uint32_t pack = 1;
  std::uint32_t cycles_per_mac = 1;
  double macs_per_cycle() const { return static_cast<double>(pack) / cycles_per_mac; }
};

// How a ws or is array loads its stationary operand (weights in ws, inputs
// in is) into the PEs. kSerial: each fold shifts its tile in (R cycles)
// before it streams, SCALE-Sim's model. kOverlapped: PEs hold a second,
// staged tile, so the next fold's tile shifts in while the current fold
// streams (TPU v1's double-buffered weights, Gemmini's c1/c2 PE registers);
// only the first fold's shift-in is exposed (arch/systolic.h).
enum class WeightPreload { kSerial, kOverlapped };

struct ArrayConfig {
  std::uint32_t rows = 0;
  std::uint32_t cols = 0;
  Dataflow dataflow = Dataflow::kWeightStationary;
  WeightPreload weight_preload = WeightPreload::kSerial;
  // Operand type of tensors whose workload does not give one.
  DType precision = DType::kInt8;
  // Precisions the MACs support; `precision` at rate 1 when the config
  // lists none.
  std::vector<std::pair<DType, MacRate>> rates;

  // The rate at `dtype`, or nullopt when the array does not support it.
  std::optional<MacRate> rate(DType dtype) const;
  std::string supported() const;
};

// The vector unit runs the non-GEMM operators. Work of each class costs
// latency + ceil(elements / lanes) x cycles_per_element (arch/vector.h);
// it reads and writes the SRAM buffer `buffer` through its slot ports.
struct VectorClassConfig {
  std::uint32_t cycles_per_element = 1;
  std::uint32_t latency_cycles = 0;
};
struct VectorConfig {
  std::uint32_t lanes = 0;
  std::size_t buffer = 0;  // index into Config::sram
  VectorClassConfig alu, transcendental, divide;
};

// One on-chip buffer. Buffers are listed from the DRAM side inwards: the
// first buffer holding an operand receives it from DRAM, the last one feeds
// (or, for outputs, receives from) the MAC array.
struct SramConfig {
  std::string name;
  std::uint64_t capacity_bytes = 0;
  std::uint32_t banks = 0;
  std::uint32_t bank_bytes_per_cycle = 0;
  bool double_buffered = true;
  std::vector<Operand> holds;

  bool holds_operand(Operand operand) const;
  // Number of independent halves: 2 when double buffered, else 1.
  std::uint32_t slots() const { return double_buffered ? 2 : 1; }
  // Port bandwidth of one slot, shared by its reads and writes: the banks are
  // split evenly between the slots, so filling one half never contends with
  // draining the other.
  Rate slot_port_rate() const {
    return Rate::bytes_per_cycle(std::uint64_t{banks} / slots() * bank_bytes_per_cycle);
  }
  // Bytes one tile may use: half the capacity when double buffered.
  std::uint64_t tile_budget_bytes() const {
    return double_buffered ? capacity_bytes / 2 : capacity_bytes;
  }
};

// A DMA engine: `channels` transfers in flight at once, each streaming at
// `bytes_per_cycle` after `setup_cycles`; at most `max_outstanding` transfers
// issued and not yet completed per channel (latency hiding).
struct DmaConfig {
  std::uint32_t channels = 0;
  std::uint32_t bytes_per_cycle = 0;
  std::uint32_t setup_cycles = 0;
  std::uint32_t max_outstanding = 0;
};

// Bandwidth/latency DRAM: transfers are interleaved over all channels and
// served first-come first-served; `latency_cycles` is added to each transfer.
struct DramConfig {
  std::uint32_t channels = 0;
  double channel_bandwidth_gb_per_s = 0;
  double latency_ns = 0;
  // JEDEC standard ("lpddr4", "hbm2", ...), for the energy per bit; empty
  // when the config does not say.
  std::string standard;
  // The user's own figure (with `energy_source` in the file), which takes
  // precedence over the cited table's value for `standard`.
  std::optional<double> energy_pj_per_bit;
  // Derived at the configured clock.
  Rate rate;
  Cycles latency_cycles;
};

// Scheduling choices the lowering makes (docs/config.md, "schedule").
struct ScheduleConfig {
  // The registered mapper (workloads/lowering/mapper.h) that tiles layers.
  std::string mapper = "multi_level";
  // kAuto: layer outputs stay in the resident buffer while they fit
  // (workloads/lowering/residency.h); kNone: every layer reads its inputs
  // from DRAM and writes its output there (SCALE-Sim's layer-at-a-time).
  enum class Residency { kNone, kAuto };
  Residency residency = Residency::kAuto;
  // With residency: weights that later layers share (a stream of frames)
  // stay in the resident buffer when they fit, loaded from DRAM once.
  bool weights_resident = true;
  // The registered fusion policy (workloads/lowering/fusion.h) that decides
  // which layers are lowered together.
  std::string fusion = "auto";
  // 0: the fusion policy searches stripe heights (workloads/lowering/
  // stripes.h); N: a request, every chain of convolutions runs in stripes
  // of N output rows of its last member (an error when a stripe's tensors
  // cannot fit the resident buffer, or when there is no chain).
  std::uint64_t stripe_rows = 0;
};

// The controller that issues the trace's instructions to the units, in
// program order and running ahead of them (docs/config.md, "controller").
// Instruction i may start no sooner than the sum of the issue costs of the
// instructions before it, plus layer_cycles for each layer begun up to and
// including i's. Defaults are Tessel's stated assumptions: a single-issue
// decoder (1 cycle per instruction) and a network that is one program in
// instruction memory (no per-layer host launch).
struct ControllerConfig {
  std::uint32_t issue_cycles = 1;
  std::uint32_t layer_cycles = 0;
  // Instructions it holds from the oldest unfinished one on (sequencer.h).
  std::uint32_t window_instructions = 65536;
};

struct Config {
  std::string name;
  // The file the config came from, for errors found after parsing.
  std::string source;
  double clock_mhz = 0;
  ArrayConfig array;
  std::vector<SramConfig> sram;
  VectorConfig vector;
  DmaConfig dma;
  DramConfig dram;
  ScheduleConfig schedule;
  ControllerConfig controller;
  // Process node for energy, power and area (arch/technology.h); nullopt
  // when the config has no "technology" block, and then no cost model.
  std::optional<int> technology_node_nm;
  // The user's idle (leakage + clock) power density, with `idle_source`;
  // else the cited table's (arch/technology.h).
  std::optional<double> idle_w_per_mm2;
  // Supply voltage for the energy model; nullopt: the node's nominal.
  std::optional<double> vdd;
  // The configuration exactly as resolved (file + overrides), echoed in reports.
  nlohmann::json resolved;

  // Indices into `sram` of the buffers holding `operand`, DRAM side first.
  std::vector<std::size_t> path(Operand operand) const;
};

// Parses and validates a hardware config. `source` names the file in errors.
Config parse_config(const nlohmann::json& json, const std::string& source);

// Loads a .json hardware config or a SCALE-Sim .cfg, applies `--set`
// overrides (each "path=value") and validates the result.
Config load_config(const std::string& file, const std::vector<std::string>& overrides = {});

// The same in two steps, for callers that load one base many times (a
// sweep): read the file once, then apply overrides and validate per point.
nlohmann::json read_config_file(const std::string& file);
Config load_config(nlohmann::json base, const std::string& file,
                   const std::vector<std::string>& overrides);

}  // namespace tessel::arch
