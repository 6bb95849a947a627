#pragma once
// The emitter: appends instructions to a trace and derives their
// dependencies from hazards on the locations they read and write. A
// location's hazard state is its last writer and the readers since (RAW,
// WAR, WAW), keyed by (buffer, slot, operand), so double buffering is simply
// two slots and the next tile of an operand alternates between them.

#include <cstdint>
#include <map>
#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "arch/config.h"
#include "workloads/trace.h"

namespace tessel::workloads {

// One tile of one operand as it moves: `rows` x `row_bytes`, at `address`
// in DRAM with rows `stride_bytes` apart.
struct Transfer {
  arch::Operand op;
  std::uint64_t rows, row_bytes, address, stride_bytes;
};

class Emitter {
 public:
  Emitter(const arch::Config& config, Trace& trace) : m_config(config), m_trace(trace) {}

  // Appends `inst` with its id set and its dependencies sorted and unique.
  std::uint32_t emit(Instruction inst);

  // Next slot of `buffer` for `operand` (alternates when double buffered).
  std::uint32_t next_slot(int buffer, arch::Operand op);

  // Dependencies of reading / writing a location; call before emit().
  void read_deps(Location at, arch::Operand op, std::vector<std::uint32_t>& deps);
  void write_deps(Location at, arch::Operand op, std::vector<std::uint32_t>& deps);
  // Record an emitted instruction's accesses.
  void did_read(Location at, arch::Operand op, std::uint32_t id);
  void did_write(Location at, arch::Operand op, std::uint32_t id);

  // A LOAD (src DRAM) or MOVE (src a buffer) of `t` into the next slot of
  // `buffer`; `after` is an extra dependency (DRAM hazards). Returns where
  // the data is.
  Location fetch(std::uint32_t layer, const Transfer& t, std::optional<Location> src, int buffer,
                 const std::vector<std::uint32_t>& after);
  // A STORE of `t` from `src` to DRAM; returns its id.
  std::uint32_t store(std::uint32_t layer, const Transfer& t, Location src);

 private:
  struct Hazard {
    std::optional<std::uint32_t> writer;
    std::vector<std::uint32_t> readers;
  };
  using Key = std::tuple<int, std::uint32_t, arch::Operand>;
  static Key key(Location at, arch::Operand op) { return {at.buffer, at.slot, op}; }

  const arch::Config& m_config;
  Trace& m_trace;
  std::map<std::pair<int, arch::Operand>, std::uint32_t> m_slot;
  std::map<Key, Hazard> m_hazard;
};

}  // namespace tessel::workloads
