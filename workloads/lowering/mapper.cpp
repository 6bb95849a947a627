#include "workloads/lowering/mapper.h"

#include <algorithm>

#include <fmt/format.h>

#include "arch/error.h"
#include "workloads/lowering/named_registry.h"

namespace tessel::workloads {

MapContext::MapContext(const arch::Config& c) : config(c) {
  for (const auto& s : c.sram) tile_budget_bytes.push_back(s.tile_budget_bytes());
  for (arch::Operand op : arch::kAllOperands) {
    const auto path = c.path(op);
    path_length[static_cast<std::size_t>(op)] = path.size();
    first_buffer[static_cast<std::size_t>(op)] = path.front();
  }
}

bool register_mapper(MapperInfo info) {
  return NamedRegistry<MapperInfo>::add(std::move(info));
}

const std::vector<MapperInfo>& mappers() {
  return NamedRegistry<MapperInfo>::all();
}

std::unique_ptr<IMapper> make_mapper(const std::string& name, const std::string& source) {
  return NamedRegistry<MapperInfo>::find(name, source, "arch.schedule.mapper", "mapper").make();
}

}  // namespace tessel::workloads
