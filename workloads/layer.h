#pragma once
// Layer IR: a convolution (standard, grouped, depthwise) or a GEMM, with the
// GEMM view the MAC array executes. Models no timing.

#include <cstdint>
#include <string>
#include <vector>

#include "arch/systolic.h"

namespace tessel::workloads {

enum class LayerKind { kConv2d, kGemm };

struct Layer {
  std::string name;
  LayerKind kind = LayerKind::kGemm;

  // kGemm: out[m][n] = sum_k in[m][k] * w[k][n], `batch` independent GEMMs.
  std::uint64_t m = 0, n = 0, k = 0;

  // kConv2d (NHWC), output size resolved by the importer.
  std::uint64_t batch = 1;
  std::uint64_t in_h = 0, in_w = 0, in_c = 0, out_c = 0;
  std::uint64_t kernel_h = 1, kernel_w = 1;
  std::uint64_t stride_h = 1, stride_w = 1;
  std::uint64_t pad_h = 0, pad_w = 0;
  std::uint64_t dilation_h = 1, dilation_w = 1;
  std::uint64_t groups = 1;
  std::uint64_t out_h = 0, out_w = 0;

  // Imported from SCALE-Sim: when a tile must split the temporal extent,
  // the fold keeps streaming (compute cycles as SCALE-Sim counts them).
  bool scalesim_semantics = false;

  // The GEMM the array runs: M = batch*out_h*out_w, K = in_c/groups*kh*kw,
  // N = out_c/groups, repeated `groups` times.
  arch::GemmShape gemm() const;
  std::uint64_t macs() const { return gemm().macs(); }
  // Distinct input elements a tile of `tm` GEMM rows and `tk` of the
  // reduction needs (convolution windows overlap, so this is below tm*tk;
  // K is ordered channel-major, kernel positions innermost). Per group.
  std::uint64_t input_tile_elements(std::uint64_t tm, std::uint64_t tk) const;
};

// Output size as PyTorch computes it (floor, with padding and dilation).
std::uint64_t conv_output_size(std::uint64_t in, std::uint64_t kernel, std::uint64_t stride,
                               std::uint64_t pad, std::uint64_t dilation);

struct Workload {
  std::string name;
  std::vector<Layer> layers;
  std::uint64_t macs() const;
};

}  // namespace tessel::workloads
