// Property tests of what physics guarantees, over random layers on every
// shipped preset: more SRAM, more DRAM or DMA bandwidth, or fewer DMA set-up
// cycles never make the mapped result slower, and more SRAM never moves more
// DRAM bytes. Each case maps the layer afresh at both settings (the mapper
// may choose another tiling) and simulates both.
//
// What holds exactly: DRAM bytes never grow with SRAM. What holds within a
// bound, and why:
// - The planner's expected cycles: every candidate's cost falls with each
//   resource, and a larger buffer offers every split a smaller one did, so
//   the best falls too; but a layer's cost counts the part of its first
//   weight load hidden in the layer before (MapContext::dma_idle_cycles),
//   which depends on that layer's choice. Measured: at most 0.28% higher.
// - The simulated cycles follow the planner's choice, which is only as good
//   as its cost model: a plan the model ranks first can simulate slower
//   than the one it displaced. Measured on these 800 cases: 7 slower, by at
//   most 3.4% (a GEMV pair on gemmini_like, where the next layer's second
//   weight tile, prefetched early, queues ahead of the input it waits for).

#include <algorithm>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "arch/config.h"
#include "fork_sim.h"
#include "workloads/estimate.h"
#include "workloads/importers.h"
#include "workloads/lowering/lower.h"
#include "workloads/lowering/mapper.h"
#include "workloads/zoo/registry.h"

namespace tessel {
namespace {

using testing::simulate_in_child;

const char* kPresets[] = {"edge_npu", "gemmini_like", "fsd_npu_like", "tpu_v1_like",
                          "eyeriss_like"};

std::string preset_path(const char* name) {
  return fmt::format("{}/configs/arch/{}.json", TESSEL_SOURCE_DIR, name);
}

// A random one- or two-layer workload: a convolution (dense, grouped or
// depthwise) or a GEMM, optionally followed by a second layer that reads its
// output (so residency decisions are part of the case).
nlohmann::json random_workload(std::mt19937& rng) {
  auto pick = [&](std::initializer_list<std::uint64_t> v) {
    std::uniform_int_distribution<std::size_t> d(0, v.size() - 1);
    return *(v.begin() + d(rng));
  };
  auto layer = [&](const std::string& name, bool first) {
    nlohmann::json l;
    l["name"] = name;
    if (!first) l["inputs"] = nlohmann::json::array({"a"});
    if (std::uniform_int_distribution<int>(0, 1)(rng) == 0) {
      const std::uint64_t c = pick({8, 16, 24, 64, 96, 160});
      const std::uint64_t hw = pick({7, 14, 28, 56});
      l.update({{"type", "conv2d"}, {"in_h", hw}, {"in_w", hw}, {"in_c", c}});
      const std::uint64_t kernel = pick({1, 3});
      l.update({{"kernel_h", kernel},
                {"kernel_w", kernel},
                {"pad_h", kernel / 2},
                {"pad_w", kernel / 2},
                {"stride_h", pick({1, 2})}});
      l["stride_w"] = l["stride_h"];
      if (kernel == 3 && pick({0, 1}) == 1) {
        l.update({{"out_c", c}, {"groups", c}});  // depthwise
      } else {
        l["out_c"] = pick({8, 32, 64, 128, 256});
      }
    } else {
      l.update({{"type", "gemm"},
                {"m", pick({1, 7, 64, 128, 384})},
                {"n", pick({16, 64, 256, 768})},
                {"k", pick({16, 96, 512, 1024})}});
    }
    return l;
  };
  nlohmann::json w = {{"name", "random"}, {"layers", nlohmann::json::array({layer("a", true)})}};
  if (std::uniform_int_distribution<int>(0, 1)(rng) == 1) {
    // The second layer must accept the first one's output shape: a 1x1
    // conv over a conv output, a GEMM over a GEMM output.
    nlohmann::json b;
    const auto& a = w["layers"][0];
    b["name"] = "b";
    b["inputs"] = nlohmann::json::array({"a"});
    if (a["type"] == "conv2d") {
      const std::uint64_t stride = a["stride_h"];
      const std::uint64_t hw = (a["in_h"].get<std::uint64_t>() + stride - 1) / stride;
      b.update({{"type", "conv2d"},
                {"in_h", hw},
                {"in_w", hw},
                {"in_c", a["out_c"]},
                {"kernel_h", 1},
                {"out_c", pick({16, 64, 128})}});
    } else {
      b.update({{"type", "gemm"}, {"m", a["m"]}, {"k", a["n"]}, {"n", pick({16, 64, 256})}});
    }
    w["layers"].push_back(b);
  }
  return w;
}

struct Outcome {
  std::uint64_t cycles = 0;
  std::uint64_t dram_bytes = 0;
  std::uint64_t estimated_cycles = 0;  // the analytical estimate, same schedule
};

Outcome run(const workloads::Workload& w, const std::string& preset,
            const std::vector<std::string>& sets) {
  const arch::Config config = arch::load_config(preset, sets);
  const auto r = simulate_in_child(config, workloads::lower(w, config).trace);
  EXPECT_FALSE(r.contains("error")) << r.dump();
  if (r.contains("error")) return {};
  const auto& t = r["totals"];
  return {t["cycles"].get<std::uint64_t>(),
          t["dram_read_bytes"].get<std::uint64_t>() + t["dram_write_bytes"].get<std::uint64_t>(),
          workloads::estimate(w, config).cycles.count()};
}

// A knob step: the --set overrides that give more of a resource.
struct Step {
  const char* knob;
  std::vector<std::string> (*more)(const arch::Config&);
};

const Step kSteps[] = {
    {"sram[0].capacity_bytes x2",
     [](const arch::Config& c) {
       return std::vector<std::string>{
           fmt::format("sram[0].capacity_bytes={}", c.sram[0].capacity_bytes * 2)};
     }},
    {"dram bandwidth x1.5",
     [](const arch::Config& c) {
       return std::vector<std::string>{fmt::format("dram.channel_bandwidth_gb_per_s={}",
                                                   c.dram.channel_bandwidth_gb_per_s * 1.5)};
     }},
    {"dma.bytes_per_cycle x2",
     [](const arch::Config& c) {
       return std::vector<std::string>{
           fmt::format("dma.bytes_per_cycle={}", c.dma.bytes_per_cycle * 2)};
     }},
    {"dma.setup_cycles / 2",
     [](const arch::Config& c) {
       return std::vector<std::string>{fmt::format("dma.setup_cycles={}", c.dma.setup_cycles / 2)};
     }},
};

constexpr int kTrials = 40;

TEST(Properties, MoreOfAResourceIsNeverSlowerOnRandomLayers) {
  std::mt19937 rng(2026);
  int cases = 0, slower = 0;
  double worst = 1.0;  // the largest ratio of cycles after to before
  for (int trial = 0; trial < kTrials; ++trial) {
    for (const char* preset : kPresets) {
      const nlohmann::json spec = random_workload(rng);
      const auto w = workloads::parse_workload_json(spec, "random.json");
      const std::string path = preset_path(preset);
      const arch::Config base = arch::load_config(path);
      const Outcome before = run(w, path, {});
      for (const Step& step : kSteps) {
        SCOPED_TRACE(fmt::format("{} on {}, {}", spec.dump(), preset, step.knob));
        const Outcome after = run(w, path, step.more(base));
        EXPECT_LE(static_cast<double>(after.estimated_cycles),
                  static_cast<double>(before.estimated_cycles) * 1.005)
            << "the planner expects more of a resource to be slower";
        EXPECT_LE(static_cast<double>(after.cycles), static_cast<double>(before.cycles) * 1.04)
            << "more of a resource made it slower";
        if (after.cycles > before.cycles) ++slower;
        worst = std::max(worst, static_cast<double>(after.cycles) /
                                    static_cast<double>(std::max<std::uint64_t>(before.cycles, 1)));
        if (std::string(step.knob).starts_with("sram")) {
          EXPECT_LE(after.dram_bytes, before.dram_bytes) << "more SRAM moved more DRAM bytes";
        }
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, kTrials * 5 * 4);
  EXPECT_LE(slower, cases / 100) << "more than 1% of the cases got slower";
  // For the issue notes: how far from strict monotonicity.
  std::cout << fmt::format("[ measured ] {} of {} knob steps slower, at most by {:.1f}%\n", slower,
                           cases, 100 * (worst - 1));
}

// A mapper that returns the mapping the test set, to lower a layer with a
// candidate the real mapper rejected.
// With g_tile_of set, only that layer takes the test's tile (the mapper's
// candidate of that shape and order, priced in the layer's own context),
// and the others the single-level mapper's choice.
workloads::Mapping g_fixed;
struct FixedTile {
  std::string layer;
  std::uint64_t tm = 0, tn = 0, tk = 0;
  std::string order;
} g_tile_of;
class Fixed : public workloads::IMapper {
 public:
  workloads::Mapping map(const workloads::Layer& layer,
                         const workloads::MapContext& context) const override {
    if (g_tile_of.layer.empty()) return g_fixed;
    const auto mapper = workloads::make_mapper("single_level", "test_fixed");
    if (layer.name != g_tile_of.layer) return mapper->map(layer, context);
    for (const auto& m : mapper->candidates(layer, context))
      if (m.tm == g_tile_of.tm && m.tn == g_tile_of.tn && m.tk == g_tile_of.tk &&
          m.order == g_tile_of.order)
        return m;
    throw std::runtime_error("test_fixed: no candidate of the test's tile");
  }
};
TESSEL_REGISTER_MAPPER("test_fixed", "tests only: the mapping the test set", Fixed);

TEST(Properties, TheChosenPlanSimulatesNoSlowerThanTheBestRejected) {
  // A sample of the zoo's array layers (each alone, its operands in DRAM,
  // layer at a time) on every preset: the chosen mapping, and the three the
  // mapper ranked next plus every seventh of the rest (at most five), each
  // lowered and simulated. The aim is the chosen one within 1% of the best
  // of them. Measured: 82 of 85 samples are; the other 3 are 1.1-4.3%
  // slower. The cost model misprices a few plans, mostly on eyeriss_like
  // (one DMA channel): MobileNetV2's conv_stem in 196-row tiles is expected
  // at 411,669 cycles and simulates 437,243, against 419,343 for the 49-row
  // tiles it rejected (expected 434,917). The test holds what is measured.
  const char* models[] = {"resnet50", "mobilenet_v2", "bert:layers=1", "gpt:mode=decode,layers=1"};
  int checked = 0, within_1pct = 0;
  for (const char* preset : kPresets) {
    const std::string path = preset_path(preset);
    const arch::Config config = arch::load_config(path, {"schedule.residency=none"});
    const arch::Config fixed =
        arch::load_config(path, {"schedule.residency=none", "schedule.mapper=test_fixed"});
    const auto mapper = workloads::make_mapper("single_level", path);
    for (const char* model : models) {
      // Eyeriss runs 16-bit MACs only.
      std::string spec = model;
      if (std::string(preset) == "eyeriss_like")
        spec += (spec.find(':') == std::string::npos ? ":" : ",") + std::string("precision=int16");
      const auto zoo = workloads::zoo::build(spec);
      std::vector<workloads::Layer> sample;
      for (const auto& l : zoo.layers) {
        if (!l.on_array() || l.second != workloads::OperandSource::kParameters) continue;
        if (sample.size() < 6 && (sample.empty() || l.macs() != sample.back().macs()))
          sample.push_back(l);
      }
      for (workloads::Layer layer : sample) {
        layer.inputs.clear();
        layer.weights_of.reset();
        workloads::Workload w;
        w.name = layer.name;
        w.layers = {layer};
        const auto ranked = mapper->candidates(w.layers[0], workloads::MapContext(config));
        std::vector<workloads::Mapping> rejected;
        for (std::size_t i = 1; i < ranked.size(); ++i)
          if ((i <= 3 || i % 7 == 0) && rejected.size() < 5) rejected.push_back(ranked[i]);
        if (rejected.empty()) continue;
        auto simulated = [&](const workloads::Mapping& m) {
          g_fixed = m;
          const auto r = simulate_in_child(fixed, workloads::lower(w, fixed).trace);
          EXPECT_FALSE(r.contains("error")) << r.dump();
          return r.contains("error") ? UINT64_MAX : r["totals"]["cycles"].get<std::uint64_t>();
        };
        const std::uint64_t chosen = simulated(ranked[0]);
        std::uint64_t best = UINT64_MAX;
        std::string best_plan;
        for (const auto& m : rejected) {
          const std::uint64_t c = simulated(m);
          if (c < best) {
            best = c;
            best_plan = fmt::format("{}x{}x{}x{} {} (expected {})", m.tm, m.tn, m.tk, m.tg, m.order,
                                    m.estimated_cycles);
          }
        }
        if (chosen <= 1.01 * static_cast<double>(best)) ++within_1pct;
        EXPECT_LE(static_cast<double>(chosen), 1.05 * static_cast<double>(best))
            << preset << " " << model << " " << layer.name << ": chosen "
            << fmt::format("{}x{}x{}x{} {} (expected {})", ranked[0].tm, ranked[0].tn, ranked[0].tk,
                           ranked[0].tg, ranked[0].order, ranked[0].estimated_cycles)
            << " " << chosen << " cycles, rejected " << best_plan << " " << best;
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 60);
  EXPECT_GE(within_1pct, checked * 95 / 100) << within_1pct << " of " << checked << " within 1%";
  std::cout << fmt::format("[ measured ] {} of {} chosen plans within 1% of the best rejected\n",
                           within_1pct, checked);
}

TEST(Mapping, TwoKPartsTakeTheLongerSlotChain) {
  // Mamba's in_proj (1024 x 768 -> 1536) on tpu_v1_like after its
  // embedding and norm, with a SiLU after, so that its input and output
  // stay on chip; in tiles of 1024 x 256 x 512: K = 768 runs as a 512 and a
  // 256 part, so each of the two weight slots always holds the same part.
  // The next output tile's 512-deep weights (128 KiB) load into the slot
  // this tile's first GEMM frees, and its first GEMM waits for them: each
  // of the 6 output tiles takes at least that GEMM c0 and that load L0
  // (setup, the bytes on the DRAM bus, the latency), more than c0 + c1 or
  // the mean of the two slots' chains (the cost model's old price:
  // expected 12% faster than it simulates).
  const std::string path = preset_path("tpu_v1_like");
  const arch::Config config =
      arch::load_config(path, {"schedule.fusion=none", "schedule.mapper=test_fixed"});
  const auto w = workloads::parse_workload_json(
      {{"name", "in_proj"},
       {"layers",
        {{{"name", "embed"},
          {"type", "embedding"},
          {"tokens", 1024},
          {"dim", 768},
          {"vocab", 50280}},
         {{"name", "norm"}, {"type", "rmsnorm"}, {"rows", 1024}, {"row_length", 768}},
         {{"name", "in_proj"}, {"type", "gemm"}, {"m", 1024}, {"k", 768}, {"n", 1536}},
         {{"name", "act"}, {"type", "silu"}, {"elements", 1024 * 1536}}}}},
      "in_proj.json");
  g_tile_of = {"in_proj", 1024, 256, 512, "nmk"};
  const auto lowered = workloads::lower(w, config);
  g_tile_of = {};
  ASSERT_TRUE(lowered.residency.resident(lowered.residency.tensor_of[1]));
  ASSERT_TRUE(lowered.residency.resident(lowered.residency.tensor_of[2]));
  const auto r = simulate_in_child(config, lowered.trace);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  const double simulated = r["layers"][2]["cycles"].get<double>();
  const double c0 =
      static_cast<double>(arch::gemm_cycles(config.array, {1024, 256, 512, 1}).count());
  const double c1 =
      static_cast<double>(arch::gemm_cycles(config.array, {1024, 256, 256, 1}).count());
  const double bus = config.dram.channels * config.dram.channel_bandwidth_gb_per_s * 1000 /
                     config.clock_mhz;  // bytes per cycle
  const double l0 = config.dma.setup_cycles + 512.0 * 256 / bus +
                    static_cast<double>(config.dram.latency_cycles.count());
  ASSERT_GT(l0, c1);  // the slot chain, not the array, sets the pace
  EXPECT_GT(simulated, 6 * (c0 + l0));
  EXPECT_NEAR(static_cast<double>(lowered.mappings[2].estimated_cycles), simulated,
              0.02 * simulated);
  std::cout << fmt::format("[ measured ] in_proj expected {} cycles, simulated {}\n",
                           lowered.mappings[2].estimated_cycles, simulated);
}

}  // namespace
}  // namespace tessel
