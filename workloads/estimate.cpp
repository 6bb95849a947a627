#include "workloads/estimate.h"

#include <algorithm>

#include "arch/cost.h"
#include "arch/systolic.h"
#include "arch/vector.h"
#include "workloads/actions.h"
#include "workloads/lowering/attention.h"
#include "workloads/lowering/layer_types.h"
#include "workloads/lowering/mapping_cost.h"
#include "workloads/lowering/schedule.h"

namespace tessel::workloads {

namespace {

std::uint64_t input_elements(const Layer& l) {
  switch (l.kind) {
    case LayerKind::kConv2d:
      return l.batch * l.in_h * l.in_w * l.in_c;
    case LayerKind::kGemm:
      return l.m * l.k * l.batch;
    case LayerKind::kVector:
      return l.in_elements;
    case LayerKind::kDataMove:
      return l.move == MoveKind::kReshape ? 0 : l.elements;
    case LayerKind::kEmbedding:
      return l.tokens * l.dim;
  }
  return 0;
}

// Each operand's buffer path, looked up once per estimate.
struct Paths {
  std::vector<std::size_t> input, weight, output;
  explicit Paths(const arch::Config& c)
      : input(c.path(arch::Operand::kInput)),
        weight(c.path(arch::Operand::kWeight)),
        output(c.path(arch::Operand::kOutput)) {}
};

// Bytes staged along an operand's path: written into each buffer (but the
// first when the operand is resident there already), and read out of each
// but the last (which the array or the store reads).
void stage(arch::Actions& a, const std::vector<std::size_t>& path, std::uint64_t bytes,
           bool resident) {
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (!(resident && i == 0)) a.sram_write_bytes[path[i]] += bytes;
    if (i + 1 < path.size()) {
      a.sram_read_bytes[path[i]] += bytes;
      a.dma_bytes += bytes;
    }
  }
}

// Which of a layer's operands the schedule keeps resident (and the tensor
// a fused residual add reads).
struct Resident {
  bool input = false, weight = false, output = false, residual = false;
};

// Adds the layer's actions without tiling to `a`: each operand crosses its
// path once (from where it lives), the array streams the closed-form
// traffic of the whole GEMM, the vector unit works in its buffer.
void add_layer_actions(arch::Actions& a, const Layer& l, const LayerTypes& t,
                       const LayerEstimate& le, const arch::Config& config, const Paths& paths,
                       const Resident& resident) {
  a.dram_read_bytes += le.dram_read_bytes;
  a.dram_write_bytes += le.dram_write_bytes;
  a.dma_bytes += le.dram_bytes;
  const std::size_t vbuf = config.vector.buffer;
  auto vector_work = [&](const arch::VectorWork& work) {
    const auto ops = arch::vector_op_counts(work);
    const auto& v = config.vector;
    a.vector_lane_ops += ops.alu * v.alu.cycles_per_element +
                         ops.transcendental * v.transcendental.cycles_per_element +
                         ops.divide * v.divide.cycles_per_element;
  };
  if (l.on_array()) {
    a.macs[static_cast<std::size_t>(t.mac)] += l.macs();
    const std::uint64_t in = bytes_for(input_elements(l), t.activation);
    const std::uint64_t w = bytes_for(l.weight_elements(), t.weight);
    const std::uint64_t out = bytes_for(l.output_elements(), t.activation);
    stage(a, paths.input, in, resident.input);
    stage(a, paths.weight, w, resident.weight);
    const ArrayBytes array =
        array_operand_bytes(config, l.gemm(), t.activation, t.weight, t.activation);
    a.sram_read_bytes[paths.input.back()] += array.input;
    a.sram_read_bytes[paths.weight.back()] += array.weight;
    a.sram_write_bytes[paths.output.back()] += array.output;
    if (l.attention) {
      // The context GEMM, and the probabilities: softmax in place in the
      // output buffer, moved to the input buffer for it.
      const ArrayBytes context =
          array_operand_bytes(config, l.context_gemm(), t.activation, t.weight, t.activation);
      a.sram_read_bytes[paths.input.back()] += context.input;
      a.sram_read_bytes[paths.weight.back()] += context.weight;
      a.sram_write_bytes[paths.output.back()] += context.output;
      const std::uint64_t probs = bytes_for(l.batch * l.m * l.n, t.activation);
      vector_work({arch::VectorOp::kOnlineSoftmax, l.batch * l.m, l.n});
      a.sram_read_bytes[paths.output.back()] += 2 * probs;
      a.sram_write_bytes[paths.output.back()] += probs;
      a.sram_write_bytes[paths.input.back()] += probs;
      a.dma_bytes += probs;
    }
    // The output drains towards DRAM: staged in reverse, read for the store
    // (none when it stays resident in the first buffer).
    const auto& path = paths.output;
    for (std::size_t i = path.size(); i-- > 0;) {
      if (!(resident.output && i == 0)) a.sram_read_bytes[path[i]] += out;
      if (i > 0) {
        a.sram_write_bytes[path[i - 1]] += out;
        a.dma_bytes += out;
      }
    }
    // The epilogue works in place on the output buffer, one instruction per
    // operator and tile; the residual add also reads the skip tensor's
    // tiles, loaded into the vector buffer unless resident there.
    const std::size_t obuf = paths.output.back();
    for (const auto& work : l.epilogue(l.gemm().m * l.gemm().batch, l.gemm().n)) {
      vector_work(work);
      a.sram_read_bytes[obuf] += out;
      a.sram_write_bytes[obuf] += out;
    }
    if (l.residual) {
      if (!resident.residual) a.sram_write_bytes[vbuf] += out;
      a.sram_read_bytes[vbuf] += out;
    }
  } else {
    // Vector, data-movement and embedding layers: what comes from DRAM is
    // loaded into the vector unit's buffer and what goes there is stored
    // from it; the vector unit reads its inputs and writes its output there.
    a.sram_write_bytes[vbuf] += le.dram_read_bytes;
    a.sram_read_bytes[vbuf] += le.dram_write_bytes;
    if (l.kind == LayerKind::kVector) {
      vector_work(l.work);
      a.sram_read_bytes[vbuf] += bytes_for(l.in_elements, t.activation);
      a.sram_write_bytes[vbuf] += bytes_for(l.out_elements, t.activation);
    }
  }
}

}  // namespace

Estimate estimate(const Workload& workload, const arch::Config& config) {
  Estimate e;
  e.actions = arch::Actions(config.sram.size());
  const Paths paths(config);
  // The lowering's own schedule: its residency, tiles and expected cycles.
  const Schedule schedule = plan_schedule(workload, config);
  for (std::size_t i = 0; i < schedule.workload.layers.size(); ++i) {
    const Layer& l = schedule.workload.layers[i];
    const Mapping& m = schedule.mappings[i];
    const LayerTypes t = layer_types(l, config);
    LayerEstimate le;
    le.name = l.name;
    le.dram_bytes = m.dram_bytes;
    le.dram_write_bytes = m.dram_write_bytes;
    le.dram_read_bytes = m.dram_bytes - m.dram_write_bytes;
    if (l.attention) {
      const AttentionWork work = attention_work(config, l, m);
      le.compute_cycles = max(Cycles(work.array_cycles), Cycles(work.vector_cycles));
    } else if (l.on_array()) {
      le.compute_cycles = Cycles(mapped_compute_cycles(config, l.gemm(), m, t.rate));
      Cycles epilogue;
      for (const auto& work : l.epilogue(l.gemm().m * l.gemm().batch, l.gemm().n))
        epilogue += arch::vector_cycles(config.vector, work);
      le.compute_cycles = max(le.compute_cycles, epilogue);
    } else if (l.kind == LayerKind::kVector) {
      le.compute_cycles = arch::vector_cycles(config.vector, l.work);
    }
    le.cycles = max(Cycles(m.estimated_cycles), le.compute_cycles);
    e.cycles += le.cycles;
    e.compute_cycles += le.compute_cycles;
    e.dram_bytes += le.dram_bytes;
    e.dram_read_bytes += le.dram_read_bytes;
    e.dram_write_bytes += le.dram_write_bytes;
    const Residency& r = schedule.residency;
    const Resident resident{!l.inputs.empty() && r.resident(r.tensor_of[l.inputs[0]]),
                            l.on_array() && l.second == OperandSource::kProducer &&
                                r.resident(r.tensor_of[l.second_producer]),
                            r.tensor_of[i] == i && r.resident(i),
                            l.residual && r.resident(r.tensor_of[l.residual->producer])};
    add_layer_actions(e.actions, l, t, le, config, paths, resident);
    e.layers.push_back(le);
  }
  // The controller (docs/config.md, "controller"; sim/sequencer.h) issues
  // in program order and runs ahead of the units: instruction i is issued
  // after the set-up of every layer begun by then and the issue cost of
  // every instruction before it. So a layer starts no sooner than its first
  // instruction is issued, and ends no sooner than its last (its barrier).
  Cycles issued, end;
  const Cycles per_instruction(config.controller.issue_cycles);
  for (std::size_t l = 0; l < e.layers.size(); ++l) {
    issued += Cycles(config.controller.layer_cycles);
    const std::uint64_t instructions =
        std::max<std::uint64_t>(schedule.mappings[l].instructions, 1);
    const Cycles start = max(end, issued);
    issued += per_instruction * instructions;
    const Cycles finish = max(start + e.layers[l].cycles, issued - per_instruction);
    e.layers[l].cycles = finish - end;
    end = finish;
  }
  e.cycles = end;
  e.latency_ms = static_cast<double>(e.cycles.count()) / (config.clock_mhz * 1e3);
  return e;
}

}  // namespace tessel::workloads
