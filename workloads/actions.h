#pragma once
// What a trace does, counted per layer without simulating it: MACs by
// precision, bytes read and written per buffer, DRAM bytes, DMA bytes and
// vector lane operations. The energy model (arch/cost.h) prices them; the
// simulator performs exactly these buffer accesses (buffer_accesses()).

#include <cstdint>
#include <vector>

#include "arch/config.h"
#include "arch/cost.h"
#include "workloads/trace.h"

namespace tessel::workloads {

struct BufferAccess {
  Location at;
  std::uint64_t bytes = 0;
  bool write = false;
  bool partial_sums = false;  // a GEMM reading back the output it adds to
};

// Bytes the MAC array streams for a GEMM of `shape` at these types: the
// closed-form operand traffic of arch::array_traffic, in bytes (packing
// keeps the bytes).
struct ArrayBytes {
  std::uint64_t input = 0, weight = 0, output = 0;
};
ArrayBytes array_operand_bytes(const arch::Config& config, const arch::GemmShape& shape,
                               DType input, DType weight, DType output);

// The buffer accesses of a GEMM (operand reads, the partial sums it adds
// to, its output write) or a VECTOR instruction (source reads, output
// write), in the order the unit issues them. Empty for other opcodes.
std::vector<BufferAccess> buffer_accesses(const arch::Config& config, const Instruction& inst);

// One Actions per layer of the trace.
std::vector<arch::Actions> count_actions(const arch::Config& config, const Trace& trace);

}  // namespace tessel::workloads
