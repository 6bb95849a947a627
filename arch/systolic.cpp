#include "arch/systolic.h"

namespace tessel::arch {

namespace {

std::uint64_t dim_of(const GemmShape& g, char dim) {
  return dim == 'm' ? g.m : dim == 'n' ? g.n : g.k;
}

}  // namespace

FoldMapping map_gemm(Dataflow dataflow, std::uint32_t rows, std::uint32_t cols,
                     const GemmShape& g) {
  const DataflowRow& d = dataflow_row(dataflow);
  FoldMapping f;
  f.spatial_rows = dim_of(g, d.rows_dim);
  f.spatial_cols = dim_of(g, d.cols_dim);
  f.temporal = dim_of(g, d.temporal_dim);
  f.row_folds = ceil_div(f.spatial_rows, rows);
  f.col_folds = ceil_div(f.spatial_cols, cols);
  return f;
}

Cycles fold_overhead(Dataflow dataflow, std::uint32_t rows, std::uint32_t cols) {
  return Cycles(dataflow_row(dataflow).fill_rows * std::uint64_t{rows} + cols - 2);
}

GemmShape packed(const GemmShape& g, MacRate rate) {
  GemmShape p = g;
  p.k = ceil_div(g.k, rate.pack);
  return p;
}

Cycles gemm_cycles(Dataflow dataflow, std::uint32_t rows, std::uint32_t cols, const GemmShape& g,
                   bool with_overhead, MacRate rate, WeightPreload preload) {
  if (g.macs() == 0) return Cycles(0);
  const FoldMapping f = map_gemm(dataflow, rows, cols, packed(g, rate));
  const std::uint64_t folds = f.folds() * g.batch;
  const Cycles stream(f.temporal * rate.cycles_per_mac);
  if (!with_overhead) return stream * folds;
  const Cycles overhead = fold_overhead(dataflow, rows, cols);
  if (preload == WeightPreload::kSerial || dataflow_row(dataflow).fill_rows < 2)
    return (stream + overhead) * folds;
  // The first tile's shift-in, a fold start every max(T, R), the last
  // fold's stream and drain (R + C - 2).
  const Cycles shift_in(rows);
  return shift_in + max(stream, shift_in) * (folds - 1) + stream + (overhead - shift_in);
}

Cycles gemm_cycles(const ArrayConfig& array, const GemmShape& g, bool with_overhead, MacRate rate) {
  return gemm_cycles(array.dataflow, array.rows, array.cols, g, with_overhead, rate,
                     array.weight_preload);
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
  // Each operand streams once per fold of the spatial dimension it does
  // not span: input (m, k), weight (k, n), output (m, n).
  const DataflowRow& d = dataflow_row(dataflow);
  const FoldMapping f = map_gemm(dataflow, rows, cols, g);
  auto repeats = [&](char a, char b) {
    std::uint64_t r = 1;
    if (d.rows_dim != a && d.rows_dim != b) r *= f.row_folds;
    if (d.cols_dim != a && d.cols_dim != b) r *= f.col_folds;
    return r;
  };
  return {g.m * g.k * g.batch * repeats('m', 'k'), g.k * g.n * g.batch * repeats('k', 'n'),
          g.m * g.n * g.batch * repeats('m', 'n')};
}

}  // namespace tessel::arch
