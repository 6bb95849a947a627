#pragma once
// The lowered trace: the contract between the lowering (or an external
// compiler) and the simulator. Tile-level instructions with explicit
// dependencies; docs/trace-format.md documents the JSON form.

#include <cstdint>
#include <string>
#include <vector>

#include <boost/container/small_vector.hpp>
#include <nlohmann/json.hpp>

#include "arch/config.h"
#include "arch/dtype.h"
#include "arch/systolic.h"
#include "arch/vector.h"

namespace tessel::workloads {

enum class Opcode : std::uint8_t { kLoad, kStore, kMove, kGemm, kVector, kBarrier };
enum class Unit { kDma, kArray, kVector, kSequencer };

std::string to_string(Opcode op);
Unit unit_of(Opcode op);

inline constexpr int kDram = -1;  // `src`/`dst` value naming DRAM

// A buffer location: buffer index into arch sram[] (or kDram) and a slot
// (half of a double-buffered buffer), whose port serves the access.
// `region` 0 is the slot's staging space; a region above 0 is a tensor the
// lowering keeps resident in the buffer across layers (its bytes stay
// there from producer to consumer), served by the port of `slot`; the
// regions from kFirstBlockRegion up stage blocks of one layer's operands
// (two for input blocks, two for weight blocks, alternating), not tensors
// kept across layers.
inline constexpr std::uint32_t kFirstBlockRegion = 0xFFFFFFFCu;
struct Location {
  int buffer = kDram;
  std::uint32_t slot = 0;
  std::uint32_t region = 0;
};

// An instruction's dependencies: most have at most four, held in place
// (one heap allocation fewer per instruction).
using DepList = boost::container::small_vector<std::uint32_t, 4>;

struct Instruction {
  std::uint32_t id = 0;
  Opcode op = Opcode::kBarrier;
  std::uint32_t layer = 0;
  DepList deps;  // ids of earlier instructions

  // LOAD / STORE / MOVE: `rows` x `row_bytes`, rows `stride_bytes` apart in
  // DRAM starting at `address` (LOAD/STORE only).
  arch::Operand operand = arch::Operand::kInput;
  // A LOAD of the tile a fused residual add reads (operand "residual" in
  // JSON; `operand` is then kInput): staged apart from the GEMM's operands,
  // so its slot's hazards are its own.
  bool residual = false;
  Location src, dst;
  std::uint64_t address = 0;
  std::uint64_t rows = 0;
  std::uint64_t row_bytes = 0;
  std::uint64_t stride_bytes = 0;
  std::uint64_t bytes() const { return rows * row_bytes; }

  // GEMM: the tile, where its operands live, whether it adds to the output
  // already in its buffer, and its dataflow (must match the array).
  // `fold_overhead` false: a temporal chunk continuing the fold(s) of the
  // previous GEMM; it pays no fill/drain (the fold's last chunk does).
  arch::GemmShape shape;
  arch::Dataflow dataflow = arch::Dataflow::kWeightStationary;
  Location input, weight, output;
  bool accumulate = false;
  bool fold_overhead = true;
  // Element types of the operands; the MACs run at mac_dtype(input, weight).
  DType input_dtype = DType::kInt8, weight_dtype = DType::kInt8, output_dtype = DType::kInt8;

  // VECTOR: the work (closed form in arch/vector.h), the locations it reads
  // (`sources`, with `in_bytes` in all) and where it writes `out_bytes`
  // (`output`).
  arch::VectorWork work;
  std::vector<Location> sources;
  std::uint64_t in_bytes = 0, out_bytes = 0;
};

struct Trace {
  std::string workload;
  std::vector<std::string> layers;  // layer names; Instruction::layer indexes this
  std::vector<Instruction> instructions;
};

// Where a trace's producer puts its instructions, in id order (the
// lowering's emitter writes into one).
class InstructionSink {
 public:
  virtual ~InstructionSink() = default;
  virtual void put(Instruction inst) = 0;
};

// A trace read in id order, so that its consumer (the simulator) need not
// hold it whole. Contract: workload() and layers() are known before the
// first next(); next() yields the instructions with ids 0, 1, 2, ..., each
// depending on earlier ids only and of a layer no earlier than the one
// before (a trace's layers come in order), then nullptr. An instruction
// stays valid, in place, until release() is called with a later id. It may
// throw InputError.
class InstructionSource {
 public:
  virtual ~InstructionSource() = default;
  virtual const std::string& workload() const = 0;
  virtual const std::vector<std::string>& layers() const = 0;
  virtual const Instruction* next() = 0;
  // The reader is done with the instructions before `id`.
  virtual void release(std::uint64_t /*id*/) {}
};

// A held trace as a source; `trace` must outlive it.
class TraceSource final : public InstructionSource {
 public:
  explicit TraceSource(const Trace& trace) : m_trace(trace) {}
  const std::string& workload() const override { return m_trace.workload; }
  const std::vector<std::string>& layers() const override { return m_trace.layers; }
  const Instruction* next() override {
    return m_next == m_trace.instructions.size() ? nullptr : &m_trace.instructions[m_next++];
  }

 private:
  const Trace& m_trace;
  std::size_t m_next = 0;
};

nlohmann::json trace_to_json(const Trace& trace);
// Validates ids (dense, in order), dependencies (earlier ids only), layer
// indices (in order), buffer indices and slots against `config`, and GEMM
// dataflows.
Trace trace_from_json(const nlohmann::json& json, const std::string& source,
                      const arch::Config& config);
Trace load_trace(const std::string& file, const arch::Config& config);

}  // namespace tessel::workloads
