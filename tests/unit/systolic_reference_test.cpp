// The closed-form fold timing of arch/systolic.h against the PE-level,
// cycle-stepped reference model, on small arrays and random GEMMs.

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
