#pragma once
// Strong integer types for the quantities every stage passes around.

#include <compare>
#include <cstdint>

namespace tessel {

// A count of accelerator clock cycles. Arithmetic is closed over Cycles so
// that a byte count can never be added to a cycle count by accident.
class Cycles {
 public:
  constexpr Cycles() = default;
  constexpr explicit Cycles(std::uint64_t count) : m_count(count) {}
  constexpr std::uint64_t count() const { return m_count; }

  constexpr Cycles& operator+=(Cycles other) {
    m_count += other.m_count;
    return *this;
  }
  friend constexpr Cycles operator+(Cycles a, Cycles b) { return Cycles(a.m_count + b.m_count); }
  // Saturating: a - b is zero when b is later than a.
  friend constexpr Cycles operator-(Cycles a, Cycles b) {
    return Cycles(a.m_count > b.m_count ? a.m_count - b.m_count : 0);
  }
  friend constexpr Cycles operator*(Cycles a, std::uint64_t n) { return Cycles(a.m_count * n); }
  friend constexpr auto operator<=>(Cycles, Cycles) = default;

 private:
  std::uint64_t m_count = 0;
};

constexpr Cycles max(Cycles a, Cycles b) {
  return a < b ? b : a;
}

constexpr std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return (a + b - 1) / b;
}

// A transfer rate held exactly as bytes per 1000 cycles, so that fractional
// bandwidths (12.8 GB/s at 1 GHz = 12.8 B/cycle) need no floating point in
// the timing path.
class Rate {
 public:
  constexpr Rate() = default;
  static constexpr Rate bytes_per_kilocycle(std::uint64_t value) { return Rate(value); }
  static constexpr Rate bytes_per_cycle(std::uint64_t value) { return Rate(value * 1000); }
  constexpr std::uint64_t millibytes_per_cycle() const { return m_millibytes_per_cycle; }
  constexpr double bytes_per_cycle_real() const { return m_millibytes_per_cycle / 1000.0; }
  // Cycles to move `bytes` at this rate, rounded up; zero bytes take zero cycles.
  constexpr Cycles time_for(std::uint64_t bytes) const {
    return Cycles(ceil_div(bytes * 1000, m_millibytes_per_cycle));
  }

 private:
  constexpr explicit Rate(std::uint64_t millibytes) : m_millibytes_per_cycle(millibytes) {}
  std::uint64_t m_millibytes_per_cycle = 1000;
};

}  // namespace tessel
