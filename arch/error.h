#pragma once
// The one error type for bad user input (configs, workloads, traces, flags).
// The message already names the file and the JSON path or line; the CLI prints
// it on one line and exits non-zero.

#include <stdexcept>
#include <string>

namespace tessel {

class InputError : public std::runtime_error {
 public:
  explicit InputError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace tessel
