// The `auto` fusion policy: residual adds fused into the GEMM that produces
// one of their inputs, with the activations and norms that follow.
//
// A group is a GEMM-class layer G whose only reader is an elementwise add A
// of G's output and an earlier tensor S of the same shape (a skip
// connection), then the chain of layers that each read only the one before
// (activations, or a norm over G's output rows), as long as each is that
// tensor's only reader. Fused, each output tile of G gets the add (reading
// S's tile) and the chain on the vector unit before its store, so neither
// G's output nor the add's reaches a buffer of its own or DRAM.
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
#include "workloads/lowering/fusion.h"
#include "workloads/lowering/mapper.h"
#include "workloads/lowering/schedule.h"  // map_alone

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

// Whether `u` is a norm over whole output rows of G (ungrouped).
bool row_norm(const Layer& u, const Layer& g) {
  const bool norm =
      u.work.op == arch::VectorOp::kLayerNorm || u.work.op == arch::VectorOp::kRmsNorm;
  return norm && g.gemm().batch == 1 && u.work.row_length == g.gemm().n;
}

// The groups of `w`, the chain after each add restricted to elementwise
// operators unless `norms`: each layer's group head (`head`) and what each
// head becomes (`merged`), as merge_groups takes them.
// `stopped_at_norm`: some chain ended at a norm it could have taken with
// `norms`. `apart` caches each layer's expected cycles mapped on its own.
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
    const auto a = only_reader(g);
    if (!a) continue;
    const Layer& A = w.layers[*a];
    if (A.kind != LayerKind::kVector || A.work.op != arch::VectorOp::kAdd || A.inputs.size() != 2 ||
        A.out_elements != elements || A.in_elements != 2 * elements || A.dtype != G.dtype)
      continue;
    const std::size_t skip = A.inputs[0] == g ? A.inputs[1] : A.inputs[0];
    if (skip >= g || w.layers[skip].output_elements() != elements ||
        w.layers[skip].dtype != G.dtype)
      continue;
    std::vector<std::size_t> chain;
    for (std::size_t t = *a;;) {
      const auto u = only_reader(t);
      if (!u) break;
      const Layer& U = w.layers[*u];
      if (U.kind != LayerKind::kVector || U.inputs != std::vector<std::size_t>{t} ||
          U.in_elements != elements || U.out_elements != elements || U.dtype != G.dtype ||
          !(unary_elementwise(U.work.op) || (norms && row_norm(U, G)))) {
        out.stopped_at_norm =
            out.stopped_at_norm || (U.kind == LayerKind::kVector && row_norm(U, G));
        break;
      }
      chain.push_back(*u);
      t = *u;
    }
    std::uint64_t alone = 0;
    try {
      alone = apart_cycles(g) + apart_cycles(*a);
    } catch (const InputError&) {
      continue;  // the schedule reports a layer that maps on its own nowhere
    }
    for (std::size_t len = chain.size() + 1; len-- > 0;) {
      Layer f = G;
      f.residual = Layer::Residual{skip, {}};
      std::uint64_t apart = alone;
      for (std::size_t j = 0; j < len; ++j) {
        f.residual->after.push_back(w.layers[chain[j]].work);
        apart += apart_cycles(chain[j]);
      }
      try {
        if (mapper.map(f, context).estimated_cycles > apart) continue;
      } catch (const InputError&) {
        continue;  // no tile holds the fused epilogue's whole rows
      }
      out.head[*a] = g;
      for (std::size_t j = 0; j < len; ++j) out.head[chain[j]] = g;
      out.merged[g] = std::move(f);
      out.any = true;
      break;
    }
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
    return out;
  }
};

}  // namespace

TESSEL_REGISTER_FUSION("auto",
                       "residual adds, with the activations and norms after them, fused into "
                       "the GEMM before them when the mapping cost says it is no slower",
                       EpilogueFusion);

}  // namespace tessel::workloads
