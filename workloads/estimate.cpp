#include "workloads/estimate.h"

#include "arch/systolic.h"
#include "arch/vector.h"
#include "workloads/lowering.h"

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

}  // namespace

Estimate estimate(const Workload& workload, const arch::Config& config) {
  Estimate e;
  const Rate dram = config.dram.rate;
  for (const auto& l : workload.layers) {
    const LayerTypes t = layer_types(l, config);
    LayerEstimate le;
    const bool moves = !(l.kind == LayerKind::kDataMove && l.move == MoveKind::kReshape);
    if (moves) {
      le.dram_read_bytes = bytes_for(input_elements(l), t.activation);
      if (l.on_array()) le.dram_read_bytes += bytes_for(l.weight_elements(), t.weight);
      le.dram_write_bytes = bytes_for(l.output_elements(), t.activation);
      le.dram_bytes = le.dram_read_bytes + le.dram_write_bytes;
    }
    if (l.on_array()) {
      le.compute_cycles = arch::gemm_cycles(config.array.dataflow, config.array.rows,
                                            config.array.cols, l.gemm(), true, t.rate);
      if (l.fused)
        le.compute_cycles = max(le.compute_cycles, arch::vector_cycles(config.vector, *l.fused));
    } else if (l.kind == LayerKind::kVector) {
      le.compute_cycles = arch::vector_cycles(config.vector, l.work);
    }
    le.cycles =
        moves ? max(le.compute_cycles, dram.time_for(le.dram_bytes)) + config.dram.latency_cycles
              : le.compute_cycles;
    e.cycles += le.cycles;
    e.compute_cycles += le.compute_cycles;
    e.dram_bytes += le.dram_bytes;
    e.dram_read_bytes += le.dram_read_bytes;
    e.dram_write_bytes += le.dram_write_bytes;
    e.macs += l.macs();
    e.layers.push_back(le);
  }
  e.latency_ms = static_cast<double>(e.cycles.count()) / (config.clock_mhz * 1e3);
  return e;
}

}  // namespace tessel::workloads
