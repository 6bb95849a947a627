#include "sim/dma_engine.h"

#include "sim/clock.h"

namespace tessel::sim {

using workloads::Opcode;

DmaEngine::DmaEngine(sc_core::sc_module_name name, const arch::DmaConfig& config,
                     Sequencer& sequencer, Dram& dram, std::vector<SramBuffer*> buffers,
                     bool record_channels)
    : sc_core::sc_module(name),
      m_config(config),
      m_channel_rate(Rate::bytes_per_cycle(config.bytes_per_cycle)),
      m_sequencer(sequencer),
      m_dram(dram),
      m_buffers(std::move(buffers)),
      m_channels(config.channels),
      m_record_channels(record_channels) {
  SC_THREAD(run);
  SC_METHOD(retire);
  sensitive << m_done_event;
  dont_initialize();
}

void DmaEngine::accept(std::uint32_t id) {
  m_ready.insert(id);
  m_wake.notify(sc_core::SC_ZERO_TIME);
}

Cycles DmaEngine::usable_at(Channel& c, Cycles now) const {
  while (!c.outstanding.empty() && *c.outstanding.begin() <= now)
    c.outstanding.erase(c.outstanding.begin());
  Cycles at = max(c.free_at, now);
  if (c.outstanding.size() >= m_config.max_outstanding) {
    // Wait for enough completions to fall below the limit.
    auto it = c.outstanding.begin();
    std::advance(it, c.outstanding.size() - m_config.max_outstanding);
    at = max(at, *it);
  }
  return at;
}

void DmaEngine::run() {
  for (;;) {
    if (m_ready.empty()) {
      sc_core::wait(m_wake);
      continue;
    }
    const Cycles now = now_cycles();
    Channel* chosen = nullptr;
    Cycles earliest(UINT64_MAX);
    for (auto& c : m_channels) {
      const Cycles at = usable_at(c, now);
      if (at == now) {
        chosen = &c;
        break;
      }
      earliest = std::min(earliest, at);
    }
    if (chosen == nullptr) {
      sc_core::wait(carrier(earliest - now));
      continue;
    }
    const std::uint32_t id = *m_ready.begin();
    m_ready.erase(m_ready.begin());
    issue(id, *chosen, now);
  }
}

void DmaEngine::issue(std::uint32_t id, Channel& channel, Cycles now) {
  const auto& inst = m_sequencer.instruction(id);
  // A transfer that waited for this channel waited for what bound the
  // transfer before it on the channel (DRAM backpressure, most often).
  m_sequencer.started(id, channel.last_cause);
  const std::uint64_t bytes = inst.bytes();
  const Cycles start = now + Cycles(m_config.setup_cycles);
  const Cycles streamed = start + m_channel_rate.time_for(bytes);
  Cycles dram_end, sram_end, done;
  Cycles latency;
  Cause cause = Cause::kDma;
  switch (inst.op) {
    case Opcode::kLoad: {
      latency = m_dram.latency();
      dram_end = m_dram.transfer(now, start, bytes, false) + latency;
      sram_end =
          m_buffers[inst.dst.buffer]->access(inst.dst.slot, now, start + latency, bytes, true);
      done = max(max(streamed + latency, dram_end), sram_end);
      break;
    }
    case Opcode::kStore: {
      latency = m_dram.latency();
      sram_end =
          m_buffers[inst.src.buffer]->access(inst.src.slot, now, start, bytes, false) + latency;
      dram_end = m_dram.transfer(now, start, bytes, true) + latency;
      done = max(max(streamed + latency, dram_end), sram_end);
      break;
    }
    case Opcode::kMove: {
      const Cycles read =
          m_buffers[inst.src.buffer]->access(inst.src.slot, now, start, bytes, false);
      const Cycles write =
          m_buffers[inst.dst.buffer]->access(inst.dst.slot, now, start, bytes, true);
      sram_end = max(read, write);
      dram_end = Cycles(0);
      done = max(streamed, sram_end);
      break;
    }
    default:
      return;
  }
  // Attribute the transfer to the resource that finished last (DRAM first on ties).
  if (dram_end == done && inst.op != Opcode::kMove) {
    cause = Cause::kDram;
  } else if (sram_end == done) {
    cause = Cause::kSram;
  }
  channel.free_at = done - latency;
  channel.last_cause = cause;
  if (m_record_channels) {
    if (m_channel_of.size() <= id) m_channel_of.resize(id + 1, 0);
    m_channel_of[id] = static_cast<std::uint16_t>(&channel - m_channels.data());
  }
  channel.outstanding.insert(done);
  m_busy += channel.free_at - now;
  ++m_transfers;
  m_sequencer.count_event();
  m_done.push({done, id, cause});
  m_done_event.notify(carrier(done - now));
}

void DmaEngine::retire() {
  const Cycles now = now_cycles();
  while (!m_done.empty() && m_done.top().at <= now) {
    const Done d = m_done.top();
    m_done.pop();
    m_sequencer.complete(d.id, d.cause);
  }
  m_wake.notify(sc_core::SC_ZERO_TIME);
}

}  // namespace tessel::sim
