// The explorer's pieces that need no simulation: Pareto filtering on hand
// cases, the strategies, spec validation and point resolution.

#include <fstream>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arch/error.h"
#include "explorer/pareto.h"
#include "explorer/spec.h"
#include "explorer/strategy.h"
#include "test_paths.h"

namespace tessel {
namespace {

using explorer::pareto_front;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(Pareto, HandCases) {
  // Minimise both: (1,5) (2,2) (5,1) trade off; (3,3) is dominated by (2,2);
  // (2,2) twice: equal points are both kept; (6,6) dominated.
  EXPECT_THAT(pareto_front({{1, 5}, {2, 2}, {3, 3}, {5, 1}, {2, 2}, {6, 6}}, {true, true}),
              ElementsAre(0, 1, 3, 4));
  // Minimise the first, maximise the second.
  EXPECT_THAT(pareto_front({{1, 1}, {2, 5}, {3, 4}, {1, 0}}, {true, false}), ElementsAre(0, 1));
  // One objective: the best only.
  EXPECT_THAT(pareto_front({{3}, {1}, {2}}, {true}), ElementsAre(1));
  EXPECT_TRUE(pareto_front({}, {true}).empty());
}

std::string write_spec(const std::string& body) {
  const std::string path = ::testing::TempDir() + "/sweep.json";
  std::ofstream(path) << body;
  return path;
}

std::string spec_error(const std::string& body) {
  try {
    explorer::load_sweep(write_spec(body));
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

std::string arch() {
  return testing::source_path("configs/arch/edge_npu.json");
}

TEST(Sweep, SpecErrorsNameThePath) {
  const std::string head = R"({"arch": ")" + arch() + R"(", "workload": "mobilenet_v2", )";
  const std::string obj = R"("objectives": [{"metric": "totals.latency_ms", "goal": "min"}]})";
  EXPECT_THAT(
      spec_error(head + R"("parameters": [{"path": "arch.array.rowz", "values": [16]}], )" + obj),
      HasSubstr("sweep.parameters[0].values: value 16 is invalid: "));
  EXPECT_THAT(
      spec_error(head + R"("parameters": [{"path": "arch.array.rowz", "values": [16]}], )" + obj),
      HasSubstr("arch.array.rowz: unknown key"));
  EXPECT_THAT(
      spec_error(head + R"("parameters": [{"path": "model.widht", "values": [1]}], )" + obj),
      HasSubstr("mobilenet_v2 has no parameter \"widht\""));
  EXPECT_THAT(
      spec_error(
          head +
          R"("parameters": [{"path": "arch.array.rows", "range": {"min": 64, "max": 16, "step": 8}}], )" +
          obj),
      HasSubstr("sweep.parameters[0].range.max: must be at least min (64), got 16"));
  EXPECT_THAT(
      spec_error(head + R"("parameters": [{"path": "arch.array.rows", "values": []}], )" + obj),
      HasSubstr("sweep.parameters[0].values: expected a non-empty array"));
  EXPECT_THAT(
      spec_error(
          head +
          R"("parameters": [{"path": "arch.array.rows", "values": [16]}], "objectives": [{"metric": "totals.speed", "goal": "max"}]})"),
      HasSubstr("sweep.objectives[0].metric: not a report metric"));
  EXPECT_THAT(
      spec_error(head +
                 R"("parameters": [{"path": "arch.array.cols", "tie": "arch.array.rows"}], )" +
                 obj),
      HasSubstr("\"arch.array.rows\" is not an earlier parameter"));
  EXPECT_THAT(spec_error(head + R"("parameters": [], "strategy": {"name": "annealing"}, )" + obj),
              HasSubstr("sweep.strategy.name: must be one of grid, random, lhs"));
}

explorer::SweepSpec small_spec(const std::string& strategy) {
  return explorer::load_sweep(write_spec(R"({"arch": ")" + arch() +
                                         R"(", "workload": "mobilenet_v2",
    "parameters": [
      {"path": "model.width_mult", "values": [0.5, 0.75, 1.0]},
      {"path": "arch.array.rows", "range": {"min": 8, "max": 64, "scale": "log2"}},
      {"path": "arch.array.cols", "tie": "arch.array.rows"},
      {"path": "arch.dram.channel_bandwidth_gb_per_s", "range": {"min": 4, "max": 16, "step": 4}}],
    "objectives": [{"metric": "totals.latency_ms", "goal": "min"}],
    "strategy": )" + strategy + "}"));
}

std::vector<explorer::Point> drain(explorer::SearchStrategy& s) {
  std::vector<explorer::Point> out;
  for (auto batch = s.ask(5); !batch.empty(); batch = s.ask(5))
    out.insert(out.end(), batch.begin(), batch.end());
  return out;
}

TEST(Sweep, RangesTiesAndResolution) {
  const auto spec = small_spec(R"({"name": "grid"})");
  EXPECT_EQ(spec.parameters[1].values.size(), 4u);  // 8, 16, 32, 64
  EXPECT_EQ(spec.parameters[3].values.size(), 4u);  // 4, 8, 12, 16
  const auto points = drain(*explorer::make_strategy(spec));
  ASSERT_EQ(points.size(), 3u * 4 * 4);
  const auto r = explorer::resolve(spec, points[5]);
  EXPECT_EQ(r.params["arch.array.cols"], r.params["arch.array.rows"]);  // tied
  EXPECT_THAT(r.workload, HasSubstr("mobilenet_v2:width_mult="));
  EXPECT_EQ(r.overrides.size(), 3u);
  std::set<std::string> keys;
  for (const auto& p : points) keys.insert(explorer::resolve(spec, p).key);
  EXPECT_EQ(keys.size(), points.size());  // distinct points, distinct keys
}

TEST(Sweep, RandomAndLatinHypercubeAreSeededAndDistinct) {
  for (const char* name : {"random", "lhs"}) {
    const auto a = drain(*explorer::make_strategy(
        small_spec(std::string(R"({"name": ")") + name + R"(", "samples": 12, "seed": 7})")));
    const auto b = drain(*explorer::make_strategy(
        small_spec(std::string(R"({"name": ")") + name + R"(", "samples": 12, "seed": 7})")));
    const auto c = drain(*explorer::make_strategy(
        small_spec(std::string(R"({"name": ")") + name + R"(", "samples": 12, "seed": 8})")));
    EXPECT_EQ(a, b) << name;
    EXPECT_NE(a, c) << name;
    EXPECT_LE(a.size(), 12u);
    EXPECT_EQ(std::set<explorer::Point>(a.begin(), a.end()).size(), a.size()) << name;
  }
  // Latin hypercube with as many samples as array sizes uses each size once.
  const auto lhs =
      drain(*explorer::make_strategy(small_spec(R"({"name": "lhs", "samples": 4, "seed": 3})")));
  std::set<std::int64_t> rows;
  for (const auto& p : lhs) rows.insert(p[1].get<std::int64_t>());
  EXPECT_EQ(rows.size(), lhs.size());
}

}  // namespace
}  // namespace tessel
