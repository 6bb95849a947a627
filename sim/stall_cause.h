#pragma once
// Why the MAC array was not computing.

#include <array>
#include <cstdint>
#include <string>

namespace tessel::sim {

// kDispatch: waiting for the controller to issue an instruction.
enum class Cause : std::uint8_t { kDram, kSram, kDma, kVector, kDispatch, kDependency };
inline constexpr std::array<Cause, 6> kAllCauses = {
    Cause::kDram, Cause::kSram, Cause::kDma, Cause::kVector, Cause::kDispatch, Cause::kDependency};
inline constexpr std::size_t kCauseCount = kAllCauses.size();

inline std::string to_string(Cause c) {
  switch (c) {
    case Cause::kDram:
      return "dram";
    case Cause::kSram:
      return "sram";
    case Cause::kDma:
      return "dma";
    case Cause::kVector:
      return "vector";
    case Cause::kDispatch:
      return "dispatch";
    case Cause::kDependency:
      return "dependency";
  }
  return "?";
}

}  // namespace tessel::sim
