// The `auto` fusion policy: the on-chip operators after a GEMM fused into
// its epilogue, residual adds included; then, on top of the last proposal,
// chains of convolutions in row stripes (stripes.h), as more candidates.
//
// A group is a GEMM-class layer G, then, each the only reader of the tensor
// before it:
//  - optionally, an operator on G's output: an activation, or a softmax or
//    norm over G's output rows (attention scores and their softmax);
//  - optionally, an elementwise add of that and an earlier tensor S of the
//    same shape (a skip connection), then a chain of activations or norms.
// Fused, each output tile of G gets these on the vector unit before its
// store (the add reading S's tile), so no tensor inside the group reaches a
// buffer of its own or DRAM.
//
// Which groups to fuse is decided by the mapping cost, in two steps:
//  - per group, with each layer mapped on its own at the whole buffers
//    (schedule.h, map_alone): the longest chain whose fused layer maps and
//    whose expected cycles are no more than those of G and the layers it
//    absorbs apart;
//  - over the network: no fusion, the proposal with the chains cut at the
//    first norm and the one with norms are the candidates, which the
//    schedule maps whole (with residency and the DMA's idle windows between
//    layers, schedule.h), keeping the lowest expected cycles, then DRAM
//    bytes (no fusion on ties).
// So fusion is never expected to be slower than the layers apart, also
// where the layers apart keep their tensors resident, or where a separate
// vector layer leaves the DMA time to prefetch the next layer's weights.

#include <numeric>
#include <optional>

#include "arch/error.h"
#include "arch/vector.h"
#include "workloads/lowering/attention.h"
#include "workloads/lowering/fusion.h"
#include "workloads/lowering/mapper.h"
#include "workloads/lowering/schedule.h"  // map_alone
#include "workloads/lowering/stripes.h"

namespace tessel::workloads {

namespace {

bool unary_elementwise(arch::VectorOp op) {
  switch (op) {
    case arch::VectorOp::kRelu:
    case arch::VectorOp::kGelu:
    case arch::VectorOp::kSilu:
    case arch::VectorOp::kSigmoid:
    case arch::VectorOp::kTanh:
    case arch::VectorOp::kExp:
    case arch::VectorOp::kErf:
    case arch::VectorOp::kSqrt:
      return true;
    default:
      return false;
  }
}

// Whether `u` works on whole rows of G's output (a softmax or a norm over
// its n), which a tile with all of n holds: a GEMM's rows, or an ungrouped
// convolution's pixels.
bool row_op(const Layer& u, const Layer& g) {
  return arch::is_row_wise(u.work.op) && u.work.row_length == g.gemm().n &&
         (g.kind == LayerKind::kGemm || g.groups == 1);
}

// The groups of `w`, row-wise operators left out unless `norms`: each
// layer's group head (`head`) and what each head becomes (`merged`), as
// merge_groups takes them. `stopped_at_norm`: some group stopped at a
// row-wise operator it could have taken with `norms`. `apart` caches each
// layer's expected cycles mapped on its own.
struct Proposal {
  std::vector<std::size_t> head;
  std::vector<Layer> merged;
  bool any = false, stopped_at_norm = false;
};

Proposal propose(const Workload& w, const arch::Config& config, const IMapper& mapper, bool norms,
                 std::vector<std::optional<std::uint64_t>>& apart) {
  const std::size_t n = w.layers.size();
  const auto readers = readers_of(w);
  const MapContext context(config);
  Proposal out{std::vector<std::size_t>(n), w.layers};
  std::iota(out.head.begin(), out.head.end(), 0);
  auto only_reader = [&](std::size_t t) -> std::optional<std::size_t> {
    if (readers[t].size() != 1) return std::nullopt;
    return readers[t][0];
  };
  auto apart_cycles = [&](std::size_t l) {
    if (!apart[l]) apart[l] = map_alone(w, l, config, mapper).estimated_cycles;
    return *apart[l];
  };
  for (std::size_t g = 0; g < n; ++g) {
    const Layer& G = w.layers[g];
    if (!G.on_array() || G.scalesim_semantics || G.residual) continue;
    const std::uint64_t elements = G.output_elements();
    // The layer that reads only tensor t, if it is an operator of one input
    // that G's epilogue can run (an activation; a row-wise one with norms).
    auto takes = [&](std::size_t t) -> std::optional<std::size_t> {
      const auto u = only_reader(t);
      if (!u) return std::nullopt;
      const Layer& U = w.layers[*u];
      if (U.kind != LayerKind::kVector || U.inputs != std::vector<std::size_t>{t} ||
          U.in_elements != elements || U.out_elements != elements || U.dtype != G.dtype)
        return std::nullopt;
      if (unary_elementwise(U.work.op)) return u;
      if (!row_op(U, G)) return std::nullopt;
      if (norms) return u;
      out.stopped_at_norm = true;
      return std::nullopt;
    };
    // An operator on G's own output becomes its `fused` epilogue.
    const std::optional<std::size_t> pre = G.fused ? std::nullopt : takes(g);
    const std::size_t t0 = pre.value_or(g);
    // Then a residual add of that and an earlier tensor of the same shape,
    // and the operators after it.
    std::optional<std::size_t> add, skip;
    if (const auto a = only_reader(t0)) {
      const Layer& A = w.layers[*a];
      const std::size_t other = A.inputs.size() == 2 && A.inputs[0] == t0 ? A.inputs[1]
                                : A.inputs.size() == 2                    ? A.inputs[0]
                                                                          : t0;
      if (A.kind == LayerKind::kVector && A.work.op == arch::VectorOp::kAdd &&
          A.inputs.size() == 2 && other != t0 && other < g && A.out_elements == elements &&
          A.in_elements == 2 * elements && A.dtype == G.dtype &&
          w.layers[other].output_elements() == elements && w.layers[other].dtype == G.dtype) {
        add = a;
        skip = other;
      }
    }
    std::vector<std::size_t> chain;
    if (add) {
      for (std::size_t t = *add;;) {
        const auto u = takes(t);
        if (!u) break;
        chain.push_back(*u);
        t = *u;
      }
    }
    // The longest group whose fused layer maps and is expected no slower
    // than its layers apart: with the add and the first `len` of the chain,
    // then the operator on G's output alone.
    auto try_fuse = [&](const Layer& f, const std::vector<std::size_t>& absorbed) {
      std::uint64_t separate = 0;
      try {
        separate = apart_cycles(g);
        for (auto l : absorbed) separate += apart_cycles(l);
        if (mapper.map(f, context).estimated_cycles > separate) return false;
      } catch (const InputError&) {
        return false;  // no tile holds the fused epilogue's whole rows
      }
      for (auto l : absorbed) out.head[l] = g;
      out.merged[g] = f;
      out.any = true;
      return true;
    };
    Layer base = G;
    std::vector<std::size_t> absorbed;
    if (pre) {
      base.fused = w.layers[*pre].work;
      absorbed.push_back(*pre);
    }
    bool done = false;
    for (std::size_t len = add ? chain.size() + 1 : 0; len-- > 0 && !done;) {
      Layer f = base;
      f.residual = Layer::Residual{*skip, {}};
      std::vector<std::size_t> with = absorbed;
      with.push_back(*add);
      for (std::size_t j = 0; j < len; ++j) {
        f.residual->after.push_back(w.layers[chain[j]].work);
        with.push_back(chain[j]);
      }
      done = try_fuse(f, with);
    }
    if (!done && pre) try_fuse(base, absorbed);
  }
  return out;
}

class EpilogueFusion : public IFusionPolicy {
 public:
  std::vector<Fused> candidates(const Workload& w, const arch::Config& config) const override {
    const auto mapper = make_mapper(config.schedule.mapper, config.source);
    std::vector<Fused> out{unfused(w)};
    std::vector<std::optional<std::uint64_t>> apart(w.layers.size());
    const Proposal elementwise = propose(w, config, *mapper, false, apart);
    if (elementwise.any) out.push_back(merge_groups(w, elementwise.head, elementwise.merged));
    if (elementwise.stopped_at_norm) {
      const Proposal with_norms = propose(w, config, *mapper, true, apart);
      if (with_norms.any && with_norms.head != elementwise.head)
        out.push_back(merge_groups(w, with_norms.head, with_norms.merged));
    }
    // Attention tiled over the KV length (attention.h), on top of the last
    // proposal's softmax epilogues.
    for (Fused& f : attention_candidates(out.back(), config, *mapper)) out.push_back(std::move(f));
    // Chains of convolutions in row stripes (stripes.h), on top of the
    // epilogues of the last proposal, unless stripes are requested
    // (schedule.stripe_rows, which the schedule applies to every candidate).
    if (config.schedule.stripe_rows == 0) {
      const Fused last = out.back();
      for (Fused& f : stripe_candidates(last, config)) out.push_back(std::move(f));
    }
    return out;
  }
};

}  // namespace

TESSEL_REGISTER_FUSION(
    "auto",
    "the on-chip operators after a GEMM (an activation, softmax or norm on its "
    "output; a residual add and what follows it) fused into its epilogue when "
    "the mapping cost says it is no slower; chains of convolutions whose feature "
    "maps cannot stay on chip in row stripes when it says they are faster",
    EpilogueFusion);

}  // namespace tessel::workloads
