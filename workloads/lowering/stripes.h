#pragma once
// Stripe fusion: a chain of convolutions run depth-first in bands of output
// rows (stripes), so that the feature maps inside the chain never leave the
// chip. Stripe by stripe, each member computes the rows its successor's
// windows need, from the rows of its own input they need in turn: halos are
// recomputed by the stripe that needs them, not kept from the stripe before
// (so stripes are independent, and the cost of a stripe is the cost of its
// rows). The chain's first member reads its rows of the chain's input (the
// rows two stripes share are read twice), the last writes its rows of the
// chain's output, and the tensors between members are one stripe each,
// which the residency allocator (residency.h) keeps on chip when they fit.
//
// A striped chain becomes ordinary layers, one per member per stripe
// (Layer::input_row0, Layer::output_slice), mapped and lowered like any
// other: each stripe's weights are its member's (Layer::weights_of), so with
// schedule.weights_resident they load once for all stripes when they fit.

#include <cstdint>
#include <vector>

#include "arch/config.h"
#include "workloads/layer.h"
#include "workloads/lowering/fusion.h"

namespace tessel::workloads {

// What one member of a striped chain works on in one stripe: output rows
// [out0, out1) of its own output, from input rows [in0, in1) of its input
// (the window's rows inside the tensor; the rest is padding).
struct StripeRows {
  std::uint64_t out0 = 0, out1 = 0, in0 = 0, in1 = 0;
};

// A chain of convolutions (indices into a workload, each reading only the
// one before, or also a skip: stripe_candidates),
// striped into bands of
// `rows` output rows of its last member (the last band may be shorter);
// with a batch, a band is the same rows of every image (its DRAM address
// is the first image's: addresses are not yet laid out per image).
struct StripedChain {
  std::vector<std::size_t> chain;
  std::uint64_t rows = 0;
};

// Per stripe, per member: the rows it computes and reads. Throws
// std::logic_error when `striped` is not a chain of convolutions of `w`.
std::vector<std::vector<StripeRows>> stripe_rows(const Workload& w, const StripedChain& striped);

// `base` with each chain striped: each chain's layers are replaced, at the
// position of its last member, by one layer per member per stripe, stripe
// by stripe, named "<member>@r<out0>-<out1>"; readers of the chain's output
// read its last stripe. Chains must not share layers.
Fused stripe_chains(const Fused& base, const std::vector<StripedChain>& chains);

// The striped workloads the `auto` fusion policy proposes on top of `base`
// (none when no chain is expected faster striped). The candidate chains:
// maximal runs of convolutions, each reading only the one before (a
// member's tensor may also be read by a later member's fused residual add
// on the same rows: an identity block's skip, read from the member's
// stripe), where each tensor between two members cannot stay on chip while
// it is computed (with its member's input it exceeds half the resident
// buffer, residency.h); none without a resident buffer. Per chain, of
// the power-of-two stripe heights whose tensors live at once between
// members fit half the resident buffer, the one with the lowest expected
// cycles, each stripe layer mapped on its own with those tensors resident
// in that half; a chain is striped when that is below its members'
// expected cycles mapped apart (schedule.h, map_alone), and a chain through
// residual blocks whole or as the chains without skips inside it (its
// blocks), whichever is expected faster. Proposed: those choices, and the
// blocks alone when they differ.
std::vector<Fused> stripe_candidates(const Fused& base, const arch::Config& config);

// `candidate` with the stripes `schedule.stripe_rows` requests: every chain
// of convolutions (each the only reader of the one before, whether or not
// its tensors could stay on chip) in stripes of that many output rows of
// its last member (all of them when it has fewer). Throws InputError naming
// arch.schedule.stripe_rows when the config has no resident buffer, the
// workload no chain, or a stripe's tensors between members exceed the
// resident buffer (naming the chain's first layer, the buffer, the bytes
// needed and available).
Fused requested_stripes(const Fused& candidate, const arch::Config& config);

}  // namespace tessel::workloads
