#include "sim/memory.h"

namespace tessel::sim {

Dram::Dram(sc_core::sc_module_name name, const arch::DramConfig& config)
    : sc_core::sc_module(name), m_bus(config.rate), m_latency(config.latency_cycles) {}

Cycles Dram::transfer(Cycles now, Cycles arrive, std::uint64_t bytes, bool write) {
  (write ? m_write_bytes : m_read_bytes) += bytes;
  return m_bus.serve(now, arrive, bytes);
}

SramBuffer::SramBuffer(sc_core::sc_module_name name, const arch::SramConfig& config)
    : sc_core::sc_module(name), m_config(config) {
  for (std::uint32_t s = 0; s < config.slots(); ++s) m_ports.emplace_back(config.slot_port_rate());
}

Cycles SramBuffer::access(std::uint32_t slot, Cycles now, Cycles arrive, std::uint64_t bytes,
                          bool write) {
  (write ? m_write_bytes : m_read_bytes) += bytes;
  return m_ports.at(slot).serve(now, arrive, bytes);
}

Cycles SramBuffer::busy_cycles() const {
  Cycles total;
  for (const auto& p : m_ports) total += p.busy_cycles();
  return total;
}

}  // namespace tessel::sim
