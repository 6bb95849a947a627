#include "sim/simulator.h"

#include <chrono>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>
#include <systemc>

#include "arch/error.h"
#include "arch/roofline.h"
#include "arch/systolic.h"
#include "sim/dma_engine.h"
#include "sim/mac_array.h"
#include "sim/memory.h"
#include "sim/sequencer.h"
#include "workloads/actions.h"

namespace tessel::sim {

namespace {

using workloads::Opcode;

void check_trace(const arch::Config& config, const workloads::Trace& trace) {
  for (const auto& inst : trace.instructions) {
    if (inst.op == Opcode::kGemm && inst.dataflow != config.array.dataflow) {
      throw InputError(fmt::format("trace instruction {}: GEMM dataflow {} but the array runs {}",
                                   inst.id, arch::to_string(inst.dataflow),
                                   arch::to_string(config.array.dataflow)));
    }
    if (inst.op == Opcode::kGemm &&
        !config.array.rate(mac_dtype(inst.input_dtype, inst.weight_dtype))) {
      throw InputError(fmt::format(
          "trace instruction {}: the array has no {} MACs (it supports {})", inst.id,
          to_string(mac_dtype(inst.input_dtype, inst.weight_dtype)), config.array.supported()));
    }
  }
}

// Splits the array's timeline into layer windows and fills the stats.
void account_layers(const arch::Config& config, const workloads::Trace& trace,
                    const Sequencer& sequencer, const MacArray& array, SimResult& r) {
  const std::size_t n_layers = trace.layers.size();
  std::vector<Cycles> layer_end(n_layers);
  r.layers.resize(n_layers);
  auto actions = workloads::count_actions(config, trace);
  for (std::size_t i = 0; i < n_layers; ++i) r.layers[i].actions = std::move(actions[i]);
  auto tensors = workloads::tensor_traffic(trace);
  for (std::size_t i = 0; i < n_layers; ++i) r.layers[i].tensors = tensors[i];
  std::vector<double> used_pe(n_layers, 0), fold_pe(n_layers, 0);
  for (const auto& inst : trace.instructions) {
    auto& l = r.layers[inst.layer];
    ++l.instructions;
    layer_end[inst.layer] = max(layer_end[inst.layer], sequencer.completed_at(inst.id));
    if (inst.op == Opcode::kGemm) {
      const auto& a = config.array;
      const DType mac = mac_dtype(inst.input_dtype, inst.weight_dtype);
      const arch::MacRate rate = a.rate(mac).value_or(arch::MacRate{});
      l.peak_macs_per_cycle = std::max(l.peak_macs_per_cycle, arch::peak_macs_per_cycle(a, mac));
      l.streaming_cycles += arch::gemm_cycles(a, inst.shape, false, rate);
      const auto bytes = workloads::array_operand_bytes(config, inst.shape, inst.input_dtype,
                                                        inst.weight_dtype, inst.output_dtype);
      l.array_sram_bytes += bytes.input + bytes.weight + bytes.output;
      const auto f = arch::map_gemm(a.dataflow, a.rows, a.cols, arch::packed(inst.shape, rate));
      used_pe[inst.layer] +=
          static_cast<double>(f.spatial_rows * f.spatial_cols * inst.shape.batch);
      fold_pe[inst.layer] +=
          static_cast<double>(f.folds() * inst.shape.batch) * config.array.rows * config.array.cols;
    }
  }
  for (std::size_t i = 1; i < n_layers; ++i) layer_end[i] = max(layer_end[i], layer_end[i - 1]);
  r.cycles = n_layers ? layer_end.back() : Cycles(0);

  // The array's time in attributed pieces. Idle time is split backwards
  // along the critical path that ended it: each piece goes to what was
  // executing (its resource cause) or queued for its unit on that path.
  struct Piece {
    Cycles start, end;
    bool compute = false;
    Cause cause = Cause::kDependency;
  };
  std::vector<Piece> pieces;
  auto queued_cause = [&](std::uint32_t x) {
    // Waiting in a unit's queue is that unit's stall; the array's queue and
    // barriers are dependencies.
    switch (workloads::unit_of(trace.instructions[x].op)) {
      case workloads::Unit::kDma:
        return Cause::kDma;
      case workloads::Unit::kVector:
        return Cause::kVector;
      default:
        return Cause::kDependency;
    }
  };
  auto blame = [&](Cycles a, Cycles t, std::uint32_t x) {
    std::vector<Piece> back;
    while (t > a && x != Sequencer::kNone) {
      const Cycles started = std::min(t, max(a, sequencer.started_at(x)));
      const Cycles ready = std::min(started, max(a, sequencer.ready_at(x)));
      if (started < t) back.push_back({started, t, false, sequencer.completed_cause(x)});
      if (ready < started) {
        back.push_back(
            {ready, started, false, sequencer.queued_cause(x).value_or(queued_cause(x))});
      }
      const Cycles deps_done = std::min(ready, max(a, sequencer.deps_done_at(x)));
      if (deps_done < ready) back.push_back({deps_done, ready, false, Cause::kDispatch});
      t = deps_done;
      x = sequencer.critical(x);
    }
    if (t > a) back.push_back({a, t, false, Cause::kDependency});
    pieces.insert(pieces.end(), back.rbegin(), back.rend());
  };
  for (const auto& s : array.segments()) {
    switch (s.kind) {
      case ArraySegment::Kind::kCompute:
        pieces.push_back({s.start, s.end, true});
        break;
      case ArraySegment::Kind::kSramStretch:
        pieces.push_back({s.start, s.end, false, Cause::kSram});
        break;
      case ArraySegment::Kind::kIdle:
        blame(s.start, s.end, s.waiting_for);
        break;
    }
  }
  if (r.cycles > array.busy_until() && !trace.instructions.empty()) {
    // The idle tail waits for whatever finished last.
    std::uint32_t last = 0;
    for (const auto& inst : trace.instructions) {
      if (sequencer.completed_at(inst.id) >= sequencer.completed_at(last)) last = inst.id;
    }
    blame(array.busy_until(), r.cycles, last);
  }
  std::size_t layer = 0;
  for (const auto& s : pieces) {
    Cycles at = s.start;
    while (at < s.end) {
      while (layer + 1 < n_layers && at >= layer_end[layer]) ++layer;
      const Cycles until = (layer + 1 < n_layers) ? std::min(s.end, layer_end[layer]) : s.end;
      const Cycles span = until - at;
      if (s.compute) {
        r.layers[layer].compute_cycles += span;
      } else {
        r.layers[layer].stall_by_cause[static_cast<int>(s.cause)] += span;
      }
      at = until;
    }
  }

  const double pes = static_cast<double>(config.array.rows) * config.array.cols;
  Cycles previous;
  for (std::size_t i = 0; i < n_layers; ++i) {
    auto& l = r.layers[i];
    l.name = trace.layers[i];
    l.cycles = layer_end[i] - previous;
    previous = layer_end[i];
    l.stall_cycles = l.cycles - l.compute_cycles;
    l.mapping_efficiency = fold_pe[i] > 0 ? used_pe[i] / fold_pe[i] : 0.0;
    l.utilization =
        l.cycles.count() ? static_cast<double>(l.macs()) / (pes * l.cycles.count()) : 0.0;
    r.compute_cycles += l.compute_cycles;
    for (std::size_t c = 0; c < kCauseCount; ++c) r.stall_by_cause[c] += l.stall_by_cause[c];
    r.macs += l.macs();
  }
}

bool g_simulated = false;

}  // namespace

SimResult simulate(const arch::Config& config, const workloads::Trace& trace,
                   bool record_timeline) {
  if (g_simulated) {
    throw std::logic_error("sim::simulate() runs once per process (SystemC cannot be reset)");
  }
  g_simulated = true;
  check_trace(config, trace);
  const auto wall_start = std::chrono::steady_clock::now();

  sc_core::sc_set_time_resolution(1, sc_core::SC_PS);
  Sequencer sequencer("sequencer", trace, config.controller);
  Dram dram("dram", config.dram);
  std::vector<std::unique_ptr<SramBuffer>> buffers;
  std::vector<SramBuffer*> buffer_ptrs;
  for (const auto& s : config.sram) {
    buffers.push_back(std::make_unique<SramBuffer>(s.name.c_str(), s));
    buffer_ptrs.push_back(buffers.back().get());
  }
  std::vector<std::uint32_t> gemms, vectors;
  for (const auto& inst : trace.instructions) {
    if (inst.op == Opcode::kGemm) gemms.push_back(inst.id);
    if (inst.op == Opcode::kVector) vectors.push_back(inst.id);
  }
  DmaEngine dma("dma", config.dma, sequencer, dram, buffer_ptrs);
  MacArray array("array", config, sequencer, buffer_ptrs, std::move(gemms));
  VectorUnit vector("vector", config, sequencer, buffer_ptrs, std::move(vectors));
  sequencer.bind(workloads::Unit::kVector, &vector);
  sequencer.bind(workloads::Unit::kDma, &dma);
  sequencer.bind(workloads::Unit::kArray, &array);

  sc_core::sc_start();

  if (sequencer.completed() != trace.instructions.size()) {
    throw InputError(fmt::format("trace deadlocked: {} of {} instructions never completed",
                                 trace.instructions.size() - sequencer.completed(),
                                 trace.instructions.size()));
  }

  SimResult r;
  account_layers(config, trace, sequencer, array, r);
  for (const auto& [layer, busy] : vector.busy_by_layer()) r.layers[layer].vector_cycles = busy;
  r.vector_busy_cycles = vector.busy_cycles();
  r.dram_read_bytes = dram.read_bytes();
  r.dram_write_bytes = dram.write_bytes();
  r.dram_busy_cycles = dram.busy_cycles();
  r.dma_busy_cycles = dma.busy_cycles();
  r.dma_transfers = dma.transfers();
  for (const auto& b : buffers) {
    r.buffers.push_back({b->config().name, b->read_bytes(), b->write_bytes(), b->busy_cycles()});
  }
  r.events = sequencer.events();
  if (record_timeline) {
    for (const auto& inst : trace.instructions) {
      const Cycles start = sequencer.started_at(inst.id), end = sequencer.completed_at(inst.id);
      switch (inst.op) {
        case Opcode::kGemm:
          r.timeline.push_back({"array", "GEMM", start, end, inst.layer});
          break;
        case Opcode::kVector:
          r.timeline.push_back({"vector", arch::to_string(inst.work.op), start, end, inst.layer});
          break;
        case Opcode::kLoad:
        case Opcode::kStore:
        case Opcode::kMove:
          r.timeline.push_back(
              {fmt::format("dma ch{}", dma.channel_of()[inst.id]),
               fmt::format("{} {}", workloads::to_string(inst.op),
                           inst.residual ? "residual" : arch::to_string(inst.operand)),
               start, end, inst.layer});
          break;
        case Opcode::kBarrier:
          break;
      }
    }
    Cycles previous;
    for (std::size_t i = 0; i < r.layers.size(); ++i) {
      const Cycles end = previous + r.layers[i].cycles;
      r.timeline.push_back(
          {"layers", r.layers[i].name, previous, end, static_cast<std::uint32_t>(i)});
      previous = end;
    }
  }
  r.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return r;
}

}  // namespace tessel::sim
