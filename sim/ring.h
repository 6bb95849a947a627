#pragma once
// A queue indexed by an absolute position (an instruction id): it holds
// positions [front(), front() + size()) in a power-of-two ring that grows by
// doubling and reuses its slots, so a window sliding over millions of
// instructions allocates only as it widens.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace tessel::sim {

template <typename T>
class Ring {
 public:
  std::uint64_t front() const { return m_front; }
  std::size_t size() const { return m_size; }
  bool empty() const { return m_size == 0; }
  bool holds(std::uint64_t at) const { return at >= m_front && at < m_front + m_size; }
  T& operator[](std::uint64_t at) { return m_slots[at & m_mask]; }
  const T& operator[](std::uint64_t at) const { return m_slots[at & m_mask]; }

  // Appends a default T at position front() + size().
  T& push_back() {
    if (m_size == m_slots.size()) grow();
    T& slot = m_slots[(m_front + m_size) & m_mask];
    slot = T{};
    ++m_size;
    return slot;
  }
  void pop_front() {
    ++m_front;
    --m_size;
  }

 private:
  void grow() {
    std::vector<T> slots(m_slots.empty() ? 16 : 2 * m_slots.size());
    const std::uint64_t mask = slots.size() - 1;
    for (std::uint64_t at = m_front; at < m_front + m_size; ++at)
      slots[at & mask] = std::move(m_slots[at & m_mask]);
    m_slots = std::move(slots);
    m_mask = mask;
  }

  std::vector<T> m_slots;
  std::uint64_t m_mask = 0;
  std::uint64_t m_front = 0;
  std::size_t m_size = 0;
};

}  // namespace tessel::sim
