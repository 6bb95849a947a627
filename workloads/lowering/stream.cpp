#include "workloads/lowering/stream.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "workloads/lowering/lowerer.h"

namespace tessel::workloads {

namespace {

// The emitter's thread puts chunks into the queue; next() takes them. The
// destructor cancels a producer still waiting (a simulation that stopped
// early) and joins it. A small trace is emitted whole in the constructor.
class LoweringStream final : public InstructionSource, InstructionSink {
 public:
  // Plans into `plan` (the caller's copy; the emitter reads its own).
  LoweringStream(const Workload& workload, const arch::Config& config, Lowered& plan)
      : m_lowerer(std::make_unique<Lowerer>(workload, config, m_plan,
                                            static_cast<InstructionSink&>(*this))) {
    m_lowerer->plan();
    plan = m_plan;
    std::uint64_t instructions = 0;
    for (const Mapping& m : m_plan.mappings) instructions += m.instructions;
    if (instructions <= kHeldInstructions) {
      // Small: emitted whole now, into what next() reads.
      m_held = true;
      m_current.reserve(instructions);
      m_lowerer->emit();
      m_done = true;
      return;
    }
    m_thread = std::thread([this] { produce(); });
  }
  ~LoweringStream() override {
    if (m_held) return;
    {
      std::lock_guard lock(m_mutex);
      m_cancelled = true;
    }
    m_changed.notify_all();
    m_thread.join();
  }

  const std::string& workload() const override { return m_plan.trace.workload; }
  const std::vector<std::string>& layers() const override { return m_plan.trace.layers; }

  const Instruction* next() override {
    if (m_at == m_current.size()) {
      if (m_held) return nullptr;
      std::unique_lock lock(m_mutex);
      m_changed.wait(lock, [&] { return !m_queue.empty() || m_done; });
      if (m_queue.empty()) {
        if (m_error) std::rethrow_exception(m_error);
        return nullptr;
      }
      // The reader may still hold the chunk's instructions: keep it until
      // released.
      if (!m_current.empty()) {
        m_read.emplace_back(m_first + m_current.size(), std::move(m_current));
        m_first += m_read.back().second.size();
      }
      m_current = std::move(m_queue.front());
      m_queue.pop_front();
      m_at = 0;
      lock.unlock();
      m_changed.notify_all();
    }
    return &m_current[m_at++];
  }
  void release(std::uint64_t id) override {
    while (!m_read.empty() && m_read.front().first <= id) m_read.pop_front();
  }

 private:
  struct Cancelled {};

  void put(Instruction inst) override {
    if (m_held) {
      m_current.push_back(std::move(inst));
      return;
    }
    m_filling.push_back(std::move(inst));
    if (m_filling.size() == kChunkInstructions) hand_over();
  }
  void hand_over() {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [&] { return m_queue.size() < kQueueChunks || m_cancelled; });
    if (m_cancelled) throw Cancelled{};
    m_queue.push_back(std::move(m_filling));
    m_filling.clear();
    m_filling.reserve(kChunkInstructions);
    lock.unlock();
    m_changed.notify_all();
  }
  void produce() {
    try {
      m_filling.reserve(kChunkInstructions);
      m_lowerer->emit();
      if (!m_filling.empty()) hand_over();
    } catch (const Cancelled&) {
    } catch (...) {
      std::lock_guard lock(m_mutex);
      m_error = std::current_exception();
    }
    {
      std::lock_guard lock(m_mutex);
      m_done = true;
    }
    m_changed.notify_all();
  }

  Lowered m_plan;
  std::unique_ptr<Lowerer> m_lowerer;
  std::vector<Instruction> m_filling;  // the producer's
  std::vector<Instruction> m_current;  // the consumer's
  std::size_t m_at = 0;
  std::uint64_t m_first = 0;  // the id of m_current's first instruction
  // Chunks read before m_current, with the id after each, until released.
  std::deque<std::pair<std::uint64_t, std::vector<Instruction>>> m_read;
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::deque<std::vector<Instruction>> m_queue;
  bool m_done = false, m_cancelled = false;
  bool m_held = false;  // emitted whole into m_current, no thread
  std::exception_ptr m_error;
  std::thread m_thread;
};

}  // namespace

StreamedLowering lower_stream(const Workload& workload, const arch::Config& config) {
  validate_edges(workload, workload.name);
  StreamedLowering out;
  out.instructions = std::make_unique<LoweringStream>(workload, config, out.plan);
  return out;
}

}  // namespace tessel::workloads
