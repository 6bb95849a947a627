#pragma once
// Closed-form timing and traffic of a GEMM on an R x C systolic array, the
// stall-free model SCALE-Sim uses (without its last-index off-by-one):
//   os: spatial (M, N), temporal K, a fold costs T + R + C - 2 cycles
//   ws: spatial (K, N), temporal M, a fold costs 2R + C + T - 2 cycles
//   is: spatial (K, M), temporal N, a fold costs 2R + C + T - 2 cycles
// A partial fold costs as much as a full one (the array is fed padded edges).
// With WeightPreload::kOverlapped (ws, is) the next fold's stationary tile
// shifts in (R cycles) while the current fold streams, so F folds of one
// GEMM cost R + (F - 1) x max(T, R) + T + R + C - 2: the first shift-in, one
// fold start every max(T, R) cycles, and the last fold's stream and drain.
// One fold costs what it costs serially.
// tests/unit/systolic_reference_test.cpp proves these against a PE-level,
// cycle-stepped model.

#include <cstdint>

#include "arch/config.h"
#include "arch/units.h"

namespace tessel::arch {

// `batch` independent GEMMs of m x n x k (groups of a grouped convolution).
struct GemmShape {
  std::uint64_t m = 0;
  std::uint64_t n = 0;
  std::uint64_t k = 0;
  std::uint64_t batch = 1;
  std::uint64_t macs() const { return m * n * k * batch; }
};

struct FoldMapping {
  std::uint64_t spatial_rows = 0;  // extent mapped onto array rows
  std::uint64_t spatial_cols = 0;  // extent mapped onto array columns
  std::uint64_t temporal = 0;      // extent streamed in time
  std::uint64_t row_folds = 0;
  std::uint64_t col_folds = 0;
  std::uint64_t folds() const { return row_folds * col_folds; }
};

FoldMapping map_gemm(Dataflow dataflow, std::uint32_t rows, std::uint32_t cols, const GemmShape& g);

// Fill + drain cycles a fold pays on top of its temporal extent.
Cycles fold_overhead(Dataflow dataflow, std::uint32_t rows, std::uint32_t cols);

// Compute cycles of the whole GEMM: batch x folds x (T + overhead). With
// `fold_overhead` false the GEMM continues folds already on the array (a
// temporal chunk that is not the last one of its fold) and pays only
// batch x folds x T; the fold's last chunk pays the fill and drain.
//
// At a MAC rate other than 1 (ArrayConfig::rates): `pack` MACs per PE per
// cycle pack the reduction (K becomes ceil(K / pack), on the array rows for
// ws/is, in time for os); `cycles_per_mac` stretches the temporal extent.
Cycles gemm_cycles(Dataflow dataflow, std::uint32_t rows, std::uint32_t cols, const GemmShape& g,
                   bool fold_overhead = true, MacRate rate = {},
                   WeightPreload preload = WeightPreload::kSerial);
// The same on `array`: its dataflow, size and weight preload.
Cycles gemm_cycles(const ArrayConfig& array, const GemmShape& g, bool fold_overhead = true,
                   MacRate rate = {});

// The shape the array sees at `rate`: K packed.
GemmShape packed(const GemmShape& g, MacRate rate);

// Mean over folds of used PEs / (R * C).
double mapping_efficiency(Dataflow dataflow, std::uint32_t rows, std::uint32_t cols,
                          const GemmShape& g);  // pass packed(g, rate) at rates > 1

// Operand elements the array reads from / writes to its buffers: the
// stationary operand once, each streamed operand once per fold of the other
// spatial dimension, outputs (partial sums) once per fold of the reduction.
struct ArrayTraffic {
  std::uint64_t input_elements = 0;
  std::uint64_t weight_elements = 0;
  std::uint64_t output_elements = 0;
};
ArrayTraffic array_traffic(Dataflow dataflow, std::uint32_t rows, std::uint32_t cols,
                           const GemmShape& g);

}  // namespace tessel::arch
