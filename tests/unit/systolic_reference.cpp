#include "systolic_reference.h"

#include <algorithm>

namespace tessel::testing {

namespace {

struct Reg {
  std::int64_t value = 0;
  bool valid = false;
};

// Output stationary, one fold: PE(i, j) owns out[i][j]. Row i of `left`
// (R x T) enters the left edge skewed by i cycles and moves right; column j
// of `top` (T x C) enters the top edge skewed by j cycles and moves down.
// Returns the cycles until the last PE has done its T-th MAC.
std::uint64_t os_fold(int R, int C, const Matrix& left, const Matrix& top, Matrix& out) {
  const int T = static_cast<int>(left.empty() ? 0 : left[0].size());
  std::vector<std::vector<Reg>> a(R, std::vector<Reg>(C)), b(R, std::vector<Reg>(C));
  std::vector<std::vector<int>> done(R, std::vector<int>(C, 0));
  out.assign(R, std::vector<std::int64_t>(C, 0));
  int finished = 0;
  std::uint64_t cycle = 0;
  while (finished < R * C) {
    // Shift: right for a, down for b (from the far end backwards).
    for (int i = 0; i < R; ++i)
      for (int j = C - 1; j > 0; --j) a[i][j] = a[i][j - 1];
    for (int j = 0; j < C; ++j)
      for (int i = R - 1; i > 0; --i) b[i][j] = b[i - 1][j];
    const int c = static_cast<int>(cycle);
    for (int i = 0; i < R; ++i) {
      const int t = c - i;
      a[i][0] = (t >= 0 && t < T) ? Reg{left[i][t], true} : Reg{};
    }
    for (int j = 0; j < C; ++j) {
      const int t = c - j;
      b[0][j] = (t >= 0 && t < T) ? Reg{top[t][j], true} : Reg{};
    }
    for (int i = 0; i < R; ++i) {
      for (int j = 0; j < C; ++j) {
        if (a[i][j].valid && b[i][j].valid) {
          out[i][j] += a[i][j].value * b[i][j].value;
          if (++done[i][j] == T) ++finished;
        }
      }
    }
    ++cycle;
  }
  return cycle;
}

// Weight stationary, one fold: `stationary` (R x C) shifts in from the top
// over R cycles; then row k of `stream` (T x R, column k) enters the left
// edge of array row k skewed by k cycles and moves right; partial sums move
// down and leave the bottom row. out is T x C. Returns the cycles until the
// last partial sum has left the array.
std::uint64_t ws_fold(int R, int C, const Matrix& stationary, const Matrix& stream, Matrix& out) {
  const int T = static_cast<int>(stream.size());
  std::vector<std::vector<std::int64_t>> w(R, std::vector<std::int64_t>(C, 0));
  std::uint64_t cycle = 0;
  // Preload: one row enters per cycle, bottom row first.
  for (int step = 0; step < R; ++step, ++cycle) {
    for (int i = R - 1; i > 0; --i) w[i] = w[i - 1];
    w[0] = stationary[R - 1 - step];
  }
  std::vector<std::vector<Reg>> in(R, std::vector<Reg>(C)), psum(R, std::vector<Reg>(C));
  out.assign(T, std::vector<std::int64_t>(C, 0));
  int emitted = 0;
  int local = 0;
  while (emitted < T * C) {
    for (int i = 0; i < R; ++i)
      for (int j = C - 1; j > 0; --j) in[i][j] = in[i][j - 1];
    for (int i = 0; i < R; ++i) {
      const int t = local - i;
      in[i][0] = (t >= 0 && t < T) ? Reg{stream[t][i], true} : Reg{};
    }
    // Partial sums: PE(i, j) adds to what PE(i-1, j) produced last cycle.
    std::vector<std::vector<Reg>> next(R, std::vector<Reg>(C));
    for (int i = 0; i < R; ++i) {
      for (int j = 0; j < C; ++j) {
        if (!in[i][j].valid) continue;
        const std::int64_t above = i == 0 ? 0 : psum[i - 1][j].value;
        next[i][j] = Reg{above + in[i][j].value * w[i][j], true};
      }
    }
    psum = next;
    ++cycle;
    for (int j = 0; j < C; ++j) {
      if (psum[R - 1][j].valid) {
        const int t = local - (R - 1) - j;
        out[t][j] = psum[R - 1][j].value;
        ++emitted;
      }
    }
    ++local;
  }
  return cycle;
}

Matrix zeros(int r, int c) {
  return Matrix(r, std::vector<std::int64_t>(c, 0));
}

}  // namespace

ReferenceRun run_reference(arch::Dataflow dataflow, int R, int C, const Matrix& a,
                           const Matrix& b) {
  const int M = static_cast<int>(a.size()), K = static_cast<int>(b.size()),
            N = static_cast<int>(b[0].size());
  ReferenceRun run;
  run.result = zeros(M, N);
  auto at = [](const Matrix& m, int i, int j) -> std::int64_t {
    return (i < static_cast<int>(m.size()) && j < static_cast<int>(m[0].size())) ? m[i][j] : 0;
  };
  if (dataflow == arch::Dataflow::kOutputStationary) {
    for (int m0 = 0; m0 < M; m0 += R) {
      for (int n0 = 0; n0 < N; n0 += C) {
        Matrix left = zeros(R, K), top = zeros(K, C), out;
        for (int i = 0; i < R; ++i)
          for (int k = 0; k < K; ++k) left[i][k] = at(a, m0 + i, k);
        for (int k = 0; k < K; ++k)
          for (int j = 0; j < C; ++j) top[k][j] = at(b, k, n0 + j);
        run.cycles += os_fold(R, C, left, top, out);
        for (int i = 0; i < R && m0 + i < M; ++i)
          for (int j = 0; j < C && n0 + j < N; ++j) run.result[m0 + i][n0 + j] += out[i][j];
      }
    }
  } else if (dataflow == arch::Dataflow::kWeightStationary) {
    // Stationary: B[k][n] tile (R x C); stream: A[m][k] (T = M rows).
    for (int k0 = 0; k0 < K; k0 += R) {
      for (int n0 = 0; n0 < N; n0 += C) {
        Matrix stat = zeros(R, C), stream = zeros(M, R), out;
        for (int i = 0; i < R; ++i)
          for (int j = 0; j < C; ++j) stat[i][j] = at(b, k0 + i, n0 + j);
        for (int t = 0; t < M; ++t)
          for (int i = 0; i < R; ++i) stream[t][i] = at(a, t, k0 + i);
        run.cycles += ws_fold(R, C, stat, stream, out);
        for (int t = 0; t < M; ++t)
          for (int j = 0; j < C && n0 + j < N; ++j) run.result[t][n0 + j] += out[t][j];
      }
    }
  } else {
    // Input stationary: A^T tile (K rows x M cols) is stationary; B^T streams
    // (T = N), so the array computes C^T one output row per cycle.
    for (int k0 = 0; k0 < K; k0 += R) {
      for (int m0 = 0; m0 < M; m0 += C) {
        Matrix stat = zeros(R, C), stream = zeros(N, R), out;
        for (int i = 0; i < R; ++i)
          for (int j = 0; j < C; ++j) stat[i][j] = at(a, m0 + j, k0 + i);
        for (int t = 0; t < N; ++t)
          for (int i = 0; i < R; ++i) stream[t][i] = at(b, k0 + i, t);
        run.cycles += ws_fold(R, C, stat, stream, out);
        for (int t = 0; t < N; ++t)
          for (int j = 0; j < C && m0 + j < M; ++j) run.result[m0 + j][t] += out[t][j];
      }
    }
  }
  return run;
}

}  // namespace tessel::testing
