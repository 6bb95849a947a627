#pragma once
// The lowering as a stream (trace.h, InstructionSource): the same
// instructions in the same order as lower(), without holding the trace.
// The schedule is planned in lower_stream() itself, so a layer that cannot
// be mapped throws there; the emitter then runs on a thread of its own
// into a bounded queue that next() drains, and waits while the queue is
// full. The reader gets each instruction in place, in its chunk, kept until
// the reader releases it. Memory is the queue (kChunkInstructions x
// kQueueChunks) and the chunks the reader still holds (the simulator's
// window), not the trace. A small trace (kHeldInstructions) is lowered
// whole instead.

#include <cstdint>
#include <memory>

#include "arch/config.h"
#include "workloads/layer.h"
#include "workloads/lowering/lower.h"
#include "workloads/trace.h"

namespace tessel::workloads {

struct StreamedLowering {
  // The plan, as lower() returns it, with a trace that has only the
  // workload and layer names.
  Lowered plan;
  std::unique_ptr<InstructionSource> instructions;
};

inline constexpr std::size_t kChunkInstructions = 4096;
inline constexpr std::size_t kQueueChunks = 4;
// A trace of at most this many instructions (about 75 MB) is lowered whole
// first instead, with no thread to start and feed: most sweep points are
// small traces.
inline constexpr std::uint64_t kHeldInstructions = 262144;

// `workload` and `config` must outlive the stream.
StreamedLowering lower_stream(const Workload& workload, const arch::Config& config);

}  // namespace tessel::workloads
