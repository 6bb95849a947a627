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

// A fold of the double-buffered pipeline: the stationary tile (R x C) and
// the operand rows streamed against it (T x R).
struct Fold {
  Matrix stationary;
  Matrix stream;
};

// Weight stationary with double-buffered PEs (see run_reference_overlapped).
// outs[f] is fold f's T x C result. Returns the cycles until the last
// partial sum has left the array.
std::uint64_t ws_pipelined(int R, int C, const std::vector<Fold>& folds, int early,
                           std::vector<Matrix>& outs) {
  const int F = static_cast<int>(folds.size());
  const int T = static_cast<int>(folds[0].stream.size());
  // The schedule: shift-in windows [l + j, l + j + R) per column j, stream
  // starts s (row 0 of column 0 sees the fold's first operand at s).
  std::vector<long> l(F), s(F);
  for (int f = 0; f < F; ++f) {
    l[f] = f == 0 ? 0 : std::max(s[f - 1], l[f - 1] + R) - early;
    s[f] = std::max(l[f] + R, f == 0 ? 0L : s[f - 1] + T);
  }
  struct Tagged {
    std::int64_t value = 0;
    int fold = -1;
  };
  std::vector<std::vector<std::int64_t>> shift(R, std::vector<std::int64_t>(C, 0));
  std::vector<std::vector<Tagged>> active(R, std::vector<Tagged>(C));
  std::vector<std::vector<Tagged>> in(R, std::vector<Tagged>(C)), psum(R, std::vector<Tagged>(C));
  outs.assign(F, Matrix(T, std::vector<std::int64_t>(C, 0)));
  const long total = static_cast<long>(F) * T * C;
  long emitted = 0;
  long cycle = 0;
  for (; emitted < total; ++cycle) {
    // Operands move right; each array row i enters fold f's operand t at
    // s[f] + t + i.
    for (int i = 0; i < R; ++i)
      for (int j = C - 1; j > 0; --j) in[i][j] = in[i][j - 1];
    for (int i = 0; i < R; ++i) {
      in[i][0] = {};
      for (int f = 0; f < F; ++f) {
        const long t = cycle - s[f] - i;
        if (t >= 0 && t < T) in[i][0] = {folds[f].stream[t][i], f};
      }
    }
    // Compute on the registers as they are at the start of the cycle: a PE
    // seeing a new fold's operand first copies its shift register.
    std::vector<std::vector<Tagged>> next(R, std::vector<Tagged>(C));
    for (int i = 0; i < R; ++i) {
      for (int j = 0; j < C; ++j) {
        if (in[i][j].fold < 0) continue;
        if (active[i][j].fold != in[i][j].fold) active[i][j] = {shift[i][j], in[i][j].fold};
        const std::int64_t above = i == 0 ? 0 : psum[i - 1][j].value;
        next[i][j] = {above + in[i][j].value * active[i][j].value, in[i][j].fold};
      }
    }
    psum = next;
    // Then the shift registers step: at step k of a window rows 0..k move
    // down and row 0 takes the tile's row R - 1 - k.
    for (int j = 0; j < C; ++j) {
      for (int f = 0; f < F; ++f) {
        const long k = cycle - l[f] - j;
        if (k < 0 || k >= R) continue;
        for (long i = k; i > 0; --i) shift[i][j] = shift[i - 1][j];
        shift[0][j] = folds[f].stationary[R - 1 - k][j];
      }
    }
    for (int j = 0; j < C; ++j) {
      const Tagged& p = psum[R - 1][j];
      if (p.fold < 0) continue;
      const long t = cycle - s[p.fold] - (R - 1) - j;
      outs[p.fold][t][j] = p.value;
      ++emitted;
    }
  }
  return static_cast<std::uint64_t>(cycle);
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

ReferenceRun run_reference_overlapped(arch::Dataflow dataflow, int R, int C,
                                      const std::vector<std::pair<Matrix, Matrix>>& groups,
                                      int early_shift_cycles) {
  const bool ws = dataflow == arch::Dataflow::kWeightStationary;
  const int M = static_cast<int>(groups[0].first.size()),
            K = static_cast<int>(groups[0].second.size()),
            N = static_cast<int>(groups[0].second[0].size());
  auto at = [](const Matrix& m, int i, int j) -> std::int64_t {
    return (i < static_cast<int>(m.size()) && j < static_cast<int>(m[0].size())) ? m[i][j] : 0;
  };
  // Folds in the order run_reference takes them; where[f] = (group, k0 or
  // unused, the fold's first output column or row).
  std::vector<Fold> folds;
  std::vector<std::pair<int, int>> where;
  const int T = ws ? M : N;
  for (int g = 0; g < static_cast<int>(groups.size()); ++g) {
    const auto& [a, b] = groups[g];
    for (int k0 = 0; k0 < K; k0 += R) {
      for (int c0 = 0; c0 < (ws ? N : M); c0 += C) {
        Fold f{zeros(R, C), zeros(T, R)};
        for (int i = 0; i < R; ++i)
          for (int j = 0; j < C; ++j)
            f.stationary[i][j] = ws ? at(b, k0 + i, c0 + j) : at(a, c0 + j, k0 + i);
        for (int t = 0; t < T; ++t)
          for (int i = 0; i < R; ++i) f.stream[t][i] = ws ? at(a, t, k0 + i) : at(b, k0 + i, t);
        folds.push_back(std::move(f));
        where.emplace_back(g, c0);
      }
    }
  }
  std::vector<Matrix> outs;
  ReferenceRun run;
  run.cycles = ws_pipelined(R, C, folds, early_shift_cycles, outs);
  run.result = zeros(M * static_cast<int>(groups.size()), N);
  for (std::size_t f = 0; f < folds.size(); ++f) {
    const auto [g, c0] = where[f];
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < C && c0 + j < (ws ? N : M); ++j) {
        if (ws)
          run.result[g * M + t][c0 + j] += outs[f][t][j];
        else
          run.result[g * M + c0 + j][t] += outs[f][t][j];
      }
  }
  return run;
}

}  // namespace tessel::testing
