#pragma once
// Memories as passive SystemC modules: initiators call them and get the
// completion cycle back (targets annotate delay instead of waiting).
//   Dram: a bandwidth/latency model. Transfers are interleaved over all
//     channels and served first-come first-served at the aggregate rate;
//     latency is added to each transfer. No banks or row buffers (yet).
//   SramBuffer: one port per slot (half of a double-buffered buffer), each
//     with banks/slots x bank width bytes per cycle, shared by reads and
//     writes. No bank conflicts inside a slot.

#include <cstdint>
#include <vector>

#include <systemc>

#include "arch/config.h"
#include "sim/timeline.h"

namespace tessel::sim {

class Dram : public sc_core::sc_module {
 public:
  Dram(sc_core::sc_module_name name, const arch::DramConfig& config);

  // Data through the DRAM bus (latency not included), requested at `now`.
  Cycles transfer(Cycles now, Cycles arrive, std::uint64_t bytes, bool write);
  Cycles latency() const { return m_latency; }

  std::uint64_t read_bytes() const { return m_read_bytes; }
  std::uint64_t write_bytes() const { return m_write_bytes; }
  Cycles busy_cycles() const { return m_bus.busy_cycles(); }

 private:
  Timeline m_bus;
  Cycles m_latency;
  std::uint64_t m_read_bytes = 0;
  std::uint64_t m_write_bytes = 0;
};

class SramBuffer : public sc_core::sc_module {
 public:
  SramBuffer(sc_core::sc_module_name name, const arch::SramConfig& config);

  Cycles access(std::uint32_t slot, Cycles now, Cycles arrive, std::uint64_t bytes, bool write);

  const arch::SramConfig& config() const { return m_config; }
  std::uint64_t read_bytes() const { return m_read_bytes; }
  std::uint64_t write_bytes() const { return m_write_bytes; }
  Cycles busy_cycles() const;

 private:
  arch::SramConfig m_config;
  std::vector<Timeline> m_ports;
  std::uint64_t m_read_bytes = 0;
  std::uint64_t m_write_bytes = 0;
};

}  // namespace tessel::sim
