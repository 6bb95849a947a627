#pragma once
// The mapper interface: given one layer and what the rest of the schedule
// leaves it (the bytes of each buffer its tiles may use per slot), a mapper
// returns the layer's Mapping. Mappers are chosen by the config key
// `schedule.mapper` and self-register with TESSEL_REGISTER_MAPPER in their
// own file under impl/ (an OBJECT library, so that registration survives
// linking); there is no hand-kept list.
//
// Contract: the returned tiles fit `MapContext::tile_budget_bytes` of every
// buffer on each operand's path; spatial tile sides are multiples of the
// array granule or the full extent; the result depends only on the layer and
// the context (deterministic); it depends on the budgets only through which
// candidates fit (so with smaller budgets, a choice that still fits stays
// the choice: the schedule search relies on it). A mapper that finds no tile
// throws InputError naming the layer and the buffer.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arch/config.h"
#include "workloads/layer.h"
#include "workloads/lowering/mapping.h"
#include "workloads/lowering/named_registry.h"

namespace tessel::workloads {

struct MapContext {
  const arch::Config& config;
  // Per buffer (index into config.sram): bytes one tile may use in one slot.
  std::vector<std::uint64_t> tile_budget_bytes;
  // Operands of this layer that are resident in `resident_buffer`
  // (residency.h): they cost no DRAM traffic and no staging space there.
  int resident_buffer = -1;
  bool input_resident = false, weight_resident = false, output_resident = false;
  // The tensor a fused residual add reads (Layer::residual) is resident:
  // read in place, else its tiles are staged in the vector buffer.
  bool residual_resident = false;
  // Buffers on each operand's path (config.path), indexed by arch::Operand,
  // and the first on each (where operand blocks are staged).
  std::size_t path_length[3] = {0, 0, 0};
  std::size_t first_buffer[3] = {0, 0, 0};
  // Cycles just before this layer in which the DMA has nothing to load: the
  // last array layer's last step computing, and the on-chip layers run
  // since. The layer's first weight tile loads in them (its staging slot
  // is free: slots alternate across layers), and a mapping's expected
  // cycles count only what is left of that load.
  std::uint64_t dma_idle_cycles = 0;
  // Of those, the cycles after the last array layer had finished (on-chip
  // vector layers): both weight slots are free then, so the second weight
  // tile may load too.
  std::uint64_t dma_idle_both_slots_cycles = 0;
  // The drain of the array layer just before (Mapping::tail_drain_cycles)
  // when this layer reads nothing it produced: the array is free and this
  // layer's first output tile takes the other output slot, so the rest of
  // its first load and its first step's compute run under that drain.
  std::uint64_t drain_overlap_cycles = 0;
  // How long after that layer's last GEMM the drain it may run under
  // begins (Mapping::tail_slot_wait_cycles).
  std::uint64_t drain_slot_wait_cycles = 0;
  // When the array layer before (past on-chip layers that move no DRAM
  // bytes) ends in a weight run that stores to DRAM (Mapping::weight_run):
  // its bus time a step leaves idle. This layer's first weight tile loads at
  // the run's start, whole, and what of it that idle time does not absorb
  // delays the run: a mapping counts it (Mapping::prefetch_charge_cycles)
  // so that its choice sees it.
  std::optional<std::uint64_t> run_idle_bus_cycles;
  bool resident(arch::Operand op) const {
    return op == arch::Operand::kInput    ? input_resident
           : op == arch::Operand::kWeight ? weight_resident
                                          : output_resident;
  }

  // The whole buffers' per-slot budgets (no residency).
  explicit MapContext(const arch::Config& c);
};

class IMapper {
 public:
  virtual ~IMapper() = default;
  virtual Mapping map(const Layer& layer, const MapContext& context) const = 0;
  // Every feasible candidate the mapper weighed, with its expected cycles
  // and DRAM bytes, in its order of preference: map() returns the first.
  // For checking the ranking against the simulator; by default just map().
  virtual std::vector<Mapping> candidates(const Layer& layer, const MapContext& context) const {
    return {map(layer, context)};
  }
};

struct MapperInfo {
  std::string name;
  std::string help;
  std::function<std::unique_ptr<IMapper>()> make;
};

bool register_mapper(MapperInfo info);
const std::vector<MapperInfo>& mappers();
// The mapper registered as `name`; throws InputError naming the config key
// and the registered names when there is none.
std::unique_ptr<IMapper> make_mapper(const std::string& name, const std::string& source);

}  // namespace tessel::workloads

// TESSEL_REGISTER_MAPPER("name", "help", Class): one line in the mapper's file.
#define TESSEL_REGISTER_MAPPER(NAME, HELP, CLASS)                                             \
  TESSEL_REGISTER_VARIANT(::tessel::workloads::register_mapper, ::tessel::workloads::IMapper, \
                          NAME, HELP, CLASS)
