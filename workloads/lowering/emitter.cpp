#include "workloads/lowering/emitter.h"

#include <algorithm>

namespace tessel::workloads {

namespace {

Instruction transfer(std::uint32_t layer, const Transfer& t, Opcode op) {
  Instruction i;
  i.op = op;
  i.layer = layer;
  i.operand = t.op;
  i.residual = t.residual;
  i.rows = t.rows;
  i.row_bytes = t.row_bytes;
  if (op != Opcode::kMove) {
    i.address = t.address;
    i.stride_bytes = t.stride_bytes;
  }
  return i;
}

}  // namespace

std::uint32_t Emitter::emit(Instruction inst) {
  inst.id = m_next_id++;
  std::sort(inst.deps.begin(), inst.deps.end());
  inst.deps.erase(std::unique(inst.deps.begin(), inst.deps.end()), inst.deps.end());
  m_sink.put(std::move(inst));
  return m_next_id - 1;
}

std::uint32_t Emitter::next_slot(int buffer, Role role) {
  auto& s = m_slot[{buffer, role.value()}];
  s = (s + 1) % m_config.sram[buffer].slots();
  return s;
}

void Emitter::turn_to(int buffer, Role role, std::uint32_t slot) {
  const std::uint32_t slots = m_config.sram[static_cast<std::size_t>(buffer)].slots();
  m_slot[{buffer, role.value()}] = (slot + slots - 1) % slots;
}

void Emitter::align_slots(int buffer, Role a, Role b) {
  m_slot[{buffer, a.value()}] = m_slot[{buffer, b.value()}];
}

Emitter::Hazard& Emitter::hazard(Location at, Role role, std::uint64_t tile) {
  if (at.region == 0 && at.buffer >= 0 && at.slot < kStagedSlots)
    return m_staged[(static_cast<std::size_t>(at.buffer) * kStagedSlots + at.slot) * kRoles +
                    static_cast<std::size_t>(role.value())];
  return m_hazard[key(at, role, tile)];
}

void Emitter::read_deps(Location at, Role role, DepList& deps, std::uint64_t tile) {
  auto& h = hazard(at, role, tile);
  if (h.writer) deps.push_back(*h.writer);
}

void Emitter::write_deps(Location at, Role role, DepList& deps, std::uint64_t tile) {
  auto& h = hazard(at, role, tile);
  if (h.writer) deps.push_back(*h.writer);
  deps.insert(deps.end(), h.readers.begin(), h.readers.end());
}

void Emitter::did_read(Location at, Role role, std::uint32_t id, std::uint64_t tile) {
  hazard(at, role, tile).readers.push_back(id);
}

void Emitter::did_write(Location at, Role role, std::uint32_t id, std::uint64_t tile) {
  auto& h = hazard(at, role, tile);
  h.writer = id;
  h.readers.clear();
}

Location Emitter::fetch(std::uint32_t layer, const Transfer& t, std::optional<Location> src,
                        int buffer, const std::vector<std::uint32_t>& after) {
  const Location dst{buffer, next_slot(buffer, t.role())};
  fetch_to(layer, t, src, dst, 0, after);
  return dst;
}

std::uint32_t Emitter::fetch_to(std::uint32_t layer, const Transfer& t, std::optional<Location> src,
                                Location dst, std::uint64_t tile,
                                const std::vector<std::uint32_t>& after) {
  Instruction i = transfer(layer, t, src ? Opcode::kMove : Opcode::kLoad);
  i.src = src.value_or(Location{kDram, 0});
  i.dst = dst;
  if (src) read_deps(*src, t.source_role(), i.deps);
  write_deps(dst, t.role(), i.deps, tile);
  i.deps.insert(i.deps.end(), after.begin(), after.end());
  const auto id = emit(std::move(i));
  if (src) did_read(*src, t.source_role(), id);
  did_write(dst, t.role(), id, tile);
  return id;
}

std::uint32_t Emitter::store(std::uint32_t layer, const Transfer& t, Location src,
                             const std::vector<std::uint32_t>& after) {
  Instruction i = transfer(layer, t, Opcode::kStore);
  i.src = src;
  i.dst = {kDram, 0};
  i.deps.insert(i.deps.end(), after.begin(), after.end());
  read_deps(src, t.role(), i.deps);
  const auto id = emit(std::move(i));
  did_read(src, t.role(), id);
  return id;
}

}  // namespace tessel::workloads
