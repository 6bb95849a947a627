#pragma once
// The message of the InputError a call throws, for tests of error texts.

#include <string>

#include "arch/error.h"

namespace tessel::testing {

// What `f` throws as an InputError, or "no error".
template <typename F>
std::string input_error_of(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace tessel::testing
