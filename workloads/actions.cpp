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

namespace {

void touch_buffer(arch::Actions& a, const Location& at, std::uint64_t bytes, bool write) {
  if (at.buffer == kDram) return;
  (write ? a.sram_write_bytes : a.sram_read_bytes).at(static_cast<std::size_t>(at.buffer)) += bytes;
}

// A tensor lives in a buffer when it is read or written in a resident
// region there (not in a block staged for one layer).
bool resident(const Location& at) {
  return at.region != 0 && at.region < kFirstBlockRegion;
}

TensorRole role_of(arch::Operand op) {
  return op == arch::Operand::kInput    ? TensorRole::kInput
         : op == arch::Operand::kWeight ? TensorRole::kWeight
                                        : TensorRole::kOutput;
}

}  // namespace

ActionCounter::ActionCounter(const arch::Config& config, std::size_t layers)
    : m_config(config), m_layers(layers, arch::Actions(config.sram.size())) {}

void ActionCounter::add(const Instruction& inst) {
  arch::Actions& a = m_layers.at(inst.layer);
  switch (inst.op) {
    case Opcode::kLoad:
      a.dram_read_bytes += inst.bytes();
      a.dma_bytes += inst.bytes();
      touch_buffer(a, inst.dst, inst.bytes(), true);
      break;
    case Opcode::kStore:
      a.dram_write_bytes += inst.bytes();
      a.dma_bytes += inst.bytes();
      touch_buffer(a, inst.src, inst.bytes(), false);
      break;
    case Opcode::kMove:
      a.dma_bytes += inst.bytes();
      touch_buffer(a, inst.src, inst.bytes(), false);
      touch_buffer(a, inst.dst, inst.bytes(), true);
      break;
    case Opcode::kGemm:
      a.macs[static_cast<std::size_t>(mac_dtype(inst.input_dtype, inst.weight_dtype))] +=
          inst.shape.macs();
      break;
    case Opcode::kVector: {
      const auto ops = arch::vector_op_counts(inst.work);
      const auto& v = m_config.vector;
      a.vector_lane_ops += ops.alu * v.alu.cycles_per_element +
                           ops.transcendental * v.transcendental.cycles_per_element +
                           ops.divide * v.divide.cycles_per_element;
      break;
    }
    case Opcode::kBarrier:
      break;
  }
  for (const auto& access : buffer_accesses(m_config, inst))
    touch_buffer(a, access.at, access.bytes, access.write);
}

std::vector<arch::Actions> count_actions(const arch::Config& config, const Trace& trace) {
  ActionCounter counter(config, trace.layers.size());
  for (const auto& inst : trace.instructions) counter.add(inst);
  return std::move(counter.layers());
}

void TensorCounter::Touches::add(std::uint32_t id, const Location& at) {
  used = true;
  if (resident(at)) {
    resident_id = id;
    buffer = at.buffer;
  }
}

void TensorCounter::Touches::merge(const Touches& other) {
  used = used || other.used;
  if (other.resident_id && (!resident_id || *other.resident_id > *resident_id)) {
    resident_id = other.resident_id;
    buffer = other.buffer;
  }
}

void TensorCounter::add(const Instruction& i) {
  Layer& layer = m_layers.at(i.layer);
  auto touch = [&](RoleTouches& touches, TensorRole role, const Location& at) {
    touches[static_cast<std::size_t>(role)].add(i.id, at);
  };
  auto dram = [&](TensorRole role) -> TensorTraffic& {
    touch(layer.direct, role, {});
    return layer.dram[static_cast<std::size_t>(role)];
  };
  switch (i.op) {
    case Opcode::kLoad:
      dram(i.residual ? TensorRole::kResidual : role_of(i.operand)).dram_read_bytes += i.bytes();
      [[fallthrough]];
    case Opcode::kMove:
      // Into a resident region: shared weights' home, or the output's;
      // a MOVE out of one reads an operand in place.
      if (resident(i.dst)) {
        touch(layer.direct,
              i.operand == arch::Operand::kWeight ? TensorRole::kWeight : TensorRole::kOutput,
              i.dst);
      }
      if (i.op == Opcode::kMove && i.src.region != 0)
        touch(layer.direct, role_of(i.operand), i.src);
      break;
    case Opcode::kStore:
      dram(TensorRole::kOutput).dram_write_bytes += i.bytes();
      break;
    case Opcode::kGemm:
      layer.gemm = true;
      touch(layer.direct, TensorRole::kInput, i.input);
      touch(layer.direct, TensorRole::kWeight, i.weight);
      touch(layer.direct, TensorRole::kOutput, i.output);
      break;
    case Opcode::kVector:
      // In a layer on the array a VECTOR is its fused epilogue, in place
      // on the output tile, and a second source is the residual. A vector
      // layer's sources are its inputs.
      for (std::size_t s = 1; s < i.sources.size(); ++s)
        touch(layer.as_epilogue, TensorRole::kResidual, i.sources[s]);
      for (std::size_t s = 0; s < i.sources.size(); ++s)
        touch(layer.as_vector_layer, s == 0 ? TensorRole::kInput : TensorRole::kWeight,
              i.sources[s]);
      touch(layer.direct, TensorRole::kOutput, i.output);
      break;
    case Opcode::kBarrier:
      break;
  }
}

std::vector<LayerTensors> TensorCounter::layers() const {
  std::vector<LayerTensors> out;
  for (const Layer& layer : m_layers) {
    RoleTouches touches = layer.direct;
    const RoleTouches& vector = layer.gemm ? layer.as_epilogue : layer.as_vector_layer;
    LayerTensors& t = out.emplace_back(layer.dram);
    for (std::size_t r = 0; r < touches.size(); ++r) {
      touches[r].merge(vector[r]);
      t[r].used = touches[r].used;
      t[r].buffer = touches[r].buffer;
    }
  }
  return out;
}

std::vector<LayerTensors> tensor_traffic(const Trace& trace) {
  TensorCounter counter(trace.layers.size());
  for (const auto& inst : trace.instructions) counter.add(inst);
  return counter.layers();
}

}  // namespace tessel::workloads
