#include "workloads/lowering/mapper.h"

#include <algorithm>

#include <fmt/format.h>

#include "arch/error.h"

namespace tessel::workloads {

namespace {

std::vector<MapperInfo>& registry() {
  static std::vector<MapperInfo> r;
  return r;
}

}  // namespace

MapContext::MapContext(const arch::Config& c) : config(c) {
  for (const auto& s : c.sram) tile_budget_bytes.push_back(s.tile_budget_bytes());
  for (arch::Operand op : arch::kAllOperands)
    path_length[static_cast<std::size_t>(op)] = c.path(op).size();
}

bool register_mapper(MapperInfo info) {
  auto& r = registry();
  r.push_back(std::move(info));
  std::sort(r.begin(), r.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return true;
}

const std::vector<MapperInfo>& mappers() {
  return registry();
}

std::unique_ptr<IMapper> make_mapper(const std::string& name, const std::string& source) {
  std::vector<std::string> names;
  for (const auto& m : registry()) {
    if (m.name == name) return m.make();
    names.push_back(m.name);
  }
  throw InputError(fmt::format("{}: arch.schedule.mapper: no mapper is named \"{}\" (known: {})",
                               source, name, fmt::join(names, ", ")));
}

}  // namespace tessel::workloads
