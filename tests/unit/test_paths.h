#pragma once
#include <string>

namespace tessel::testing {
// Absolute path of a file in the source tree (TESSEL_SOURCE_DIR is set by CMake).
inline std::string source_path(const std::string& relative) {
  return std::string(TESSEL_SOURCE_DIR) + "/" + relative;
}
}  // namespace tessel::testing
