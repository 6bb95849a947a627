#include "workloads/layer.h"

#include <algorithm>

namespace tessel::workloads {

std::uint64_t conv_output_size(std::uint64_t in, std::uint64_t kernel, std::uint64_t stride,
                               std::uint64_t pad, std::uint64_t dilation) {
  const std::uint64_t span = dilation * (kernel - 1) + 1;
  if (in + 2 * pad < span) return 0;
  return (in + 2 * pad - span) / stride + 1;
}

arch::GemmShape Layer::gemm() const {
  if (kind == LayerKind::kGemm) return {m, n, k, batch};
  return {batch * out_h * out_w, out_c / groups, in_c / groups * kernel_h * kernel_w, groups};
}

std::uint64_t Layer::input_tile_elements(std::uint64_t tm, std::uint64_t tk) const {
  if (kind == LayerKind::kGemm) return tm * tk;
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

}  // namespace tessel::workloads
