#pragma once
// Why the MAC array was not computing.

#include <array>
#include <string>

namespace tessel::sim {

enum class Cause { kDram, kSram, kDma, kDependency };
inline constexpr std::array<Cause, 4> kAllCauses = {Cause::kDram, Cause::kSram, Cause::kDma,
                                                    Cause::kDependency};

inline std::string to_string(Cause c) {
  switch (c) {
    case Cause::kDram:
      return "dram";
    case Cause::kSram:
      return "sram";
    case Cause::kDma:
      return "dma";
    case Cause::kDependency:
      return "dependency";
  }
  return "?";
}

}  // namespace tessel::sim
