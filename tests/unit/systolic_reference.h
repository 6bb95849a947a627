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

// The same GEMMs (groups) on a ws or is array whose PEs double-buffer the
// stationary operand: each PE has a shift register, through which the next
// fold's tile shifts down its column (one step per cycle, column j skewed by
// j cycles like the data, filling from the top so a row is first disturbed
// at its own step), and an active register, which copies the shift register
// when the next fold's first operand reaches the PE. A fold's tile starts
// shifting once the previous one has shifted in and the previous fold has
// started streaming; a fold streams once its tile is in and the previous
// fold has fed its last operand. `early_shift_cycles` starts every shift
// that many cycles sooner than allowed, which must corrupt the product.
ReferenceRun run_reference_overlapped(arch::Dataflow dataflow, int rows, int cols,
                                      const std::vector<std::pair<Matrix, Matrix>>& groups,
                                      int early_shift_cycles = 0);

}  // namespace tessel::testing
