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
// early) and joins it.
class LoweringStream final : public InstructionSource, InstructionSink {
 public:
  // Plans into `plan` (the caller's copy; the emitter reads its own).
  LoweringStream(const Workload& workload, const arch::Config& config, Lowered& plan)
      : m_lowerer(std::make_unique<Lowerer>(workload, config, m_plan,
                                            static_cast<InstructionSink&>(*this))) {
    m_lowerer->plan();
    plan = m_plan;
    m_thread = std::thread([this] { produce(); });
  }
  ~LoweringStream() override {
    {
      std::lock_guard lock(m_mutex);
      m_cancelled = true;
    }
    m_changed.notify_all();
    m_thread.join();
  }

  const std::string& workload() const override { return m_plan.trace.workload; }
  const std::vector<std::string>& layers() const override { return m_plan.trace.layers; }

  bool next(Instruction& out) override {
    if (m_at == m_current.size()) {
      std::unique_lock lock(m_mutex);
      m_changed.wait(lock, [&] { return !m_queue.empty() || m_done; });
      if (m_queue.empty()) {
        if (m_error) std::rethrow_exception(m_error);
        return false;
      }
      m_current = std::move(m_queue.front());
      m_queue.pop_front();
      m_at = 0;
      lock.unlock();
      m_changed.notify_all();
    }
    out = std::move(m_current[m_at++]);
    return true;
  }

 private:
  struct Cancelled {};

  void put(Instruction inst) override {
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
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::deque<std::vector<Instruction>> m_queue;
  bool m_done = false, m_cancelled = false;
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
