#pragma once
// An independent, PE-level, cycle-stepped model of an R x C systolic array,
// used only to prove arch/systolic.h. Every PE has registers; operands and
// partial sums move one PE per cycle; the cycle count is whatever the data
// movement takes. It computes the actual product, so a wrong schedule shows
// up as a wrong result as well as a wrong count.

#include <cstdint>
#include <vector>

#include "arch/config.h"

namespace tessel::testing {

using Matrix = std::vector<std::vector<std::int64_t>>;

struct ReferenceRun {
  std::uint64_t cycles = 0;  // summed over folds, run back to back
  Matrix result;             // M x N
};

// C = A (M x K) * B (K x N) on an R x C array with the given dataflow. Folds
// run one after another; unused PEs of a partial fold see zero padding.
ReferenceRun run_reference(arch::Dataflow dataflow, int rows, int cols, const Matrix& a,
                           const Matrix& b);

}  // namespace tessel::testing
