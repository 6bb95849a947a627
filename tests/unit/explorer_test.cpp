// The explorer's pieces that need no simulation: Pareto filtering on hand
// cases, the strategies, spec validation and point resolution.

#include <cmath>
#include <fstream>
#include <iostream>
#include <set>

#include <unistd.h>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "arch/error.h"
#include "arch/json_reader.h"
#include "explorer/accuracy.h"
#include "explorer/pareto.h"
#include "explorer/spec.h"
#include "explorer/strategy.h"
#include "input_error.h"
#include "reports/sweep_page.h"
#include "test_paths.h"
#include "workloads/zoo/registry.h"

namespace tessel {
namespace {

using explorer::pareto_front;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::input_error_of;

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

// `body` in a file `name` of the test's temporary directory.
std::string write_temp(const std::string& name, const std::string& body) {
  // CTest runs each test as its own process, in parallel: one name per process.
  const std::string path = ::testing::TempDir() + "/" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path) << body;
  return path;
}

std::string write_spec(const std::string& body) {
  return write_temp("sweep.json", body);
}

std::string spec_error(const std::string& body) {
  return input_error_of([&] { explorer::load_sweep(write_spec(body)); });
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
      HasSubstr("sweep.objectives[0].metric: not a metric; one of: accuracy, "));
  EXPECT_THAT(
      spec_error(head +
                 R"("parameters": [{"path": "arch.array.cols", "tie": "arch.array.rows"}], )" +
                 obj),
      HasSubstr("\"arch.array.rows\" is not an earlier parameter"));
  EXPECT_THAT(spec_error(head + R"("parameters": [], "strategy": {"name": "annealing"}, )" + obj),
              HasSubstr("sweep.strategy.name: must be one of grid, random, lhs, nsga2"));
  const std::string swept = R"("parameters": [{"path": "arch.array.rows", "values": [16, 32]}], )";
  EXPECT_THAT(
      spec_error(head + swept + R"("strategy": {"name": "nsga2", "population": 10}, )" + obj),
      HasSubstr("sweep.strategy.population: NSGA-II needs a multiple of 4, got 10"));
  EXPECT_THAT(spec_error(head + swept + R"("strategy": {"name": "nsga2"}, )" + obj),
              HasSubstr("sweep.strategy.name: NSGA-II needs at least two objectives"));
  // Energy needs a technology block: the SCALE-Sim config has none.
  const std::string scalesim = testing::source_path("configs/arch/scalesim_32x32_ws.cfg");
  EXPECT_THAT(
      spec_error(R"({"arch": ")" + scalesim + R"(", "workload": "mobilenet_v2", )" + swept +
                 R"("objectives": [{"metric": "totals.energy_pj", "goal": "min"}]})"),
      HasSubstr("sweep.objectives[0].metric: totals.energy_pj needs a \"technology\" block in"));
  EXPECT_EQ(spec_error(head + swept +
                       R"("objectives": [{"metric": "totals.energy_pj", "goal": "min"}], )"
                       R"("constraints": [{"metric": "hardware.area_mm2", "max": 10}]})"),
            "no error");
}

double eval(const std::string& text, std::map<std::string, double> values = {}) {
  return explorer::Expression(text).evaluate([&](const std::string& n) { return values.at(n); });
}

std::string expression_error(const std::string& text) {
  return input_error_of([&] { explorer::Expression e(text); });
}

TEST(Expression, ArithmeticLogicAndPrecedence) {
  EXPECT_EQ(eval("1 + 2 * 3"), 7);
  EXPECT_EQ(eval("(1 + 2) * 3"), 9);
  EXPECT_EQ(eval("7 % 4 + 10 / 4"), 5.5);
  EXPECT_EQ(eval("-2 * -3"), 6);
  EXPECT_EQ(eval("8 - 2 - 1"), 5);  // left to right
  EXPECT_EQ(eval("16 / 4 / 2"), 2);
  EXPECT_EQ(eval("2 < 3 && 3 <= 3 && !(1 > 2) && 4 >= 4 && 1 != 2 && 2 == 2"), 1);
  EXPECT_EQ(eval("1 > 2 || 0"), 0);
  EXPECT_EQ(eval("max(2, min(8, 5)) + floor(2.7) + ceil(2.1) + log2(8) + pow(2, 10)"),
            5 + 2 + 3 + 3 + 1024);
  EXPECT_EQ(eval("arch.sram[0].banks * 2 + model.width_mult",
                 {{"arch.sram[0].banks", 8}, {"model.width_mult", 0.5}}),
            16.5);
  EXPECT_EQ(eval("model.dim % model.heads == 0", {{"model.dim", 768}, {"model.heads", 12}}), 1);
  EXPECT_EQ(eval("model.dim % model.heads == 0", {{"model.dim", 768}, {"model.heads", 10}}), 0);
  const explorer::Expression e("a + b * a");
  EXPECT_EQ(e.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_THROW(eval("1 / (2 - 2)"), InputError);
}

TEST(Expression, ErrorsSayWhere) {
  EXPECT_THAT(expression_error("1 +"),
              HasSubstr("expected a number, a parameter or ( at character 4 of \"1 +\""));
  EXPECT_THAT(expression_error("(1 + 2"), HasSubstr("expected )"));
  EXPECT_THAT(expression_error("sqrt(4)"), HasSubstr("unknown function sqrt"));
  EXPECT_THAT(expression_error("min(1)"), HasSubstr("min takes 2 arguments"));
  EXPECT_THAT(expression_error("1 2"), HasSubstr("unexpected text at character 3"));
  EXPECT_THAT(expression_error("a $ b"), HasSubstr("unexpected text at character 3"));
}

TEST(Sweep, DerivedParametersAndRules) {
  const std::string head = R"({"arch": ")" + arch() + R"(", "workload": "mobilenet_v2", )";
  const std::string params = R"js("parameters": [
      {"path": "arch.array.rows", "values": [8, 16, 32]},
      {"path": "arch.array.cols", "tie": "arch.array.rows"},
      {"path": "arch.sram[0].banks", "derive": "max(4, arch.array.rows / 2)"},
      {"path": "model.width_mult", "values": [0.5, 1.0]}], )js";
  const std::string obj = R"("objectives": [{"metric": "totals.latency_ms", "goal": "min"}])";
  const auto spec = explorer::load_sweep(write_spec(
      head + params + R"("rules": ["arch.array.rows * model.width_mult >= 8"], )" + obj + "}"));
  ASSERT_EQ(spec.rules.size(), 1u);
  const auto r = explorer::resolve(spec, {8, nullptr, nullptr, 0.5});
  EXPECT_EQ(r.params["arch.array.cols"], 8);
  EXPECT_EQ(r.params["arch.sram[0].banks"], 4);  // max(4, 4): an integer, not 4.0
  ASSERT_TRUE(r.broken_rule);
  EXPECT_EQ(*r.broken_rule, "arch.array.rows * model.width_mult >= 8");
  const auto ok = explorer::resolve(spec, {32, nullptr, nullptr, 0.5});
  EXPECT_EQ(ok.params["arch.sram[0].banks"], 16);
  EXPECT_FALSE(ok.broken_rule);
  EXPECT_THAT(ok.overrides, ::testing::Contains("arch.sram[0].banks=16"));
  // Errors name the JSON path.
  EXPECT_THAT(
      spec_error(
          head +
          R"("parameters": [{"path": "arch.array.cols", "derive": "arch.array.rows * 2"}], )" +
          obj + "}"),
      HasSubstr("sweep.parameters[0].derive: \"arch.array.rows\" is not an earlier parameter"));
  EXPECT_THAT(spec_error(head + params + R"("rules": ["model.depth > 1"], )" + obj + "}"),
              HasSubstr("sweep.rules[0]: \"model.depth\" is not a parameter"));
  EXPECT_THAT(spec_error(head + params + R"("rules": ["arch.array.rows >"], )" + obj + "}"),
              HasSubstr("sweep.rules[0]: expected a number"));
  EXPECT_THAT(spec_error(head +
                         R"("parameters": [{"path": "model.precision", "values": ["int8", "int4"]},
                    {"path": "arch.array.rows", "derive": "model.precision"}], )" +
                         obj + "}"),
              HasSubstr("sweep.parameters[1]: model.precision has values that are not numbers"));
}

TEST(Sweep, EveryNamedMetricIsInAReport) {
  // A golden report of a config with a technology block has every metric a
  // spec may name, as a number.
  const auto report = load_json_file(
      testing::source_path("tests/regression/golden/edge_npu__bert_base_layer.json"));
  for (const auto* names : {&explorer::kMetrics, &explorer::kCostMetrics}) {
    for (const auto& m : *names) EXPECT_TRUE(explorer::metric(report, m)) << m;
  }
}

std::string write_table(const std::string& body) {
  return write_temp("accuracy.csv", body);
}

std::string table_error(const std::string& body) {
  return input_error_of([&] { explorer::load_accuracy_table(write_table(body)); });
}

TEST(Accuracy, LookupMatchesTheMostSpecificRow) {
  const auto table =
      explorer::load_accuracy_table(write_table("# comment\n"
                                                "family,width_mult,resolution,top1,source\n"
                                                "m,,,50,\"paper, table 1\"\n"
                                                "m,1.0,,60,a\n"
                                                "m,1.0,224,70,b\n"
                                                "n,1,224,80,c\n"));
  using P = std::map<std::string, std::string>;
  EXPECT_EQ(explorer::lookup(table, "m", P{{"width_mult", "1"}, {"resolution", "224"}}), 70);
  EXPECT_EQ(explorer::lookup(table, "m", P{{"width_mult", "1.00"}, {"resolution", "192"}}), 60);
  EXPECT_EQ(explorer::lookup(table, "m", P{{"width_mult", "0.5"}, {"resolution", "224"}}), 50);
  EXPECT_EQ(explorer::lookup(table, "n", P{{"width_mult", "1.0"}, {"resolution", "224"}}), 80);
  EXPECT_EQ(explorer::lookup(table, "n", P{{"width_mult", "0.5"}, {"resolution", "224"}}),
            std::nullopt);
  EXPECT_EQ(explorer::lookup(table, "resnet", P{}), std::nullopt);
  EXPECT_EQ(table.rows[0].source, "paper, table 1");
}

TEST(Accuracy, TableErrorsNameFileAndLine) {
  EXPECT_THAT(table_error("family,top1,source\nm,101,x\n"),
              HasSubstr("accuracy.csv:2: top1 must be a percentage in [0, 100], got \"101\""));
  EXPECT_THAT(table_error("family,top1,source\nm,70\n"),
              HasSubstr("accuracy.csv:2: expected 3 fields as in the header, got 2"));
  EXPECT_THAT(table_error("family,top1\nm,70\n"), HasSubstr("accuracy.csv:2: every accuracy "
                                                            "needs its source"));
  EXPECT_THAT(table_error("family,width,source\n"),
              HasSubstr("accuracy.csv:1: the header needs columns family and top1"));
  EXPECT_THAT(table_error("family,top1,source\nm,\"70,x\n"),
              HasSubstr("accuracy.csv:2: unterminated quoted field"));
  EXPECT_THAT(table_error(""), HasSubstr("the table is empty"));
  const auto ambiguous = explorer::load_accuracy_table(
      write_table("family,width_mult,resolution,top1,source\nm,1.0,,60,a\nm,,224,61,b\n"));
  try {
    explorer::lookup(ambiguous, "m", {{"width_mult", "1.0"}, {"resolution", "224"}});
    ADD_FAILURE() << "ambiguous rows accepted";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("lines 2 and 3 both match m with different accuracy"));
  }
}

TEST(Accuracy, BuiltinTableHasPublishedFigures) {
  // Independent figures: torchvision's ResNet50_Weights.IMAGENET1K_V1
  // documents acc@1 76.130; the TF-Slim MobileNetV2 table lists 1.0/224 at
  // 71.8 and 0.35/96 at 45.5.
  const auto table = explorer::load_accuracy_table("builtin");
  auto top1 = [&](const std::string& spec) {
    const auto [family, params] = workloads::zoo::resolve_spec(spec);
    return explorer::lookup(table, family, params);
  };
  EXPECT_EQ(workloads::zoo::resolve_spec("resnet").first, "resnet");
  EXPECT_EQ(top1("resnet"), 76.130);
  EXPECT_EQ(top1("mobilenet_v2"), 71.8);
  EXPECT_EQ(top1("mobilenet_v2:width_mult=0.35,resolution=96"), 45.5);
  // torchvision's EfficientNet weights: B0 77.692 at 224, B2 80.608 at 288.
  EXPECT_EQ(top1("efficientnet"), 77.692);
  EXPECT_EQ(top1("efficientnet:resolution=224"), 77.692);
  EXPECT_FALSE(top1("efficientnet:resolution=192"));
  EXPECT_FALSE(top1("efficientnet:variant=b2"));  // 260: not evaluated
  EXPECT_EQ(top1("efficientnet:variant=b2,resolution=288"), 80.608);
  // torchvision's ViT weights at 224: B/16 81.072, L/32 76.972.
  EXPECT_EQ(top1("vit"), 81.072);
  EXPECT_EQ(top1("vit:depth=24,dim=1024,heads=16,patch=32"), 76.972);
  EXPECT_FALSE(top1("vit:depth=6"));
  // Not published: a width between the checkpoints, another class count.
  EXPECT_FALSE(top1("mobilenet_v2:width_mult=0.6"));
  EXPECT_FALSE(top1("resnet:classes=10"));
}

TEST(Sweep, AccuracyNeedsAZooWorkloadTheTableCovers) {
  const std::string obj =
      R"("parameters": [], "objectives": [{"metric": "accuracy", "goal": "max"}]})";
  EXPECT_THAT(spec_error(R"({"arch": ")" + arch() + R"(", "workload": "gpt", )" + obj),
              HasSubstr("sweep.accuracy: the table builtin:imagenet_top1 has no rows for the "
                        "family gpt"));
  EXPECT_THAT(spec_error(R"({"arch": ")" + arch() + R"(", "workload": ")" +
                         testing::source_path("configs/workloads/resnet50.json") + R"(", )" + obj),
              HasSubstr("sweep.workload: the metric accuracy needs a model-zoo workload"));
  EXPECT_THAT(
      spec_error(R"({"arch": ")" + arch() +
                 R"(", "workload": "resnet", "accuracy": {"table": "nonexistent.csv"}, )" + obj),
      HasSubstr("sweep.accuracy: nonexistent.csv: cannot open the accuracy table"));
  const auto spec = explorer::load_sweep(
      write_spec(R"({"arch": ")" + arch() + R"(", "workload": "resnet", )" + obj));
  ASSERT_TRUE(spec.accuracy.has_value());
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

namespace tessel {
namespace {

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(SweepPage, LargeSweepsDrawASubsetOffTheFront) {
  nlohmann::json sweep = {
      {"name", "large"},
      {"objectives", {{{"metric", "lat"}, {"goal", "min"}}, {{"metric", "tops"}, {"goal", "min"}}}},
      {"parameters", {"a"}},
      {"points", nlohmann::json::array()}};
  for (int i = 0; i < 9001; ++i) {
    sweep["points"].push_back({{"key", std::to_string(i)},
                               {"status", "ok"},
                               {"reason", ""},
                               {"params", {{"a", i}}},
                               {"metrics", {{"lat", i}, {"tops", i}}},
                               {"front", i == 0}});
  }
  const std::string html = reports::sweep_html(sweep);
  // 9000 off the front: stride 3, 3000 drawn; the front point always.
  EXPECT_EQ(count(html, "class=\"ok\""), 3000u);
  EXPECT_EQ(count(html, "class=\"front\""), 1u);
  EXPECT_THAT(html, HasSubstr("1 in 3 of the 9000 points off the front drawn"));
}

TEST(SweepPage, ScattersFrontAndSensitivity) {
  // Four feasible points and one infeasible; a (1 or 2) moves latency from
  // medians 2 to 6 (overall median 4: effect 100%), b barely (4 and 4.5...).
  auto point = [](const std::string& key, const std::string& status, int a, int b, double lat,
                  double acc, bool front) {
    return nlohmann::json{{"key", key},
                          {"status", status},
                          {"reason", status == "ok" ? "" : "latency_ms = 9 > 8"},
                          {"params", {{"a", a}, {"b", b}}},
                          {"metrics", {{"lat", lat}, {"acc", acc}, {"tops", 1.0}}},
                          {"front", front}};
  };
  const nlohmann::json sweep = {
      {"name", "hand"},
      {"objectives",
       {{{"metric", "lat"}, {"goal", "min"}},
        {{"metric", "acc"}, {"goal", "max"}},
        {{"metric", "tops"}, {"goal", "min"}}}},
      {"parameters", {"a", "b"}},
      {"points",
       {point("k1", "ok", 1, 1, 1, 60, true), point("k2", "ok", 1, 2, 3, 70, true),
        point("k3", "ok", 2, 1, 5, 65, false), point("k4", "ok", 2, 2, 7, 75, true),
        point("k5", "infeasible", 2, 2, 9, 80, false)}}};
  const std::string html = reports::sweep_html(sweep);
  EXPECT_EQ(count(html, "<svg"), 3u);  // lat-acc, lat-tops, acc-tops
  EXPECT_EQ(count(html, "class=\"front\""), 3u * 3);
  EXPECT_EQ(count(html, "class=\"infeasible\""), 3u);
  EXPECT_THAT(html, HasSubstr("<title>ok\na = 2\nb = 2\nacc = 75\nlat = 7\ntops = 1</title>"));
  EXPECT_THAT(html, HasSubstr("infeasible: latency_ms = 9 &gt; 8"));
  EXPECT_THAT(html, HasSubstr("5 points: 4 feasible, 1 infeasible, 0 failed; 3 on the Pareto"));
  // a: medians 2 (1, 3) and 6 (5, 7), overall 4: 100%. b: 3 (1, 5) and 5
  // (3, 7): 50%. a ranks first.
  EXPECT_THAT(html, HasSubstr("<li>a: 100.0%</li><li>b: 50.0%</li>"));
  EXPECT_THAT(html, HasSubstr("<tr><td>a</td><td>2</td><td>3</td><td>2</td><td>1</td><td>6</td>"
                              "<td>70</td><td>1</td></tr>"));
}

}  // namespace
}  // namespace tessel

namespace tessel {
namespace {

// ZDT1 (Zitzler, Deb, Thiele 2000) on a 41 x 41 grid: f1 = x, f2 = g (1 -
// sqrt(x / g)), g = 1 + 9 y. The Pareto front is exactly the 41 points with
// y = 0.
struct Zdt1Run {
  std::set<std::pair<int, int>> evaluated;
  std::size_t front_found = 0;  // true-front points among the non-dominated evaluated
  std::size_t off_front = 0;    // non-dominated evaluated points not on the true front
};

Zdt1Run run_zdt1(const std::string& strategy_json) {
  std::string values = "[0";
  for (int i = 1; i <= 40; ++i) values += "," + std::to_string(i);
  values += "]";
  auto spec = explorer::load_sweep(write_spec(R"({"arch": ")" + arch() +
                                              R"(", "workload": "resnet", "parameters": [
        {"path": "model.width_mult", "values": [1.0]}],
      "objectives": [{"metric": "totals.latency_ms", "goal": "min"},
                     {"metric": "totals.cycles", "goal": "min"}], "strategy": )" +
                                              strategy_json + "}"));
  // Two synthetic parameters; only the strategy sees them.
  spec.parameters.clear();
  for (const char* name : {"arch.x", "arch.y"}) {
    explorer::Parameter p;
    p.path = name;
    for (int i = 0; i <= 40; ++i) p.values.push_back(i);
    spec.parameters.push_back(p);
  }
  auto strategy = explorer::make_strategy(spec);
  Zdt1Run run;
  std::vector<std::vector<double>> objectives;
  std::vector<std::pair<int, int>> points;
  for (auto batch = strategy->ask(7); !batch.empty(); batch = strategy->ask(7)) {
    // Tell in reverse, as workers finish out of order.
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
      const int x = (*it)[0].get<int>(), y = (*it)[1].get<int>();
      const double f1 = x / 40.0, g = 1 + 9 * y / 40.0;
      const std::vector<double> f = {f1, g * (1 - std::sqrt(f1 / g))};
      if (run.evaluated.insert({x, y}).second) {
        objectives.push_back(f);
        points.push_back({x, y});
      }
      strategy->tell(*it, f);
    }
  }
  for (auto i : explorer::pareto_front(objectives, {true, true})) {
    (points[i].second == 0 ? run.front_found : run.off_front)++;
  }
  return run;
}

TEST(Nsga2, FindsTheZdt1FrontBetterThanRandomSearch) {
  const auto nsga = run_zdt1(R"({"name": "nsga2", "population": 32, "generations": 40})");
  // Deterministic for a seed.
  EXPECT_EQ(run_zdt1(R"({"name": "nsga2", "population": 32, "generations": 40})").evaluated,
            nsga.evaluated);
  // It searched, not enumerated: far fewer points than the 1681.
  EXPECT_LT(nsga.evaluated.size(), 1681u / 2);
  // Random search with the same budget, as the baseline.
  const auto random =
      run_zdt1(fmt::format(R"({{"name": "random", "samples": {}}})", nsga.evaluated.size()));
  std::cout << "NSGA-II: " << nsga.evaluated.size() << " points, " << nsga.front_found
            << " of 41 front points, " << nsga.off_front << " off; random: " << random.front_found
            << " found, " << random.off_front << " off\n";
  EXPECT_GE(nsga.front_found, 35u);
  EXPECT_EQ(nsga.off_front, 0u);  // the true front dominates every y > 0 point
  EXPECT_GT(nsga.front_found, 2 * random.front_found);
}

}  // namespace
}  // namespace tessel
