#pragma once
// What a trace does, counted per layer without simulating it: MACs by
// precision, bytes read and written per buffer, DRAM bytes, DMA bytes and
// vector lane operations. The energy model (arch/cost.h) prices them; the
// simulator performs exactly these buffer accesses (buffer_accesses()).

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include <boost/container/small_vector.hpp>

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
// write), in the order the unit issues them. Empty for other opcodes. Up
// to four without a heap allocation (every GEMM; a VECTOR of three sources).
using BufferAccesses = boost::container::small_vector<BufferAccess, 4>;
BufferAccesses buffer_accesses(const arch::Config& config, const Instruction& inst);

// One Actions per layer, counted one instruction at a time (so a streamed
// trace is counted as it goes by).
class ActionCounter {
 public:
  ActionCounter(const arch::Config& config, std::size_t layers);
  void add(const Instruction& inst);
  std::vector<arch::Actions>& layers() { return m_layers; }

 private:
  const arch::Config& m_config;
  std::vector<arch::Actions> m_layers;
};

// One Actions per layer of the trace.
std::vector<arch::Actions> count_actions(const arch::Config& config, const Trace& trace);

// A layer's tensors, as its instructions touch them: its input (a GEMM's
// input; a vector or data-move layer's first source), its weights (a GEMM's
// second operand; a vector layer's second source), its output, and the
// tensor a fused residual add reads (the epilogue VECTOR's second source).
enum class TensorRole { kInput, kWeight, kOutput, kResidual };
inline constexpr const char* kTensorRoleNames[] = {"input", "weight", "output", "residual"};

// Where one of them lived and what it cost in DRAM: `buffer` is the
// resident buffer it was read from (or, for the output, written into) in
// place, or kDram; reads are its LOADs (for the output: partial sums read
// back), writes its STOREs (the output's, partial sums included).
struct TensorTraffic {
  bool used = false;
  int buffer = kDram;
  std::uint64_t dram_read_bytes = 0, dram_write_bytes = 0;
};
using LayerTensors = std::array<TensorTraffic, 4>;  // indexed by TensorRole

// One LayerTensors per layer, one instruction at a time in id order. A
// VECTOR in a layer with GEMMs is their epilogue wherever it comes, so its
// touches are kept both ways until layers() knows which layers have GEMMs.
class TensorCounter {
 public:
  explicit TensorCounter(std::size_t layers) : m_layers(layers) {}
  void add(const Instruction& inst);
  std::vector<LayerTensors> layers() const;

 private:
  // A role's touches: whether any, and the last one in a resident region.
  struct Touches {
    bool used = false;
    std::optional<std::uint32_t> resident_id;
    int buffer = kDram;
    void add(std::uint32_t id, const Location& at);
    void merge(const Touches& other);
  };
  using RoleTouches = std::array<Touches, 4>;  // indexed by TensorRole
  struct Layer {
    bool gemm = false;
    LayerTensors dram;  // the DRAM bytes
    RoleTouches direct, as_epilogue, as_vector_layer;
  };
  std::vector<Layer> m_layers;
};

// One LayerTensors per layer of the trace.
std::vector<LayerTensors> tensor_traffic(const Trace& trace);

}  // namespace tessel::workloads
