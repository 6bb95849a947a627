#pragma once
// The critical-path stall attribution, per layer, as the simulation runs
// (SystemC-free). The MAC array reports its time in segments, in time
// order: computing, stretched by an SRAM port, or idle until a GEMM could
// start. An idle interval [a, b) is split backwards along the critical path
// that ended it: starting from the GEMM, the time each instruction on the
// path ran goes to its own cause (what bounded it), the time it waited for
// its unit to that unit (or to what the unit was busy with), the time it
// waited for the controller to `dispatch`, and the rest to `dependency`.
// The pieces are then split into layer windows: layer i's window ends when
// every instruction of layers 0..i has finished (the last layer's takes the
// rest). A piece is assigned as soon as its window is known, so nothing is
// kept per instruction: only the records the sequencer still holds are
// walked, and a path that reaches a forgotten one gives the rest of its
// interval to `dependency`.
//
// Contract: a trace's layers come in order (trace.h), so a layer's window
// is known once a later layer has begun and every instruction of layers up
// to it has finished.

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "arch/config.h"
#include "arch/units.h"
#include "arch/vector.h"
#include "sim/stall_cause.h"
#include "workloads/trace.h"

namespace tessel::sim {

// What the simulator keeps of an instruction once it has left the window.
struct InstructionRecord {
  Cycles deps_done_at, ready_at, started_at, completed_at;
  std::uint32_t critical = UINT32_MAX;  // the dependency that made it ready
  std::uint32_t layer = 0;
  workloads::Opcode op = workloads::Opcode::kBarrier;
  arch::Operand operand = arch::Operand::kInput;     // a transfer's
  arch::VectorOp vector_op = arch::VectorOp::kRelu;  // a VECTOR's
  bool residual : 1 = false;
  bool completed : 1 = false;
  Cause ready_cause = Cause::kDependency;
  Cause completed_cause = Cause::kDependency;
  std::optional<Cause> queued_cause;  // what its unit was busy with
};

// A stretch of the array's time: computing, stretched by SRAM ports, or
// idle until instruction `waiting_for` could start.
struct ArraySegment {
  enum class Kind { kCompute, kSramStretch, kIdle };
  Cycles start, end;
  Kind kind = Kind::kCompute;
  std::uint32_t waiting_for = 0;
};

class Attribution {
 public:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  // `record` gives an instruction's record, or nullptr once forgotten.
  Attribution(std::size_t layers, std::function<const InstructionRecord*(std::uint32_t)> record);

  // The sequencer read an instruction of `layer` / one finished / the
  // trace has no more.
  void read(std::uint32_t layer);
  void completed(std::uint32_t id, const InstructionRecord& record);
  void source_done();
  // The array's next segment; an idle one's GEMM has started.
  void segment(const ArraySegment& s);
  // After the run: the idle tail after the array's last segment waits for
  // whatever finished last.
  void finish(Cycles array_busy_until);

  // After finish(): each layer's window end, compute and stall cycles.
  const std::vector<Cycles>& layer_end() const { return m_end; }
  const std::vector<Cycles>& compute_cycles() const { return m_compute; }
  const std::vector<std::array<Cycles, kCauseCount>>& stall_cycles() const { return m_stall; }

 private:
  struct Piece {
    Cycles start, end;
    bool compute = false;
    Cause cause = Cause::kDependency;
  };
  void blame(Cycles a, Cycles t, std::uint32_t x);
  void settle();  // learns the windows that are known and assigns pieces
  void assign(const Piece& p, Cycles until);

  std::function<const InstructionRecord*(std::uint32_t)> m_record;
  std::size_t m_layers;
  std::vector<std::uint64_t> m_read, m_done;
  std::vector<Cycles> m_own_end;  // the latest finish of each layer's own
  std::vector<Cycles> m_end;      // the windows' ends, known for m_known layers
  std::size_t m_known = 0;
  std::optional<std::uint32_t> m_last_read_layer;
  bool m_source_done = false;
  std::deque<Piece> m_pending;
  std::size_t m_layer = 0;  // the window the next piece starts in
  std::vector<Cycles> m_compute;
  std::vector<std::array<Cycles, kCauseCount>> m_stall;
  std::optional<std::pair<Cycles, std::uint32_t>> m_last;  // the latest finish and its id
};

}  // namespace tessel::sim
