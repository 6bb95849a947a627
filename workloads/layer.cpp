#include "workloads/layer.h"

#include <algorithm>

#include <fmt/format.h>

#include "arch/error.h"

namespace tessel::workloads {

std::uint64_t conv_output_size(std::uint64_t in, std::uint64_t kernel, std::uint64_t stride,
                               std::uint64_t pad, std::uint64_t dilation) {
  const std::uint64_t span = dilation * (kernel - 1) + 1;
  if (in + 2 * pad < span) return 0;
  return (in + 2 * pad - span) / stride + 1;
}

arch::GemmShape Layer::gemm() const {
  if (kind == LayerKind::kGemm) return {m, n, k, batch};
  if (kind == LayerKind::kConv2d) {
    return {batch * out_h * out_w, out_c / groups, in_c / groups * kernel_h * kernel_w, groups};
  }
  return {0, 0, 0, 0};
}

std::uint64_t Layer::params() const {
  if (weights_of) return 0;  // counted at the layer that owns them
  std::uint64_t p = extra_params;
  switch (kind) {
    case LayerKind::kConv2d:
    case LayerKind::kGemm:
      if (second == OperandSource::kParameters) p += weight_elements();
      if (bias) p += gemm().n * gemm().batch;
      break;
    case LayerKind::kVector:
      break;
    case LayerKind::kEmbedding:
      p += vocab * dim;
      break;
    case LayerKind::kDataMove:
      break;
  }
  return p;
}

std::uint64_t Layer::output_elements() const {
  switch (kind) {
    case LayerKind::kConv2d:
    case LayerKind::kGemm:
      return gemm().m * (attention ? attention->cols : gemm().n) * gemm().batch;
    case LayerKind::kVector:
      return out_elements;
    case LayerKind::kDataMove:
      return elements;
    case LayerKind::kEmbedding:
      return tokens * dim;
  }
  return 0;
}

std::vector<std::size_t> Layer::producers() const {
  std::vector<std::size_t> out = inputs;
  if (on_array() && second == OperandSource::kProducer) out.push_back(second_producer);
  if (attention && attention->value == OperandSource::kProducer)
    out.push_back(attention->value_producer);
  if (residual) out.push_back(residual->producer);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::uint64_t Layer::input_tile_elements(std::uint64_t tm, std::uint64_t tk) const {
  if (kind != LayerKind::kConv2d) return tm * tk;
  const std::uint64_t window = kernel_h * kernel_w;
  // Output rows the tile touches (a partial row can straddle two).
  std::uint64_t out_rows = (tm + out_w - 1) / out_w + (tm % out_w != 0 ? 1 : 0);
  out_rows = std::min(out_rows, batch * out_h);
  const std::uint64_t halo = dilation_h * (kernel_h - 1) + 1;
  std::uint64_t rows = (out_rows - 1) * stride_h + halo;
  rows = std::min(rows, batch * in_h);
  const std::uint64_t channels = std::max<std::uint64_t>(1, (tk + window - 1) / window);
  return std::min(tm * tk, rows * in_w * channels);
}

std::uint64_t Workload::macs() const {
  std::uint64_t total = 0;
  for (const auto& l : layers) total += l.macs();
  return total;
}

std::uint64_t Workload::params() const {
  std::uint64_t total = 0;
  for (const auto& l : layers) total += l.params();
  return total;
}

std::vector<arch::VectorWork> Layer::epilogue(std::uint64_t rows, std::uint64_t row_length) const {
  std::vector<arch::VectorWork> out;
  auto add = [&](arch::VectorWork w) {
    w.rows = rows;
    w.row_length = row_length;
    out.push_back(w);
  };
  if (fused) add(*fused);
  if (residual) {
    add(arch::VectorWork{arch::VectorOp::kAdd});
    for (const auto& w : residual->after) add(w);
  }
  return out;
}

bool Layer::row_wise_epilogue() const {
  auto row_wise = [](const arch::VectorWork& w) { return arch::is_row_wise(w.op); };
  if (fused && row_wise(*fused)) return true;
  return residual && std::any_of(residual->after.begin(), residual->after.end(), row_wise);
}

void validate_edges(const Workload& workload, const std::string& source) {
  for (std::size_t i = 0; i < workload.layers.size(); ++i) {
    const Layer& l = workload.layers[i];
    auto fail = [&](const std::string& what) {
      throw InputError(fmt::format("{}: layer {} (\"{}\"): {}", source, i, l.name, what));
    };
    for (auto p : l.inputs) {
      if (p >= i) fail(fmt::format("input {} is not an earlier layer", p));
    }
    if (l.second == OperandSource::kProducer && l.second_producer >= i) {
      fail(fmt::format("second operand {} is not an earlier layer", l.second_producer));
    }
    if (l.attention &&
        (l.kind != LayerKind::kGemm || l.residual || l.fused ||
         (l.attention->value == OperandSource::kProducer && l.attention->value_producer >= i))) {
      fail("attention is not a plain GEMM whose values come from an earlier layer");
    }
    if (l.residual && (!l.on_array() || l.residual->producer >= i)) {
      fail(fmt::format("residual {} is not an earlier layer", l.residual->producer));
    }
    if (l.output_slice) {
      const auto& sl = *l.output_slice;
      const Layer* owner = sl.tensor <= i ? &workload.layers[sl.tensor] : nullptr;
      if (l.kind != LayerKind::kConv2d || !owner || !owner->output_slice ||
          owner->output_slice->tensor != sl.tensor || owner->output_slice->rows != sl.rows ||
          owner->output_row_elements() != l.output_row_elements() || sl.row0 + l.out_h > sl.rows)
        fail(fmt::format("output_slice of tensor {} is not rows of a stripe tensor it owns",
                         sl.tensor));
    }
    if (l.weights_of) {
      const std::size_t o = *l.weights_of;
      const Layer* owner = o < i ? &workload.layers[o] : nullptr;
      if (!owner || owner->weights_of || owner->kind != l.kind ||
          (l.kind != LayerKind::kEmbedding && !l.on_array()) ||
          owner->weight_elements() != l.weight_elements() ||
          owner->vocab * owner->dim != l.vocab * l.dim)
        fail(fmt::format("weights_of {} is not an earlier layer owning parameters of this shape",
                         o));
    }
  }
}

Workload repeat_frames(const Workload& workload, std::uint64_t frames) {
  if (frames <= 1) return workload;
  Workload out;
  out.name = workload.name;
  out.skipped = workload.skipped;
  const std::size_t n = workload.layers.size();
  for (std::uint64_t f = 0; f < frames; ++f) {
    for (std::size_t i = 0; i < n; ++i) {
      Layer l = workload.layers[i];
      l.name = fmt::format("f{}.{}", f, l.name);
      for (auto& p : l.inputs) p += f * n;
      if (l.on_array() && l.second == OperandSource::kProducer) l.second_producer += f * n;
      if (l.residual) l.residual->producer += f * n;
      if (l.attention && l.attention->value == OperandSource::kProducer)
        l.attention->value_producer += f * n;
      const bool owns = (l.on_array() && l.second == OperandSource::kParameters) ||
                        l.kind == LayerKind::kEmbedding;
      if (f > 0 && owns) l.weights_of = i;
      if (f > 0) l.extra_params = 0;  // norm gains and the like are frame 0's too
      out.layers.push_back(std::move(l));
    }
  }
  return out;
}

}  // namespace tessel::workloads
