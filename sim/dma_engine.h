#pragma once
// A DMA engine with several channels. It issues the oldest ready transfer
// (LOAD, STORE, MOVE) on the lowest-numbered free channel. A transfer pays
// `setup_cycles`, then streams at the slowest of: its channel's rate, the
// DRAM bus (shared, first-come first-served) and the SRAM slot ports it
// reads and writes; DRAM latency is added once per transfer. A channel
// starts its next transfer when the previous one has streamed, as long as
// fewer than `max_outstanding` of its transfers await completion.
// Not modelled: per-row (2-D) overheads, DRAM banks.

#include <cstdint>
#include <map>
#include <optional>
#include <queue>
#include <set>
#include <vector>

#include <systemc>

#include "arch/config.h"
#include "sim/memory.h"
#include "sim/sequencer.h"

namespace tessel::sim {

class DmaEngine : public sc_core::sc_module, public ExecutionUnit {
 public:
  SC_HAS_PROCESS(DmaEngine);
  DmaEngine(sc_core::sc_module_name name, const arch::DmaConfig& config, Sequencer& sequencer,
            Dram& dram, std::vector<SramBuffer*> buffers, bool record_channels);

  void accept(std::uint32_t id) override;

  std::uint64_t transfers() const { return m_transfers; }
  // With `record_channels`: the channel each transfer ran on (indexed by
  // instruction id up to the last transfer; 0 for the other instructions).
  const std::vector<std::uint16_t>& channel_of() const { return m_channel_of; }
  Cycles busy_cycles() const { return m_busy; }  // summed over channels

 private:
  struct Channel {
    Cycles free_at;
    std::optional<Cause> last_cause;    // of the transfer that last used it
    std::multiset<Cycles> outstanding;  // completion cycles not yet reached
  };
  struct Done {
    Cycles at;
    std::uint32_t id;
    Cause cause;
    bool operator>(const Done& o) const { return at != o.at ? at > o.at : id > o.id; }
  };

  void run();
  void retire();
  // When channel `c` can next start a transfer (>= now).
  Cycles usable_at(Channel& c, Cycles now) const;
  void issue(std::uint32_t id, Channel& channel, Cycles now);

  arch::DmaConfig m_config;
  Rate m_channel_rate;
  Sequencer& m_sequencer;
  Dram& m_dram;
  std::vector<SramBuffer*> m_buffers;
  std::vector<Channel> m_channels;
  std::set<std::uint32_t> m_ready;
  std::priority_queue<Done, std::vector<Done>, std::greater<Done>> m_done;
  sc_core::sc_event m_wake;
  sc_core::sc_event_queue m_done_event;
  std::uint64_t m_transfers = 0;
  bool m_record_channels;
  std::vector<std::uint16_t> m_channel_of;  // per instruction: at most 256 channels
  Cycles m_busy;
};

}  // namespace tessel::sim
