// The closed-form fold timing of arch/systolic.h against the PE-level,
// cycle-stepped reference model, on small arrays and random GEMMs.

#include <algorithm>
#include <array>
#include <random>

#include <gtest/gtest.h>

#include "arch/systolic.h"
#include "systolic_reference.h"

namespace tessel {
namespace {

using arch::Dataflow;
using testing::Matrix;

Matrix random_matrix(std::mt19937& rng, int r, int c) {
  std::uniform_int_distribution<int> v(-9, 9);
  Matrix m(r, std::vector<std::int64_t>(c));
  for (auto& row : m)
    for (auto& x : row) x = v(rng);
  return m;
}

Matrix naive(const Matrix& a, const Matrix& b) {
  Matrix c(a.size(), std::vector<std::int64_t>(b[0].size(), 0));
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t k = 0; k < b.size(); ++k)
      for (std::size_t j = 0; j < b[0].size(); ++j) c[i][j] += a[i][k] * b[k][j];
  return c;
}

class SystolicReference : public ::testing::TestWithParam<Dataflow> {};

TEST_P(SystolicReference, ClosedFormMatchesPeLevelModelOnRandomGemms) {
  const Dataflow df = GetParam();
  std::mt19937 rng(1234 + static_cast<int>(df));
  std::uniform_int_distribution<int> dim(1, 19), arr(1, 6);
  for (int trial = 0; trial < 60; ++trial) {
    const int R = arr(rng), C = arr(rng);
    const int M = dim(rng), N = dim(rng), K = dim(rng);
    const Matrix a = random_matrix(rng, M, K), b = random_matrix(rng, K, N);
    const auto ref = testing::run_reference(df, R, C, a, b);
    ASSERT_EQ(ref.result, naive(a, b)) << "reference model computes a wrong product";
    const arch::GemmShape g{static_cast<std::uint64_t>(M), static_cast<std::uint64_t>(N),
                            static_cast<std::uint64_t>(K), 1};
    EXPECT_EQ(arch::gemm_cycles(df, R, C, g).count(), ref.cycles)
        << arch::to_string(df) << " R=" << R << " C=" << C << " M=" << M << " N=" << N
        << " K=" << K;
  }
}

INSTANTIATE_TEST_SUITE_P(AllDataflows, SystolicReference,
                         ::testing::Values(Dataflow::kOutputStationary, Dataflow::kWeightStationary,
                                           Dataflow::kInputStationary),
                         [](const auto& info) { return arch::to_string(info.param); });

// Double-buffered stationary operands (array.weight_preload: overlapped):
// the closed form against the PE-level pipeline, which computes the
// products and shows any fold using a tile that has not fully shifted in.
class OverlappedPreload : public ::testing::TestWithParam<Dataflow> {};

// Distinct non-zero entries, so a PE holding the wrong stationary value
// changes some output.
Matrix distinct_matrix(std::mt19937& rng, int r, int c) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(r * c));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int64_t>(i) + 1;
  std::shuffle(v.begin(), v.end(), rng);
  Matrix m(r, std::vector<std::int64_t>(c));
  for (int i = 0; i < r; ++i)
    for (int j = 0; j < c; ++j) m[i][j] = v[static_cast<std::size_t>(i * c + j)];
  return m;
}

TEST_P(OverlappedPreload, ClosedFormMatchesPeLevelPipelineOnRandomGemms) {
  const Dataflow df = GetParam();
  std::mt19937 rng(99 + static_cast<int>(df));
  std::uniform_int_distribution<int> dim(1, 17), arr(1, 6), groups(1, 3);
  for (int trial = 0; trial < 60; ++trial) {
    const int R = arr(rng), C = arr(rng);
    const int M = dim(rng), N = dim(rng), K = dim(rng), G = groups(rng);
    std::vector<std::pair<Matrix, Matrix>> gemms;
    for (int g = 0; g < G; ++g)
      gemms.emplace_back(random_matrix(rng, M, K), random_matrix(rng, K, N));
    const auto ref = testing::run_reference_overlapped(df, R, C, gemms);
    for (int g = 0; g < G; ++g) {
      const Matrix want = naive(gemms[g].first, gemms[g].second);
      const Matrix got(ref.result.begin() + g * M, ref.result.begin() + (g + 1) * M);
      ASSERT_EQ(got, want) << "the pipeline used a stationary tile before it was in";
    }
    const arch::GemmShape shape{static_cast<std::uint64_t>(M), static_cast<std::uint64_t>(N),
                                static_cast<std::uint64_t>(K), static_cast<std::uint64_t>(G)};
    const auto overlapped =
        arch::gemm_cycles(df, R, C, shape, true, {}, arch::WeightPreload::kOverlapped);
    EXPECT_EQ(overlapped.count(), ref.cycles)
        << arch::to_string(df) << " R=" << R << " C=" << C << " M=" << M << " N=" << N << " K=" << K
        << " groups=" << G;
    EXPECT_LE(overlapped, arch::gemm_cycles(df, R, C, shape));
    if (arch::map_gemm(df, R, C, shape).folds() * shape.batch == 1) {
      EXPECT_EQ(overlapped, arch::gemm_cycles(df, R, C, shape)) << "one fold has nothing to hide";
    }
  }
}

TEST_P(OverlappedPreload, ShiftingATileInSoonerCorruptsTheProduct) {
  // The schedule's rule (a tile starts shifting once the previous fold has
  // started streaming) is tight: one cycle sooner, a PE copies a shift
  // register the next tile has already disturbed.
  const Dataflow df = GetParam();
  std::mt19937 rng(7);
  for (const auto [R, C, M, N, K] :
       {std::array{4, 3, 5, 7, 9}, std::array{2, 2, 1, 5, 5}, std::array{3, 4, 8, 4, 6}}) {
    const std::vector<std::pair<Matrix, Matrix>> gemms = {
        {distinct_matrix(rng, M, K), distinct_matrix(rng, K, N)}};
    EXPECT_EQ(testing::run_reference_overlapped(df, R, C, gemms).result,
              naive(gemms[0].first, gemms[0].second));
    EXPECT_NE(testing::run_reference_overlapped(df, R, C, gemms, 1).result,
              naive(gemms[0].first, gemms[0].second))
        << "R=" << R << " C=" << C;
  }
}

INSTANTIATE_TEST_SUITE_P(StationaryDataflows, OverlappedPreload,
                         ::testing::Values(Dataflow::kWeightStationary, Dataflow::kInputStationary),
                         [](const auto& info) { return arch::to_string(info.param); });

TEST(Systolic, OverlappedPreloadHandDerivation) {
  // ws 4 x 4, M = 10 streamed, K = 8 and N = 8: 2 x 2 = 4 folds of T = 10.
  // Serial: 4 x (T + 2R + C - 2) = 4 x 20 = 80. Overlapped: the first
  // shift-in (4), three more fold starts 10 apart (30), the last fold's
  // stream and drain (10 + 4 + 4 - 2 = 16): 50.
  EXPECT_EQ(arch::gemm_cycles(Dataflow::kWeightStationary, 4, 4, {10, 8, 8, 1}).count(), 80u);
  EXPECT_EQ(arch::gemm_cycles(Dataflow::kWeightStationary, 4, 4, {10, 8, 8, 1}, true, {},
                              arch::WeightPreload::kOverlapped)
                .count(),
            50u);
  // A GEMV (T = 1) is bound by the shift-in: 4 + 3 x 4 + 1 + 6 = 23 against
  // 4 x 11 = 44.
  EXPECT_EQ(arch::gemm_cycles(Dataflow::kWeightStationary, 4, 4, {1, 8, 8, 1}, true, {},
                              arch::WeightPreload::kOverlapped)
                .count(),
            23u);
}

TEST(Systolic, SingleFoldFormulas) {
  // The brief's formulas, written out for one full fold.
  EXPECT_EQ(arch::gemm_cycles(Dataflow::kOutputStationary, 8, 4, {8, 4, 10, 1}).count(),
            10u + 8 + 4 - 2);
  EXPECT_EQ(arch::gemm_cycles(Dataflow::kWeightStationary, 8, 4, {10, 4, 8, 1}).count(),
            2u * 8 + 4 + 10 - 2);
  EXPECT_EQ(arch::gemm_cycles(Dataflow::kInputStationary, 8, 4, {4, 10, 8, 1}).count(),
            2u * 8 + 4 + 10 - 2);
}

TEST(Systolic, MappingEfficiencyIsMeanUsedPeFraction) {
  // ws: K=40 on 32 rows -> folds use 32 and 8 rows; N=32 fills the columns.
  const double e = arch::mapping_efficiency(Dataflow::kWeightStationary, 32, 32, {100, 32, 40, 1});
  EXPECT_DOUBLE_EQ(e, (32.0 * 32 + 8.0 * 32) / (2 * 32.0 * 32));
}

TEST(Systolic, GroupsMultiplyFolds) {
  const arch::GemmShape one{49, 1, 9, 1}, many{49, 1, 9, 96};
  EXPECT_EQ(arch::gemm_cycles(Dataflow::kWeightStationary, 16, 16, many).count(),
            96 * arch::gemm_cycles(Dataflow::kWeightStationary, 16, 16, one).count());
}

}  // namespace
}  // namespace tessel
