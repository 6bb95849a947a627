#pragma once
// The emitter: puts instructions into a sink (a held trace, or the stream
// the simulator reads) and derives their
// dependencies from hazards on the locations they read and write. A
// location's hazard state is its last writer and the readers since (RAW,
// WAR, WAW). Staging space is keyed by (buffer, slot, operand), so double
// buffering is simply two slots and the next tile of an operand alternates
// between them. A resident tensor's region is keyed by (buffer, region,
// tile): its tiles are independent, so one tile's epilogue never holds up
// the next tile's GEMM, and the same bytes can be one layer's output and
// the next layer's input in place.

#include <cstdint>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "arch/config.h"
#include "workloads/trace.h"

namespace tessel::workloads {

// What a staged tile is, for its slot and its hazards: one of the GEMM's
// operands, or the tile of the tensor a fused residual add reads, which is
// staged apart from them (its own slot turn and hazards).
class Role {
 public:
  constexpr Role(arch::Operand op) : m_value(static_cast<int>(op)) {}  // NOLINT: implicit
  static constexpr Role residual() { return Role(3); }
  // Fused attention's (attention.h): its value tiles, staged apart from its
  // key tiles; its score tiles, apart from the output's; and its
  // probability tiles, apart from the query's (one buffer may hold all).
  static constexpr Role kv_values() { return Role(4); }
  static constexpr Role scores() { return Role(5); }
  static constexpr Role probs() { return Role(6); }
  constexpr int value() const { return m_value; }

 private:
  explicit constexpr Role(int v) : m_value(v) {}
  int m_value;
};

// One tile of one operand as it moves: `rows` x `row_bytes`, at `address`
// in DRAM with rows `stride_bytes` apart; `residual`: a residual tile (its
// trace operand is `op`); `as`: staged as another role than its operand's,
// and `from_as`: read from a tile of another role (a MOVE that turns one
// tile into another's operand).
struct Transfer {
  arch::Operand op;
  std::uint64_t rows, row_bytes, address, stride_bytes;
  bool residual = false;
  std::optional<Role> as = std::nullopt, from_as = std::nullopt;
  Role role() const { return as ? *as : residual ? Role::residual() : Role(op); }
  Role source_role() const { return from_as ? *from_as : role(); }
};

class Emitter {
 public:
  Emitter(const arch::Config& config, InstructionSink& sink)
      : m_config(config), m_sink(sink), m_staged(config.sram.size() * kStagedSlots * kRoles) {}

  // Puts `inst` with its id set (0, 1, 2, ... in order) and its
  // dependencies sorted and unique.
  std::uint32_t emit(Instruction inst);

  // Next slot of `buffer` for `role` (alternates when double buffered).
  std::uint32_t next_slot(int buffer, Role role);
  // `a`'s next tile in `buffer` takes the slot `b`'s next tile will (so a
  // step's tiles of both share one slot, and the next step's loads go to
  // the other slot's port, not to the one the step's GEMM reads).
  void align_slots(int buffer, Role a, Role b);
  // `role`'s next tile in `buffer` takes `slot` (its turn goes on from there).
  void turn_to(int buffer, Role role, std::uint32_t slot);

  // Dependencies of reading / writing a location; call before emit().
  // `tile` tells tiles of a resident region apart (ignored for staging).
  void read_deps(Location at, Role role, DepList& deps, std::uint64_t tile = 0);
  void write_deps(Location at, Role role, DepList& deps, std::uint64_t tile = 0);
  // Record an emitted instruction's accesses.
  void did_read(Location at, Role role, std::uint32_t id, std::uint64_t tile = 0);
  void did_write(Location at, Role role, std::uint32_t id, std::uint64_t tile = 0);

  // A LOAD (src DRAM) or MOVE (src a buffer) of `t` into the next slot of
  // `buffer`; `after` is an extra dependency (DRAM hazards). Returns where
  // the data is.
  Location fetch(std::uint32_t layer, const Transfer& t, std::optional<Location> src, int buffer,
                 const std::vector<std::uint32_t>& after);
  // The same into a given location (a resident region's tile `tile`);
  // returns the instruction's id.
  std::uint32_t fetch_to(std::uint32_t layer, const Transfer& t, std::optional<Location> src,
                         Location dst, std::uint64_t tile, const std::vector<std::uint32_t>& after);
  // A STORE of `t` from `src` to DRAM; returns its id.
  std::uint32_t store(std::uint32_t layer, const Transfer& t, Location src,
                      const std::vector<std::uint32_t>& after = {});

 private:
  struct Hazard {
    std::optional<std::uint32_t> writer;
    std::vector<std::uint32_t> readers;
  };
  using Key = std::tuple<int, std::uint32_t, std::uint32_t, std::uint64_t, int>;
  static Key key(Location at, Role role, std::uint64_t tile) {
    if (at.region != 0) return {at.buffer, 0, at.region, tile, 0};
    return {at.buffer, at.slot, 0, 0, role.value()};
  }
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      // A multiplicative mix of the fields (2^64 / the golden ratio).
      std::uint64_t h = std::get<3>(k);
      for (std::uint64_t v :
           {static_cast<std::uint64_t>(std::get<0>(k) + 1), std::uint64_t{std::get<1>(k)},
            std::uint64_t{std::get<2>(k)}, static_cast<std::uint64_t>(std::get<4>(k))}) {
        h = (h ^ v) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 31;
      }
      return static_cast<std::size_t>(h);
    }
  };

  const arch::Config& m_config;
  InstructionSink& m_sink;
  std::uint32_t m_next_id = 0;
  std::map<std::pair<int, int>, std::uint32_t> m_slot;
  // Staging slots' hazards (region 0: one per buffer, slot and role) in a
  // table; resident regions' tiles in the map.
  static constexpr std::uint32_t kStagedSlots = 2;
  static constexpr std::size_t kRoles = 7;  // Role values 0..6
  static_assert(static_cast<std::size_t>(Role::probs().value()) + 1 == kRoles);
  Hazard& hazard(Location at, Role role, std::uint64_t tile);
  std::unordered_map<Key, Hazard, KeyHash> m_hazard;
  std::vector<Hazard> m_staged;
};

}  // namespace tessel::workloads
