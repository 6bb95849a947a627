#include "workloads/actions.h"

#include "arch/systolic.h"
#include "arch/vector.h"

namespace tessel::workloads {

ArrayBytes array_operand_bytes(const arch::Config& config, const arch::GemmShape& shape,
                               DType input, DType weight, DType output) {
  const arch::MacRate rate = config.array.rate(mac_dtype(input, weight)).value_or(arch::MacRate{});
  const auto traffic = arch::array_traffic(config.array.dataflow, config.array.rows,
                                           config.array.cols, arch::packed(shape, rate));
  // Traffic counts elements of the packed shape; packing keeps the bytes.
  return {ceil_div(traffic.input_elements * bits(input) * rate.pack, 8),
          ceil_div(traffic.weight_elements * bits(weight) * rate.pack, 8),
          bytes_for(traffic.output_elements, output)};
}

BufferAccesses buffer_accesses(const arch::Config& config, const Instruction& inst) {
  BufferAccesses out;
  if (inst.op == Opcode::kGemm) {
    const ArrayBytes bytes = array_operand_bytes(config, inst.shape, inst.input_dtype,
                                                 inst.weight_dtype, inst.output_dtype);
    out.push_back({inst.input, bytes.input, false});
    out.push_back({inst.weight, bytes.weight, false});
    if (inst.accumulate) {
      const std::uint64_t partials = inst.shape.m * inst.shape.n * inst.shape.batch;
      out.push_back({inst.output, bytes_for(partials, inst.output_dtype), false, true});
    }
    out.push_back({inst.output, bytes.output, true});
  } else if (inst.op == Opcode::kVector) {
    const std::uint64_t share = ceil_div(inst.in_bytes, inst.sources.size());
    for (const auto& s : inst.sources) out.push_back({s, share, false});
    out.push_back({inst.output, inst.out_bytes, true});
  }
  return out;
}

std::vector<arch::Actions> count_actions(const arch::Config& config, const Trace& trace) {
  std::vector<arch::Actions> layers(trace.layers.size(), arch::Actions(config.sram.size()));
  auto touch = [&](arch::Actions& a, const Location& at, std::uint64_t bytes, bool write) {
    if (at.buffer == kDram) return;
    (write ? a.sram_write_bytes : a.sram_read_bytes).at(static_cast<std::size_t>(at.buffer)) +=
        bytes;
  };
  for (const auto& inst : trace.instructions) {
    arch::Actions& a = layers.at(inst.layer);
    switch (inst.op) {
      case Opcode::kLoad:
        a.dram_read_bytes += inst.bytes();
        a.dma_bytes += inst.bytes();
        touch(a, inst.dst, inst.bytes(), true);
        break;
      case Opcode::kStore:
        a.dram_write_bytes += inst.bytes();
        a.dma_bytes += inst.bytes();
        touch(a, inst.src, inst.bytes(), false);
        break;
      case Opcode::kMove:
        a.dma_bytes += inst.bytes();
        touch(a, inst.src, inst.bytes(), false);
        touch(a, inst.dst, inst.bytes(), true);
        break;
      case Opcode::kGemm:
        a.macs[static_cast<std::size_t>(mac_dtype(inst.input_dtype, inst.weight_dtype))] +=
            inst.shape.macs();
        break;
      case Opcode::kVector: {
        const auto ops = arch::vector_op_counts(inst.work);
        const auto& v = config.vector;
        a.vector_lane_ops += ops.alu * v.alu.cycles_per_element +
                             ops.transcendental * v.transcendental.cycles_per_element +
                             ops.divide * v.divide.cycles_per_element;
        break;
      }
      case Opcode::kBarrier:
        break;
    }
    for (const auto& access : buffer_accesses(config, inst))
      touch(a, access.at, access.bytes, access.write);
  }
  return layers;
}

std::vector<LayerTensors> tensor_traffic(const Trace& trace) {
  std::vector<LayerTensors> out(trace.layers.size());
  // A tensor lives in a buffer when it is read or written in a resident
  // region there (not in a block staged for one layer).
  auto resident = [](const Location& at) {
    return at.region != 0 && at.region < kFirstBlockRegion;
  };
  auto touch = [&](std::uint32_t layer, TensorRole role, const Location& at) {
    TensorTraffic& t = out.at(layer)[static_cast<std::size_t>(role)];
    t.used = true;
    if (resident(at)) t.buffer = at.buffer;
    return &t;
  };
  auto role_of = [](arch::Operand op) {
    return op == arch::Operand::kInput    ? TensorRole::kInput
           : op == arch::Operand::kWeight ? TensorRole::kWeight
                                          : TensorRole::kOutput;
  };
  std::vector<bool> on_array(trace.layers.size(), false);
  for (const auto& i : trace.instructions) {
    if (i.op == Opcode::kGemm) on_array.at(i.layer) = true;
  }
  for (const auto& i : trace.instructions) {
    switch (i.op) {
      case Opcode::kLoad:
        touch(i.layer, i.residual ? TensorRole::kResidual : role_of(i.operand), {})
            ->dram_read_bytes += i.bytes();
        [[fallthrough]];
      case Opcode::kMove:
        // Into a resident region: shared weights' home, or the output's;
        // a MOVE out of one reads an operand in place.
        if (resident(i.dst)) {
          touch(i.layer,
                i.operand == arch::Operand::kWeight ? TensorRole::kWeight : TensorRole::kOutput,
                i.dst);
        }
        if (i.op == Opcode::kMove && i.src.region != 0) touch(i.layer, role_of(i.operand), i.src);
        break;
      case Opcode::kStore:
        touch(i.layer, TensorRole::kOutput, {})->dram_write_bytes += i.bytes();
        break;
      case Opcode::kGemm:
        touch(i.layer, TensorRole::kInput, i.input);
        touch(i.layer, TensorRole::kWeight, i.weight);
        touch(i.layer, TensorRole::kOutput, i.output);
        break;
      case Opcode::kVector: {
        // In a layer on the array a VECTOR is its fused epilogue, in place
        // on the output tile, and a second source is the residual. A vector
        // layer's sources are its inputs.
        const bool epilogue = on_array[i.layer];
        for (std::size_t s = epilogue ? 1 : 0; s < i.sources.size(); ++s) {
          touch(i.layer,
                epilogue ? TensorRole::kResidual
                : s == 0 ? TensorRole::kInput
                         : TensorRole::kWeight,
                i.sources[s]);
        }
        touch(i.layer, TensorRole::kOutput, i.output);
        break;
      }
      case Opcode::kBarrier:
        break;
    }
  }
  return out;
}

}  // namespace tessel::workloads
