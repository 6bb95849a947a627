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

void check_instruction(const arch::Config& config, const workloads::Instruction& inst) {
  if (inst.op == Opcode::kGemm && inst.dataflow != config.array.dataflow) {
    throw InputError(fmt::format("trace instruction {}: GEMM dataflow {} but the array runs {}",
                                 inst.id, arch::to_string(inst.dataflow),
                                 arch::to_string(config.array.dataflow)));
  }
  if (inst.op == Opcode::kGemm &&
      !config.array.rate(mac_dtype(inst.input_dtype, inst.weight_dtype))) {
    throw InputError(fmt::format("trace instruction {}: the array has no {} MACs (it supports {})",
                                 inst.id, to_string(mac_dtype(inst.input_dtype, inst.weight_dtype)),
                                 config.array.supported()));
  }
}

// What each layer's instructions do, counted as the sequencer reads them.
class LayerCounter {
 public:
  LayerCounter(const arch::Config& config, std::size_t layers)
      : m_config(config),
        m_actions(config, layers),
        m_tensors(layers),
        m_layers(layers),
        m_used_pe(layers, 0),
        m_fold_pe(layers, 0) {}

  void add(const workloads::Instruction& inst) {
    m_actions.add(inst);
    m_tensors.add(inst);
    auto& l = m_layers[inst.layer];
    ++l.instructions;
    if (inst.op != Opcode::kGemm) return;
    const auto& a = m_config.array;
    const DType mac = mac_dtype(inst.input_dtype, inst.weight_dtype);
    const arch::MacRate rate = a.rate(mac).value_or(arch::MacRate{});
    l.peak_macs_per_cycle = std::max(l.peak_macs_per_cycle, arch::peak_macs_per_cycle(a, mac));
    l.streaming_cycles += arch::gemm_cycles(a, inst.shape, false, rate);
    const auto bytes = workloads::array_operand_bytes(m_config, inst.shape, inst.input_dtype,
                                                      inst.weight_dtype, inst.output_dtype);
    l.array_sram_bytes += bytes.input + bytes.weight + bytes.output;
    const auto f = arch::map_gemm(a.dataflow, a.rows, a.cols, arch::packed(inst.shape, rate));
    m_used_pe[inst.layer] +=
        static_cast<double>(f.spatial_rows * f.spatial_cols * inst.shape.batch);
    m_fold_pe[inst.layer] += static_cast<double>(f.folds() * inst.shape.batch) * a.rows * a.cols;
  }

  // The layers' stats so far: counts, actions, tensors and mapping
  // efficiency (the timing comes from the accounting).
  std::vector<LayerStats> take() {
    const auto tensors = m_tensors.layers();
    for (std::size_t i = 0; i < m_layers.size(); ++i) {
      auto& l = m_layers[i];
      l.actions = std::move(m_actions.layers()[i]);
      l.tensors = tensors[i];
      l.mapping_efficiency = m_fold_pe[i] > 0 ? m_used_pe[i] / m_fold_pe[i] : 0.0;
    }
    return std::move(m_layers);
  }

 private:
  const arch::Config& m_config;
  workloads::ActionCounter m_actions;
  workloads::TensorCounter m_tensors;
  std::vector<LayerStats> m_layers;
  std::vector<double> m_used_pe, m_fold_pe;
};

// What the simulator learns from the sequencer: each instruction checked
// and counted as it is read, and the stall attribution's events.
class Observer final : public Sequencer::Observer {
 public:
  Observer(const arch::Config& config, std::size_t layers, const Sequencer*& sequencer)
      : m_config(config),
        m_counter(config, layers),
        m_attribution(layers, [&sequencer](std::uint32_t id) { return sequencer->record(id); }) {}

  void read(const workloads::Instruction& inst) override {
    check_instruction(m_config, inst);
    m_counter.add(inst);
    m_attribution.read(inst.layer);
  }
  void completed(std::uint32_t id, const InstructionRecord& record) override {
    m_attribution.completed(id, record);
  }
  void source_done() override { m_attribution.source_done(); }

  LayerCounter& counter() { return m_counter; }
  Attribution& attribution() { return m_attribution; }

 private:
  const arch::Config& m_config;
  LayerCounter m_counter;
  Attribution m_attribution;
};

// Fills the layers' timing from the attribution.
void account_layers(const arch::Config& config, const std::vector<std::string>& names,
                    const Attribution& attribution, SimResult& r) {
  const std::size_t n_layers = names.size();
  const auto& layer_end = attribution.layer_end();
  r.cycles = n_layers ? layer_end.back() : Cycles(0);
  for (std::size_t i = 0; i < n_layers; ++i) {
    r.layers[i].compute_cycles = attribution.compute_cycles()[i];
    r.layers[i].stall_by_cause = attribution.stall_cycles()[i];
  }
  const double pes = static_cast<double>(config.array.rows) * config.array.cols;
  Cycles previous;
  for (std::size_t i = 0; i < n_layers; ++i) {
    auto& l = r.layers[i];
    l.name = names[i];
    l.cycles = layer_end[i] - previous;
    previous = layer_end[i];
    l.stall_cycles = l.cycles - l.compute_cycles;
    l.utilization =
        l.cycles.count() ? static_cast<double>(l.macs()) / (pes * l.cycles.count()) : 0.0;
    r.compute_cycles += l.compute_cycles;
    for (std::size_t c = 0; c < kCauseCount; ++c) r.stall_by_cause[c] += l.stall_by_cause[c];
    r.macs += l.macs();
  }
}

bool g_simulated = false;

}  // namespace

SimResult simulate(const arch::Config& config, workloads::InstructionSource& source,
                   bool record_timeline) {
  if (g_simulated) {
    throw std::logic_error("sim::simulate() runs once per process (SystemC cannot be reset)");
  }
  g_simulated = true;
  const auto wall_start = std::chrono::steady_clock::now();

  sc_core::sc_set_time_resolution(1, sc_core::SC_PS);
  const Sequencer* sequencer_ptr = nullptr;
  Observer observer(config, source.layers().size(), sequencer_ptr);
  Sequencer sequencer("sequencer", source, config.controller, observer, record_timeline);
  sequencer_ptr = &sequencer;
  Dram dram("dram", config.dram);
  std::vector<std::unique_ptr<SramBuffer>> buffers;
  std::vector<SramBuffer*> buffer_ptrs;
  for (const auto& s : config.sram) {
    buffers.push_back(std::make_unique<SramBuffer>(s.name.c_str(), s));
    buffer_ptrs.push_back(buffers.back().get());
  }
  DmaEngine dma("dma", config.dma, sequencer, dram, buffer_ptrs, record_timeline);
  MacArray array("array", config, sequencer, buffer_ptrs, observer.attribution());
  VectorUnit vector("vector", config, sequencer, buffer_ptrs);
  sequencer.bind(workloads::Unit::kVector, &vector);
  sequencer.bind(workloads::Unit::kDma, &dma);
  sequencer.bind(workloads::Unit::kArray, &array);

  sc_core::sc_start();

  if (sequencer.error()) std::rethrow_exception(sequencer.error());
  if (!sequencer.read_all() || sequencer.completed() != sequencer.instruction_count()) {
    throw InputError(fmt::format("trace deadlocked: {} of {} instructions never completed",
                                 sequencer.instruction_count() - sequencer.completed(),
                                 sequencer.instruction_count()));
  }

  observer.attribution().finish(array.busy_until());
  SimResult r;
  r.layers = observer.counter().take();
  account_layers(config, source.layers(), observer.attribution(), r);
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
    for (std::uint32_t id = 0; id < sequencer.instruction_count(); ++id) {
      const auto& rec = *sequencer.record(id);  // all kept for the timeline
      const Cycles start = rec.started_at, end = rec.completed_at;
      switch (rec.op) {
        case Opcode::kGemm:
          r.timeline.push_back({"array", "GEMM", start, end, rec.layer});
          break;
        case Opcode::kVector:
          r.timeline.push_back({"vector", arch::to_string(rec.vector_op), start, end, rec.layer});
          break;
        case Opcode::kLoad:
        case Opcode::kStore:
        case Opcode::kMove:
          r.timeline.push_back(
              {fmt::format("dma ch{}", dma.channel_of()[id]),
               fmt::format("{} {}", workloads::to_string(rec.op),
                           rec.residual ? "residual" : arch::to_string(rec.operand)),
               start, end, rec.layer});
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

namespace tessel::sim {

SimResult simulate(const arch::Config& config, const workloads::Trace& trace,
                   bool record_timeline) {
  workloads::TraceSource source(trace);
  return simulate(config, source, record_timeline);
}

}  // namespace tessel::sim
