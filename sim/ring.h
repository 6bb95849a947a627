#pragma once
// A queue indexed by an absolute position (an instruction id): it holds
// positions [front(), front() + size()) in blocks of kBlock slots, allocated
// as the queue widens and reused as it slides, so a window over millions of
// instructions allocates only as it widens, and never moves an element.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

namespace tessel::sim {

template <typename T>
class Ring {
 public:
  static constexpr std::uint64_t kBlock = 4096;

  std::uint64_t front() const { return m_front; }
  std::size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  bool holds(std::uint64_t at) const { return at >= m_front && at < m_front + m_size; }
  T& operator[](std::uint64_t at) { return m_blocks[at / kBlock - m_first_block][at % kBlock]; }
  const T& operator[](std::uint64_t at) const {
    return m_blocks[at / kBlock - m_first_block][at % kBlock];
  }

  // Appends a default T at position front() + size().
  T& push_back() {
    const std::uint64_t at = m_front + m_size;
    if (at / kBlock - m_first_block == m_blocks.size()) {
      if (m_spare.empty()) {
        m_blocks.push_back(std::make_unique<T[]>(kBlock));
      } else {
        m_blocks.push_back(std::move(m_spare.back()));
        m_spare.pop_back();
      }
    }
    T& slot = (*this)[at];
    slot = T{};
    ++m_size;
    return slot;
  }
  void pop_front() {
    ++m_front;
    --m_size;
    if (m_front / kBlock > m_first_block) {
      if (m_spare.size() < 2) m_spare.push_back(std::move(m_blocks.front()));
      m_blocks.pop_front();
      ++m_first_block;
    }
  }

 private:
  // Block i holds positions (m_first_block + i) * kBlock on.
  std::deque<std::unique_ptr<T[]>> m_blocks;
  std::vector<std::unique_ptr<T[]>> m_spare;
  std::uint64_t m_first_block = 0;
  std::uint64_t m_front = 0;
  std::size_t m_size = 0;
};

}  // namespace tessel::sim
