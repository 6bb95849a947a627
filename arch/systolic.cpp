#include "arch/systolic.h"

namespace tessel::arch {

FoldMapping map_gemm(Dataflow dataflow, std::uint32_t rows, std::uint32_t cols,
                     const GemmShape& g) {
  FoldMapping f;
  switch (dataflow) {
    case Dataflow::kOutputStationary:
      f.spatial_rows = g.m;
      f.spatial_cols = g.n;
      f.temporal = g.k;
      break;
    case Dataflow::kWeightStationary:
      f.spatial_rows = g.k;
      f.spatial_cols = g.n;
      f.temporal = g.m;
      break;
    case Dataflow::kInputStationary:
      f.spatial_rows = g.k;
      f.spatial_cols = g.m;
      f.temporal = g.n;
      break;
  }
  f.row_folds = ceil_div(f.spatial_rows, rows);
  f.col_folds = ceil_div(f.spatial_cols, cols);
  return f;
}

Cycles fold_overhead(Dataflow dataflow, std::uint32_t rows, std::uint32_t cols) {
  if (dataflow == Dataflow::kOutputStationary) return Cycles(std::uint64_t{rows} + cols - 2);
  return Cycles(2 * std::uint64_t{rows} + cols - 2);
}

GemmShape packed(const GemmShape& g, MacRate rate) {
  GemmShape p = g;
  p.k = ceil_div(g.k, rate.pack);
  return p;
}

Cycles gemm_cycles(Dataflow dataflow, std::uint32_t rows, std::uint32_t cols, const GemmShape& g,
                   bool with_overhead, MacRate rate) {
  if (g.macs() == 0) return Cycles(0);
  const FoldMapping f = map_gemm(dataflow, rows, cols, packed(g, rate));
  const Cycles overhead = with_overhead ? fold_overhead(dataflow, rows, cols) : Cycles(0);
  return (Cycles(f.temporal * rate.cycles_per_mac) + overhead) * (f.folds() * g.batch);
}

double mapping_efficiency(Dataflow dataflow, std::uint32_t rows, std::uint32_t cols,
                          const GemmShape& g) {
  const FoldMapping f = map_gemm(dataflow, rows, cols, g);
  if (f.folds() == 0) return 0.0;
  // Sum over folds of used rows x used cols = spatial_rows x spatial_cols.
  return static_cast<double>(f.spatial_rows * f.spatial_cols) /
         (static_cast<double>(f.folds()) * rows * cols);
}

ArrayTraffic array_traffic(Dataflow dataflow, std::uint32_t rows, std::uint32_t cols,
                           const GemmShape& g) {
  const FoldMapping f = map_gemm(dataflow, rows, cols, g);
  ArrayTraffic t;
  const std::uint64_t in = g.m * g.k * g.batch;
  const std::uint64_t w = g.k * g.n * g.batch;
  const std::uint64_t out = g.m * g.n * g.batch;
  switch (dataflow) {
    case Dataflow::kOutputStationary:
      t = {in * f.col_folds, w * f.row_folds, out};
      break;
    case Dataflow::kWeightStationary:
      t = {in * f.col_folds, w, out * f.row_folds};
      break;
    case Dataflow::kInputStationary:
      t = {in, w * f.col_folds, out * f.row_folds};
      break;
  }
  return t;
}

}  // namespace tessel::arch
