// SystemC model tests. Each simulation runs in its own forked process.
// Expected cycle counts are derived by hand in the comments from the
// timing model documented in docs/simulator.md.

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "arch/config.h"
#include "arch/cost.h"
#include "arch/json_reader.h"
#include "arch/systolic.h"
#include "fork_sim.h"
#include "workloads/actions.h"
#include "workloads/estimate.h"
#include "workloads/importers.h"
#include "workloads/lowering/fusion.h"
#include "workloads/lowering/lower.h"
#include "workloads/zoo/registry.h"

namespace tessel {
namespace {

using testing::simulate_in_child;
using workloads::Instruction;
using workloads::Opcode;

// 4x4 ws array at 1 GHz; one double-buffered buffer with 64 B/cycle per
// slot; DMA: setup 10 cycles, 16 B/cycle per channel; DRAM 8 B/cycle,
// 50 cycles latency.
nlohmann::json small_arch() {
  return nlohmann::json::parse(R"({
    "name": "small", "clock_mhz": 1000,
    "array": {"rows": 4, "cols": 4, "dataflow": "ws"},
    "sram": [{"name": "buf", "capacity_bytes": 65536, "banks": 2, "bank_bytes_per_cycle": 64,
              "holds": ["input", "weight", "output"]},
             {"name": "narrow", "capacity_bytes": 65536, "banks": 2, "bank_bytes_per_cycle": 2,
              "holds": ["input"]}],
    "dma": {"channels": 1, "bytes_per_cycle": 16, "setup_cycles": 10, "max_outstanding": 1},
    "dram": {"channels": 1, "channel_bandwidth_gb_per_s": 8, "latency_ns": 50}
  })");
}

arch::Config config_with(const std::vector<std::pair<std::string, nlohmann::json>>& changes) {
  auto j = small_arch();
  for (const auto& [path, value] : changes) j[nlohmann::json::json_pointer(path)] = value;
  return arch::parse_config(j, "small.json");
}

Instruction transfer(Opcode op, std::uint64_t bytes, int src, std::uint32_t src_slot, int dst,
                     std::uint32_t dst_slot, std::vector<std::uint32_t> deps = {}) {
  Instruction i;
  i.op = op;
  i.rows = 1;
  i.row_bytes = bytes;
  i.src = {src, src_slot};
  i.dst = {dst, dst_slot};
  i.deps.assign(deps.begin(), deps.end());
  return i;
}

// The 16x4x4 GEMM the hand-timed tests use (one fold on the 4x4 array:
// 26 cycles on ws), reading and writing the given (level, slot) places.
Instruction gemm_16x4x4(workloads::Location input, workloads::Location weight,
                        workloads::Location output, std::vector<std::uint32_t> deps = {}) {
  Instruction i;
  i.op = Opcode::kGemm;
  i.shape = {16, 4, 4, 1};
  i.input = input;
  i.weight = weight;
  i.output = output;
  i.deps.assign(deps.begin(), deps.end());
  return i;
}

workloads::Trace trace_of(std::vector<Instruction> insts) {
  workloads::Trace t;
  t.workload = "hand";
  t.layers = {"l0"};
  for (std::uint32_t i = 0; i < insts.size(); ++i) insts[i].id = i;
  t.instructions = std::move(insts);
  return t;
}

std::uint64_t cycles_of(const nlohmann::json& report) {
  EXPECT_FALSE(report.contains("error")) << report.dump();
  return report["totals"]["cycles"].get<std::uint64_t>();
}

TEST(DmaTiming, DramBoundLoad) {
  // setup: issue at 0, request at 10. DRAM: 1600 B / 8 = 200 cycles -> 210,
  // + 50 latency = 260. Channel: 10 + 1600/16 = 110 (+50 = 160). SRAM
  // write: from 60, 1600/64 = 25 -> 85. Completion = 260.
  const auto r =
      simulate_in_child(config_with({}), trace_of({transfer(Opcode::kLoad, 1600, -1, 0, 0, 0)}));
  EXPECT_EQ(cycles_of(r), 260u);
  EXPECT_EQ(r["totals"]["dram_read_bytes"], 1600);
  EXPECT_EQ(r["units"]["dram"]["busy_cycles"], 200);
}

TEST(DmaTiming, ChannelBoundLoad) {
  // DRAM at 64 B/cycle: 10 + 25 = 35 (+50 = 85); channel 10 + 100 = 110,
  // +50 = 160 bounds the transfer.
  const auto r = simulate_in_child(config_with({{"/dram/channel_bandwidth_gb_per_s", 64}}),
                                   trace_of({transfer(Opcode::kLoad, 1600, -1, 0, 0, 0)}));
  EXPECT_EQ(cycles_of(r), 160u);
}

TEST(DmaTiming, TwoChannelsShareTheDramBus) {
  // Both issue at 0 and reach DRAM at 10: the first holds the bus [10, 210),
  // the second [210, 410); + 50 latency -> 460.
  const auto r = simulate_in_child(config_with({{"/dma/channels", 2}}),
                                   trace_of({transfer(Opcode::kLoad, 1600, -1, 0, 0, 0),
                                             transfer(Opcode::kLoad, 1600, -1, 0, 0, 1)}));
  EXPECT_EQ(cycles_of(r), 460u);
}

TEST(DmaTiming, OutstandingRequestsHideLatency) {
  // One channel. max_outstanding 1: the second load starts when the first
  // completes (260): request 270, bus [270, 470), done 520.
  // max_outstanding 2: it starts when the first has streamed (210): request
  // 220, bus [220, 420), done 470.
  const auto two = trace_of(
      {transfer(Opcode::kLoad, 1600, -1, 0, 0, 0), transfer(Opcode::kLoad, 1600, -1, 0, 0, 1)});
  EXPECT_EQ(cycles_of(simulate_in_child(config_with({}), two)), 520u);
  EXPECT_EQ(cycles_of(simulate_in_child(config_with({{"/dma/max_outstanding", 2}}), two)), 470u);
}

TEST(DmaTiming, SramPortBoundMove) {
  // MOVE buf -> narrow (1 bank of 2 B/cycle per slot): 10 + 256 / 2 = 138;
  // the channel (10 + 16) and the source port (10 + 4) are faster.
  const auto r = simulate_in_child(
      config_with({}),
      trace_of({transfer(Opcode::kLoad, 256, -1, 0, 0, 0),         // 10 + 32 + 50 = 92
                transfer(Opcode::kMove, 256, 0, 0, 1, 0, {0})}));  // 92 + 138 = 230
  EXPECT_EQ(cycles_of(r), 230u);
}

TEST(EndToEnd, SingleTileLayerByHand) {
  // Two channels; the controller issues one instruction per cycle (0, 1,
  // 2, 3). Input load: request 10, bus [10, 42), done 92. Weight load:
  // issued at 1, request 11, bus [42, 74), done 124. GEMM 16x4x4 on 4x4 ws:
  // one fold, 2*4 + 4 + 16 - 2 = 26 cycles, [124, 150). Store 64 B: request
  // 160, bus [160, 168), + 50 = 218. Stalls: 124 waiting for the weight load
  // (1 for its issue, dispatch; 123 DRAM), 68 for the store (DRAM).
  const auto gemm = gemm_16x4x4({0, 0}, {0, 1}, {0, 0}, {0, 1});
  auto ld_in = transfer(Opcode::kLoad, 256, -1, 0, 0, 0);
  ld_in.operand = arch::Operand::kInput;
  auto ld_w = transfer(Opcode::kLoad, 256, -1, 0, 0, 1);
  ld_w.operand = arch::Operand::kWeight;
  auto st = transfer(Opcode::kStore, 64, 0, 0, -1, 0, {2});
  st.operand = arch::Operand::kOutput;
  const auto r =
      simulate_in_child(config_with({{"/dma/channels", 2}}), trace_of({ld_in, ld_w, gemm, st}));
  EXPECT_EQ(cycles_of(r), 218u);
  const auto& l = r["layers"][0];
  EXPECT_EQ(l["compute_cycles"], 26);
  EXPECT_EQ(l["stall_cycles"], 192);
  EXPECT_EQ(l["stall_by_cause"]["dram"], 191);
  EXPECT_EQ(l["stall_by_cause"]["dispatch"], 1);
  EXPECT_EQ(l["macs"], 16 * 4 * 4);
  EXPECT_DOUBLE_EQ(l["mapping_efficiency"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(l["utilization"].get<double>(), 256.0 / (16.0 * 218));
}

TEST(EndToEnd, SramPortStretchIsAnSramStall) {
  // The GEMM reads its input from `narrow` (2 B/cycle per slot): ws reads
  // m * k * col_folds = 64 B -> 32 cycles against 26 of compute: 6 SRAM stall.
  const auto gemm = gemm_16x4x4({1, 0}, {0, 1}, {0, 0});
  const auto r = simulate_in_child(config_with({}), trace_of({gemm}));
  EXPECT_EQ(cycles_of(r), 32u);
  EXPECT_EQ(r["totals"]["compute_cycles"], 26);
  EXPECT_EQ(r["totals"]["stall_by_cause"]["sram"], 6);
}

TEST(Controller, TheEstimatePricesLayerSetUp) {
  // MobileNetV2 (54 layers fused) on edge_npu: with 5 us of host set-up per
  // layer the controller runs ahead and only the first shows; with 200 us
  // (as a per-layer kernel launch on a slow host) the set-ups bound the
  // run: the last layer starts after all 54. The estimate follows both.
  const auto w = workloads::zoo::build("mobilenet_v2");
  for (const char* lc : {"5000", "200000"}) {
    SCOPED_TRACE(lc);
    const auto config =
        arch::load_config(std::string(TESSEL_SOURCE_DIR) + "/configs/arch/edge_npu.json",
                          {std::string("controller.layer_cycles=") + lc});
    const auto e = workloads::estimate(w, config);
    const auto r = simulate_in_child(config, workloads::lower(w, config).trace);
    const double sim = r["totals"]["cycles"].get<double>();
    EXPECT_NEAR(static_cast<double>(e.cycles.count()) / sim, 1.0, 0.01);
    if (std::string(lc) == "200000") {
      EXPECT_GE(sim, 200000.0 * static_cast<double>(e.layers.size()));
    }
  }
}

TEST(Controller, TheEstimatePricesInstructionIssue) {
  // The same network at 100 and 400 cycles per issued instruction: the
  // controller no longer keeps ahead of the units (at 400 it sets the pace:
  // the run takes the issue cost of every instruction, less one, and the
  // barrier). The estimate counts each layer's instructions from its
  // mapping (Mapper.PlannedDramBytesAreTheTraces checks the counts) and
  // follows; before, it was 11% and 78% short.
  const auto w = workloads::zoo::build("mobilenet_v2");
  for (const std::uint64_t ic : {100, 400}) {
    SCOPED_TRACE(ic);
    const auto config =
        arch::load_config(std::string(TESSEL_SOURCE_DIR) + "/configs/arch/edge_npu.json",
                          {fmt::format("controller.issue_cycles={}", ic)});
    const auto e = workloads::estimate(w, config);
    const auto lowered = workloads::lower(w, config);
    const auto r = simulate_in_child(config, lowered.trace);
    const double sim = r["totals"]["cycles"].get<double>();
    EXPECT_NEAR(static_cast<double>(e.cycles.count()) / sim, 1.0, 0.01);
    if (ic == 400) {
      EXPECT_GE(sim, 400.0 * static_cast<double>(lowered.trace.instructions.size() - 1));
    }
  }
}

TEST(Controller, IssueAndLayerCostsBoundAFastProgram) {
  // Four independent 26-cycle GEMMs, GEMMs 2 and 3 in a second layer. The
  // controller spends 50 cycles on each layer and 100 per instruction:
  // issues at 50, 150 | 150 + 100 + 50 = 300, 400. The array runs [50, 76),
  // [150, 176), [300, 326), [400, 426); every idle cycle (426 - 4 x 26 =
  // 322) waits for the controller.
  const auto gemm = gemm_16x4x4({0, 0}, {0, 1}, {0, 0});
  auto t = trace_of({gemm, gemm, gemm, gemm});
  t.layers = {"l0", "l1"};
  t.instructions[2].layer = t.instructions[3].layer = 1;
  const auto r = simulate_in_child(
      config_with({{"/controller/issue_cycles", 100}, {"/controller/layer_cycles", 50}}), t);
  EXPECT_EQ(cycles_of(r), 426u);
  EXPECT_EQ(r["totals"]["compute_cycles"], 4 * 26);
  EXPECT_EQ(r["totals"]["stall_by_cause"]["dispatch"], 322);
  // Free issue: the GEMMs run back to back.
  const auto free = simulate_in_child(config_with({{"/controller/issue_cycles", 0}}), t);
  EXPECT_EQ(cycles_of(free), 4u * 26);
  EXPECT_EQ(free["totals"]["stall_by_cause"]["dispatch"], 0);
}

TEST(Controller, AFullWindowHoldsTheNextInstruction) {
  // A 260-cycle LOAD (DmaTiming.DramBoundLoad) and an independent 26-cycle
  // GEMM. A window of one instruction reads the GEMM when the LOAD has
  // finished: it issues at 260 and runs [260, 286), and the array's 260
  // idle cycles wait for the controller. With room for both it issues at 1
  // and the LOAD ends last, at 260.
  const auto t =
      trace_of({transfer(Opcode::kLoad, 1600, -1, 0, 0, 0), gemm_16x4x4({0, 1}, {0, 1}, {0, 1})});
  const auto one = simulate_in_child(config_with({{"/controller/window_instructions", 1}}), t);
  EXPECT_EQ(cycles_of(one), 286u);
  EXPECT_EQ(one["totals"]["stall_by_cause"]["dispatch"], 260);
  const auto two = simulate_in_child(config_with({{"/controller/window_instructions", 2}}), t);
  EXPECT_EQ(cycles_of(two), 260u);
  // Two LOADs on one channel that keeps two in flight
  // (DmaTiming.OutstandingRequestsHideLatency): 470 cycles, but 520 when
  // the second enters the window only as the first completes (260):
  // request 270, bus [270, 470), done 520.
  const auto loads = trace_of(
      {transfer(Opcode::kLoad, 1600, -1, 0, 0, 0), transfer(Opcode::kLoad, 1600, -1, 0, 0, 1)});
  EXPECT_EQ(cycles_of(simulate_in_child(
                config_with({{"/dma/max_outstanding", 2}, {"/controller/window_instructions", 2}}),
                loads)),
            470u);
  EXPECT_EQ(cycles_of(simulate_in_child(
                config_with({{"/dma/max_outstanding", 2}, {"/controller/window_instructions", 1}}),
                loads)),
            520u);
}

TEST(EndToEnd, VectorLayerByHandAndItsStallCause) {
  // Default vector unit: 16 lanes in `buf`, ALU latency 2. LOAD 64 B: request
  // 10, bus [10, 18), + 50 = 68. relu over 64: 2 + 64 / 16 = 6 -> [68, 74).
  // STORE 64 B: request 84, bus [84, 92), + 50 = 142. The array never runs:
  // its idle time splits along the critical path into DRAM (load, store)
  // and vector.
  Instruction relu;
  relu.op = Opcode::kVector;
  relu.work = {arch::VectorOp::kRelu, 64, 1, 1, 1};
  relu.sources = {{0, 0}};
  relu.output = {0, 1};
  relu.in_bytes = relu.out_bytes = 64;
  relu.deps = {0};
  auto ld = transfer(Opcode::kLoad, 64, -1, 0, 0, 0);
  auto st = transfer(Opcode::kStore, 64, 0, 1, -1, 0, {1});
  const auto r = simulate_in_child(config_with({}), trace_of({ld, relu, st}));
  EXPECT_EQ(cycles_of(r), 142u);
  const auto& l = r["layers"][0];
  EXPECT_EQ(l["vector_cycles"], 6);
  EXPECT_EQ(l["stall_by_cause"]["vector"], 6);
  EXPECT_EQ(l["stall_by_cause"]["dram"], 136);
  EXPECT_EQ(r["units"]["vector"]["busy_cycles"], 6);
}

TEST(EndToEnd, CriticalPathSplitsIdleTimeAcrossCauses) {
  // A GEMM waiting for a vector op that waits for a load: the array's idle
  // time is the load (DRAM) then the vector op.
  auto ld = transfer(Opcode::kLoad, 64, -1, 0, 0, 0);  // done 68
  Instruction relu;
  relu.op = Opcode::kVector;
  relu.work = {arch::VectorOp::kGelu, 64, 1, 1, 1};  // ALU 2 + 12, exp 8 + 16 = 38
  relu.sources = {{0, 0}};
  relu.output = {0, 1};
  relu.in_bytes = relu.out_bytes = 64;
  relu.deps = {0};
  const auto gemm = gemm_16x4x4({0, 1}, {0, 1}, {0, 0}, {1});
  const auto r = simulate_in_child(config_with({}), trace_of({ld, relu, gemm}));
  EXPECT_EQ(cycles_of(r), 68u + 38 + 26);
  const auto& l = r["layers"][0];
  EXPECT_EQ(l["stall_by_cause"]["dram"], 68);
  EXPECT_EQ(l["stall_by_cause"]["vector"], 38);
  EXPECT_EQ(l["compute_cycles"], 26);
}

struct Run {
  arch::Config config;
  nlohmann::json report;
};

Run run_workload(const std::string& arch_file, const std::string& workload_file,
                 const std::vector<std::string>& sets = {}) {
  const auto config = arch::load_config(std::string(TESSEL_SOURCE_DIR) + "/" + arch_file, sets);
  const auto w = workloads::load_workload(std::string(TESSEL_SOURCE_DIR) + "/" + workload_file);
  return {config, simulate_in_child(config, workloads::lower(w, config).trace)};
}

TEST(EndToEnd, StallAttributionAddsUp) {
  const auto r =
      run_workload("configs/arch/edge_npu.json", "configs/workloads/mobilenet_v2.json").report;
  std::uint64_t sum_cycles = 0;
  for (const auto& l : r["layers"]) {
    std::uint64_t causes = 0;
    for (const auto& [k, v] : l["stall_by_cause"].items()) causes += v.get<std::uint64_t>();
    EXPECT_EQ(l["compute_cycles"].get<std::uint64_t>() + causes, l["cycles"].get<std::uint64_t>())
        << l["name"];
    EXPECT_EQ(l["stall_cycles"].get<std::uint64_t>(), causes) << l["name"];
    sum_cycles += l["cycles"].get<std::uint64_t>();
  }
  EXPECT_EQ(sum_cycles, r["totals"]["cycles"].get<std::uint64_t>());
}

TEST(EndToEnd, ComputeCyclesEqualClosedFormOnScaleSimInputs) {
  // Independent of the simulator: the closed form on the untiled layers.
  const auto run =
      run_workload("configs/arch/scalesim_32x32_ws.cfg", "configs/workloads/alexnet_scalesim.csv");
  const auto w = workloads::load_workload(std::string(TESSEL_SOURCE_DIR) +
                                          "/configs/workloads/alexnet_scalesim.csv");
  for (std::size_t i = 0; i < w.layers.size(); ++i) {
    const auto expected =
        arch::gemm_cycles(arch::Dataflow::kWeightStationary, 32, 32, w.layers[i].gemm()).count();
    EXPECT_EQ(run.report["layers"][i]["compute_cycles"].get<std::uint64_t>(), expected)
        << w.layers[i].name;
    EXPECT_EQ(run.report["layers"][i]["stall_by_cause"]["sram"], 0)
        << "SCALE-Sim SRAM never stalls";
  }
}

TEST(EndToEnd, DoubleBufferingOverlapsTransfersWithCompute) {
  const std::string a = "configs/arch/edge_npu.json", w = "configs/workloads/bert_base_layer.json";
  const auto db = run_workload(a, w).report;
  const auto single =
      run_workload(a, w,
                   {"sram[0].double_buffered=false", "sram[1].double_buffered=false",
                    "sram[2].double_buffered=false"})
          .report;
  const auto cycles = db["totals"]["cycles"].get<std::uint64_t>();
  const auto compute = db["totals"]["compute_cycles"].get<std::uint64_t>();
  // Lower bounds: the array's work, and DRAM traffic at the 25.6 B/cycle peak.
  const double dram_bytes = db["totals"]["dram_read_bytes"].get<double>() +
                            db["totals"]["dram_write_bytes"].get<double>();
  EXPECT_GE(cycles, compute);
  EXPECT_GE(static_cast<double>(cycles), dram_bytes / 25.6);
  // Single buffering serialises loads, compute and stores: strictly slower,
  // with the same work.
  EXPECT_LT(cycles, single["totals"]["cycles"].get<std::uint64_t>());
  EXPECT_EQ(single["totals"]["macs"], db["totals"]["macs"]);
}

TEST(EndToEnd, EveryZooFamilySimulatesOnTheDefaultNpu) {
  const auto config =
      arch::load_config(std::string(TESSEL_SOURCE_DIR) + "/configs/arch/edge_npu.json");
  for (const char* spec :
       {"resnet18:resolution=96", "mobilenet_v2:resolution=96", "efficientnet_b0:resolution=96",
        "vit:depth=2,dim=192,heads=3", "bert:layers=2", "gpt:layers=2,sequence=64",
        "gpt:layers=2,mode=decode,kv_len=256,kv_heads=4,weight_precision=int4",
        "unet:base_channels=64", "mamba:layers=2,sequence=64",
        "perception:backbone_depth=18,height=128,width=256,decoder_layers=1"}) {
    SCOPED_TRACE(spec);
    const auto w = workloads::zoo::build(spec);
    const auto lowered = workloads::lower(w, config);
    const auto r = simulate_in_child(config, lowered.trace);
    ASSERT_FALSE(r.contains("error")) << r.dump();
    EXPECT_EQ(r["totals"]["macs"].get<std::uint64_t>(), w.macs());
    EXPECT_EQ(r["layers"].size(), lowered.workload.layers.size());
    EXPECT_GE(r["totals"]["cycles"].get<std::uint64_t>(),
              r["totals"]["compute_cycles"].get<std::uint64_t>());
  }
}

// The action counts the energy model prices are what the simulator did:
// every buffer's bytes read and written and the DRAM bytes, counted from
// the trace alone, equal the SRAM and DRAM models' own counters; the MACs
// equal the workload's; and the report's energy is the cost model applied
// to them.
TEST(Energy, ActionCountsMatchTheSimulatorAndPriceTheReport) {
  const auto config = arch::load_config(
      std::string(TESSEL_SOURCE_DIR) + "/configs/arch/edge_npu.json", {"dram.standard=hbm2"});
  for (const char* spec : {"mobilenet_v2:resolution=96", "bert:layers=1,sequence=64"}) {
    SCOPED_TRACE(spec);
    const auto workload = workloads::zoo::build(spec);
    const auto trace = workloads::lower(workload, config).trace;
    const auto r = simulate_in_child(config, trace);
    ASSERT_FALSE(r.contains("error")) << r.dump();
    arch::Actions all(config.sram.size());
    for (const auto& layer : workloads::count_actions(config, trace)) all += layer;
    const auto& sram = r["units"]["sram"];
    ASSERT_EQ(sram.size(), config.sram.size());
    for (std::size_t b = 0; b < config.sram.size(); ++b) {
      EXPECT_EQ(sram[b]["read_bytes"].get<std::uint64_t>(), all.sram_read_bytes[b]) << b;
      EXPECT_EQ(sram[b]["write_bytes"].get<std::uint64_t>(), all.sram_write_bytes[b]) << b;
    }
    EXPECT_EQ(r["totals"]["dram_read_bytes"].get<std::uint64_t>(), all.dram_read_bytes);
    EXPECT_EQ(r["totals"]["dram_write_bytes"].get<std::uint64_t>(), all.dram_write_bytes);
    // MACs: the trace's against the workload's own count (the report's
    // total is the trace's, so the workload is the independent side).
    const std::uint64_t macs = all.total_macs();
    EXPECT_EQ(macs, workload.macs());
    EXPECT_EQ(r["totals"]["macs"].get<std::uint64_t>(), macs);

    const arch::CostModel model(config);
    const auto cycles = Cycles(r["totals"]["cycles"].get<std::uint64_t>());
    const double expected = model.energy(all, cycles).total_pj();
    EXPECT_NEAR(r["totals"]["energy_pj"].get<double>(), expected, expected * 1e-12);
    // Layers' energies add up to the total (idle split by layer windows).
    double layers = 0;
    for (const auto& l : r["layers"]) layers += l["energy_pj"].get<double>();
    EXPECT_NEAR(layers, expected, expected * 1e-9);
    // Power and efficiency follow from energy and time.
    const double seconds = cycles.count() / (config.clock_mhz * 1e6);
    EXPECT_NEAR(r["totals"]["power_w"].get<double>(), expected * 1e-12 / seconds, 1e-9);
    EXPECT_NEAR(r["totals"]["tops_per_w"].get<double>(), 2.0 * macs / (expected * 1e-12) / 1e12,
                1e-9);
  }
}

// The analytical estimate prices MACs and vector work exactly as simulated,
// DRAM bytes exactly as the lowering's schedule moves them (the same
// mapping cost), on-chip buffer traffic untiled (so below the simulated),
// and idle power over its own latency (within a few percent of the
// simulated). So its energy is close to the simulated energy.
TEST(Energy, EstimateTracksTheSimulatedEnergy) {
  const auto config = arch::load_config(
      std::string(TESSEL_SOURCE_DIR) + "/configs/arch/edge_npu.json", {"dram.standard=hbm2"});
  const arch::CostModel model(config);
  for (const char* spec :
       {"mobilenet_v2", "resnet50", "bert:layers=2", "gpt:layers=2,mode=decode,kv_len=256"}) {
    SCOPED_TRACE(spec);
    const auto w = workloads::zoo::build(spec);
    const auto r = simulate_in_child(config, workloads::lower(w, config).trace);
    ASSERT_FALSE(r.contains("error")) << r.dump();
    const auto e = workloads::estimate(w, config);
    const arch::Energy est = model.energy(e.actions, e.cycles);
    const auto& sim = r["totals"]["energy_by_component_pj"];
    EXPECT_NEAR(est.mac_pj, sim["mac"].get<double>(), 1e-6 * est.mac_pj);
    EXPECT_NEAR(est.vector_pj, sim["vector"].get<double>(), 1e-6 * est.vector_pj + 1e-9);
    EXPECT_NEAR(est.dram_pj, sim["dram"].get<double>(), 1e-6 * est.dram_pj);
    EXPECT_LE(est.sram_total_pj(), sim["sram"].get<double>() * (1 + 1e-9));
    const double ratio = est.total_pj() / r["totals"]["energy_pj"].get<double>();
    EXPECT_LE(ratio, 1.05);
    EXPECT_GE(ratio, 0.6);
  }
}

// Jouppi et al. 2017, Table 2: a TPU v1 die draws 40 W busy and 28 W idle.
// The idle figure is the model's idle power density, so the independent
// part of this check is the dynamic power (busy - idle = 12 W measured).
// With activations resident in the Unified Buffer (as the TPU keeps them),
// Tessel's action energies (MACs, SRAM, DRAM, wires) come to 6.5 W on
// ResNet-50 and 4.9 W on BERT. The measured 12 W also holds the clock-tree
// and register power of the busy units, which is not modelled yet (issue
// 12), so the action energies must stay below it, yet be a sizeable part.
TEST(Energy, TpuV1PowerAgainstTheMeasuredBusyPower) {
  const auto config =
      arch::load_config(std::string(TESSEL_SOURCE_DIR) + "/configs/arch/tpu_v1_like.json");
  for (const char* spec : {"resnet:batch=16", "bert:batch=8"}) {
    SCOPED_TRACE(spec);
    const auto r =
        simulate_in_child(config, workloads::lower(workloads::zoo::build(spec), config).trace);
    ASSERT_FALSE(r.contains("error")) << r.dump();
    const double power = r["totals"]["power_w"].get<double>();
    const double idle = r["hardware"]["idle_power_w"].get<double>();
    EXPECT_LE(power, 40.0 * 1.05);  // never above the measured busy power
    EXPECT_LE(power - idle, 12.0);  // action energies below the measured dynamic power
    EXPECT_GE(power - idle, 12.0 * 0.3);
  }
}

// Eyeriss v1 (Chen et al., JSSC 2017): AlexNet's convolutions, batch 4, at
// 200 MHz draw 278 mW at 35 frames/s (off-chip DRAM excluded); core area
// 3.5 x 3.5 mm, at 1 V (the config's technology.vdd). Nothing in the
// models is calibrated on Eyeriss.
TEST(Energy, EyerissAgainstItsMeasurement) {
  const auto config =
      arch::load_config(std::string(TESSEL_SOURCE_DIR) + "/configs/arch/eyeriss_like.json");
  const auto w = workloads::parse_workload_json(
      load_json_file(std::string(TESSEL_SOURCE_DIR) + "/configs/workloads/alexnet_conv.json"),
      "alexnet_conv.json");
  EXPECT_NEAR(static_cast<double>(w.macs()) / 4, 666e6, 1e6);  // the paper's MACs per image
  const auto r = simulate_in_child(config, workloads::lower(w, config).trace);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  const auto& t = r["totals"];
  ASSERT_EQ(t["energy_by_component_pj"]["dram"].get<double>(), 0.0);  // no standard: off chip
  const double seconds = t["latency_ms"].get<double>() / 1e3;
  EXPECT_NEAR(4 / seconds, 35.0, 35.0 * 0.25);  // frames/s
  // mJ per frame: 278 mW / 35 frames/s = 7.9 mJ.
  EXPECT_NEAR(t["energy_pj"].get<double>() / 4 * 1e-9, 0.278 / 35 * 1e3, 7.9 * 0.15);
  EXPECT_NEAR(r["hardware"]["area_mm2"].get<double>(), 12.25, 12.25 * 0.15);
  // Power is energy per frame times the frame rate, which Tessel's
  // weight-stationary mapping overestimates (above): within 40%.
  EXPECT_NEAR(t["power_w"].get<double>(), 0.278, 0.278 * 0.40);
}

nlohmann::json one_layer(const std::vector<std::string>& sets, const char* layer) {
  const auto config =
      arch::load_config(std::string(TESSEL_SOURCE_DIR) + "/configs/arch/edge_npu.json", sets);
  const auto w = workloads::parse_workload_json(
      nlohmann::json::parse(std::string(R"({"layers":[)") + layer + "]}"), "synthetic.json");
  return simulate_in_child(config, workloads::lower(w, config).trace);
}

TEST(EndToEnd, RooflineBoundOfSyntheticLayers) {
  // edge_npu: 1024 MACs/cycle, 25.6 DRAM B/cycle: ridge at 40 MACs per byte.
  // Compute-bound: 256 x 256 x 4096 streams 262 K cycles and moves ~3 MB
  // (~117 K cycles of DRAM).
  const auto compute = one_layer({}, R"({"name":"l","type":"gemm","m":256,"n":256,"k":4096})");
  // DRAM-bound: a GEMV on an output-stationary array reads 4 MiB of weights
  // (164 K DRAM cycles) for 131 K streaming cycles, 1 MAC per byte.
  const auto dram =
      one_layer({"array.dataflow=os"}, R"({"name":"l","type":"gemm","m":1,"n":4096,"k":1024})");
  // Latency-bound: the same GEMV weight-stationary pays 2R + C - 2 = 94
  // cycles of fill and drain for every 1-cycle fold.
  const auto latency = one_layer({}, R"({"name":"l","type":"gemm","m":1,"n":4096,"k":1024})");
  for (const auto* r : {&compute, &dram, &latency}) ASSERT_FALSE(r->contains("error")) << r->dump();
  const auto& c = compute["layers"][0];
  const auto& d = dram["layers"][0];
  const auto& l = latency["layers"][0];
  EXPECT_EQ(c["roofline"]["bound"], "compute");
  EXPECT_EQ(d["roofline"]["bound"], "dram");
  EXPECT_EQ(l["roofline"]["bound"], "latency");
  // Consistent with the stall attribution: the compute-bound layer is
  // mostly computing; the DRAM-bound one stalls mostly on data movement
  // (DRAM, and the on-chip MOVE of weights from gbuf to wbuf that the array
  // waits on last, blamed on the DMA channel).
  EXPECT_GT(c["compute_cycles"].get<double>(), 0.5 * c["cycles"].get<double>());
  const auto& s = d["stall_by_cause"];
  EXPECT_GT(s["dram"].get<std::uint64_t>() + s["dma"].get<std::uint64_t>(),
            s["sram"].get<std::uint64_t>() + s["vector"].get<std::uint64_t>() +
                s["dependency"].get<std::uint64_t>());
  EXPECT_GT(dram["units"]["dram"]["bandwidth_utilization"].get<double>(), 0.9);
  // The roofline agrees: the GEMV's attainable is its DRAM roof (25.6 x ~1
  // MAC per byte), the square GEMM's is the peak; achieved stays below.
  EXPECT_LT(d["roofline"]["attainable_macs_per_cycle"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(c["roofline"]["attainable_macs_per_cycle"].get<double>(), 1024.0);
  for (const auto* layer : {&c, &d, &l}) {
    EXPECT_LE((*layer)["roofline"]["achieved_macs_per_cycle"].get<double>(),
              (*layer)["roofline"]["attainable_macs_per_cycle"].get<double>());
  }
}

TEST(EndToEnd, AnalyticalEstimateStaysNearTheSimulator) {
  // The estimate is the lowering's own schedule priced by the mapping cost
  // model (docs/mapping.md). Measured on this build over ResNet-50,
  // MobileNetV2, BERT-base, GPT-2 decode and EfficientNet-B0: 1.000-1.002
  // of simulated cycles on edge_npu, 0.990-1.006 on tpu_v1_like, 0.995-1.002
  // on fsd_npu_like and 0.954-0.998 on gemmini_like. The bounds are what
  // the screening relies on.
  // Per layer, issue 11's bar: each layer's expected cycles (fused layers
  // included) within 5% of its simulated cycles. Met on every layer of
  // edge_npu's ResNet-50 (56), MobileNetV2 (54), BERT-base, GPT-2 decode
  // and GPT-2 prefill of 1,024 tokens (an output tile's slots on the way
  // out, accbuf then gbuf, are each held only by their own leg), and of
  // BERT-base on fsd_npu_like and gemmini_like and ResNet-50 on
  // fsd_npu_like (the last tile's epilogue queued behind the one before
  // it). Elsewhere `misses` is what this build measures, so that a change
  // that loses a layer fails here (docs/mapping.md):
  // - tpu_v1_like ResNet-50 (2 of 56: layer3.0.conv2 expected 11% slower,
  //   layer3.0.downsample 6% faster) and EfficientNet-B0 (1 of 115), after
  //   paired steps (Mapping.PairedStepsEndAsTheClosedForm): 9 and 6 before;
  // - gemmini_like ResNet-50 (1 of 56), after residual tiles staged off the
  //   next GEMM's slot (4 -> 2) and a row layer's output tile staged in its
  //   input's slot (2 -> 1, Lowering.ARowLayersOutputTileSharesItsInputsSlot);
  // - gemmini_like EfficientNet-B0 (19 of 115), the latter: 25 before (the
  //   squeeze-excite pools' stores and the next pools' reads shared a slot
  //   port); the other misses are the se.scale layers, expected 6-13% faster,
  //   and the 1-row se.reduce GEMMs, 7-20% slower; 23 once a last store
  //   waits for the next layer's prefetches
  //   (Mapping.ALastStoreWaitsForTheNextLayersPrefetches): se.reduce's wait
  //   for se.expand's first weight tile is expected at 109 cycles and
  //   simulates at 119, but the load of its own first weight tiles during
  //   se.pool, which moves DRAM bytes, is not credited, and four more
  //   se.reduce layers pass 5% (8-13% slower); 13, all se.reduce, once a
  //   row layer's second input, staged as weight tiles, holds the next
  //   layer's first weight slot
  //   (Mapping.ARowLayersSecondInputHoldsTheNextLayersFirstWeightSlot: the
  //   se.scale layers were expected 5-13% faster);
  // - tpu_v1_like GPT-2 decode (0 of 23), after that wait: q_proj was
  //   expected 11% faster, 6 layers outside before;
  // - tpu_v1_like GPT-2 prefill of 1,024 tokens (0 of 23), after
  //   the next layer's first tile waits for the other output slot
  //   (Mapping.TheNextLayersFirstTileWaitsForTheOtherOutputSlot): 8 before;
  //   then 4, and 2 after two k parts take the longer slot chain
  //   (Mapping.TwoKPartsTakeTheLongerSlotChain), which also took Mamba from
  //   6 to 4 of 21, and 2 after a weight run waits for the next array
  //   layer's first weight tile (Mapping.AWeightRunWaitsForTheNextLayers
  //   FirstWeightTile: dt_proj was expected 12% faster), and both to 0 once
  //   output tiles of two k parts pair
  //   (Mapping.OutputTilesOfTwoKPartsPairAsTheClosedForm: in_proj_z was
  //   expected 9% slower);
  // - tpu_v1_like ViT-B/16 (2 of 24: q_proj, expected 11% slower), after the
  //   next layer's first GEMM waits for its first load
  //   (Mapping.TheNextLayersFirstGemmWaitsForItsFirstLoad): 6 before;
  // - tpu_v1_like BERT (q_proj and pooler) and gemmini_like GPT-2 decode:
  //   the simulator prefetches the next layer's first weight tiles as soon
  //   as their slots are free, and its DRAM bus serves each transfer whole,
  //   first come first served, so they delay this layer's last store and
  //   the small vector layers between (wte, ln1: 286 and 600 expected,
  //   1,742 and 2,056 simulated), where the cost model credits only the
  //   DMA's idle time.
  struct Case {
    const char* arch;
    const char* spec;
    std::size_t misses;  // layers allowed outside 5%
  };
  const Case cases[] = {{"edge_npu", "resnet50", 0},
                        {"edge_npu", "mobilenet_v2", 0},
                        {"edge_npu", "bert:layers=2", 0},
                        {"edge_npu", "gpt:mode=decode,layers=2", 0},
                        {"edge_npu", "gpt:sequence=1024,layers=2", 0},
                        {"tpu_v1_like", "resnet50", 2},
                        {"tpu_v1_like", "efficientnet_b0", 1},
                        {"tpu_v1_like", "bert:layers=2", 2},
                        {"tpu_v1_like", "gpt:sequence=1024,layers=2", 0},
                        {"tpu_v1_like", "mamba:layers=2", 0},
                        {"tpu_v1_like", "vit:depth=2", 2},
                        {"tpu_v1_like", "gpt:mode=decode,layers=2", 0},
                        {"fsd_npu_like", "resnet50", 0},
                        {"fsd_npu_like", "mobilenet_v2", 1},
                        {"fsd_npu_like", "bert:layers=2", 0},
                        {"gemmini_like", "resnet50", 1},
                        {"gemmini_like", "efficientnet_b0", 13},
                        {"gemmini_like", "gpt:mode=decode,layers=2", 6},
                        {"gemmini_like", "bert:layers=2", 0}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.arch) + " " + c.spec);
    const auto config =
        arch::load_config(std::string(TESSEL_SOURCE_DIR) + "/configs/arch/" + c.arch + ".json");
    const auto w = workloads::zoo::build(c.spec);
    const auto e = workloads::estimate(w, config);
    const auto r = simulate_in_child(config, workloads::lower(w, config).trace);
    const double ratio =
        static_cast<double>(e.cycles.count()) / r["totals"]["cycles"].get<double>();
    EXPECT_GT(ratio, 0.95);
    EXPECT_LT(ratio, 1.05);
    EXPECT_EQ(e.macs(), r["totals"]["macs"].get<std::uint64_t>());
    ASSERT_EQ(r["layers"].size(), e.layers.size());
    std::vector<std::string> outside;
    for (std::size_t l = 0; l < e.layers.size(); ++l) {
      const auto& layer = r["layers"][l];
      ASSERT_EQ(layer["name"].get<std::string>(), e.layers[l].name);
      const double sim = layer["cycles"].get<double>();
      if (sim == 0) continue;
      const double ratio_l = static_cast<double>(e.layers[l].cycles.count()) / sim;
      if (std::abs(ratio_l - 1.0) > 0.05)
        outside.push_back(fmt::format("{} {:.3f}", e.layers[l].name, ratio_l));
    }
    EXPECT_LE(outside.size(), c.misses) << fmt::format("{}", fmt::join(outside, ", "));
  }
}

TEST(EndToEnd, DeterministicAcrossRuns) {
  auto a = run_workload("configs/arch/edge_npu.json", "configs/workloads/resnet50.json").report;
  auto b = run_workload("configs/arch/edge_npu.json", "configs/workloads/resnet50.json").report;
  a["simulation"].erase("wall_seconds");
  b["simulation"].erase("wall_seconds");
  EXPECT_EQ(a, b);
}

}  // namespace
TEST(Residency, ResidentActivationsSkipDramAndNeverSlowDown) {
  // The residual chain (tests/data/residual_chain.json, derived in
  // lowering_test.cpp): resident, DRAM reads the input and both weights
  // (4096 + 256 + 256 B) and writes only the network output (4096 B); layer
  // at a time it also round-trips c1, r1 and c2. Keeping them on chip must
  // not be slower.
  for (const char* a : {"configs/arch/edge_npu.json", "configs/arch/fsd_npu_like.json"}) {
    SCOPED_TRACE(a);
    const auto resident = run_workload(a, "tests/data/residual_chain.json",
                                       {"schedule.residency=auto", "schedule.fusion=none"})
                              .report;
    const auto streamed = run_workload(a, "tests/data/residual_chain.json",
                                       {"schedule.residency=none", "schedule.fusion=none"})
                              .report;
    EXPECT_EQ(resident["totals"]["dram_read_bytes"].get<std::uint64_t>(), 4096u + 256 + 256);
    EXPECT_EQ(resident["totals"]["dram_write_bytes"].get<std::uint64_t>(), 4096u);
    EXPECT_EQ(streamed["totals"]["dram_write_bytes"].get<std::uint64_t>(), 4u * 4096);
    // The report says where each output lived: only the add's went to DRAM.
    const std::string buffer = std::string(a).find("fsd") != std::string::npos ? "sram" : "gbuf";
    for (std::size_t l = 0; l < 4; ++l) {
      EXPECT_EQ(resident["layers"][l]["output_lives"].get<std::string>(), l < 3 ? buffer : "dram");
      EXPECT_EQ(streamed["layers"][l]["output_lives"].get<std::string>(), "dram");
    }
    EXPECT_LE(resident["totals"]["cycles"].get<std::uint64_t>(),
              streamed["totals"]["cycles"].get<std::uint64_t>());
  }
}

TEST(Fusion, FusedResidualAddsAreFasterAndMoveLessDram) {
  // The residual chain layer at a time (lowering_test.cpp derives the
  // bytes): fused, c2's output never leaves the chip. ResNet-18 on the
  // default NPU: its 8 residual adds (with their ReLUs) fused into the
  // convolutions before them are faster in simulation and move no more DRAM.
  const auto fused = run_workload("configs/arch/edge_npu.json", "tests/data/residual_chain.json",
                                  {"schedule.residency=none"})
                         .report;
  const auto apart = run_workload("configs/arch/edge_npu.json", "tests/data/residual_chain.json",
                                  {"schedule.residency=none", "schedule.fusion=none"})
                         .report;
  EXPECT_EQ(fused["totals"]["dram_write_bytes"].get<std::uint64_t>(), 2u * 4096);
  EXPECT_EQ(apart["totals"]["dram_write_bytes"].get<std::uint64_t>(), 4u * 4096);
  EXPECT_LT(fused["totals"]["cycles"].get<std::uint64_t>(),
            apart["totals"]["cycles"].get<std::uint64_t>());
  const auto edge = [](const char* fusion) {
    return arch::load_config(std::string(TESSEL_SOURCE_DIR) + "/configs/arch/edge_npu.json",
                             {std::string("schedule.fusion=") + fusion});
  };
  const auto w = workloads::zoo::build("resnet18:resolution=96");
  const auto run = [&](const char* fusion) {
    const auto c = edge(fusion);
    return simulate_in_child(c, workloads::lower(w, c).trace);
  };
  const auto f = run("auto"), n = run("none");
  EXPECT_EQ(f["layers"].size(), n["layers"].size() - 16);
  EXPECT_LT(f["totals"]["cycles"].get<std::uint64_t>(), n["totals"]["cycles"].get<std::uint64_t>());
  auto dram = [](const nlohmann::json& r) {
    return r["totals"]["dram_read_bytes"].get<std::uint64_t>() +
           r["totals"]["dram_write_bytes"].get<std::uint64_t>();
  };
  EXPECT_LE(dram(f), dram(n));
}

TEST(Fusion, StripesKeepAWideChainOnChipAndRunFaster) {
  // Three 3x3 convolutions on 64x64x32 int8 (tests/data/wide_conv_chain.json,
  // 128 KiB per feature map) with a 128 KiB resident buffer and DRAM slowed
  // to 1.6 GB/s per channel: layer at a time, a's and b's outputs cannot
  // stay on chip and round-trip DRAM (3 x 128 KiB written); in row stripes
  // (workloads/lowering/stripes.h) only c's output is written, and the
  // halo the stripes recompute costs less than the DRAM traffic saved. The
  // schedule's estimate of the striped run stays within 5% of it.
  const std::vector<std::string> small = {"sram[0].capacity_bytes=131072",
                                          "dram.channel_bandwidth_gb_per_s=1.6"};
  auto with = [&](std::vector<std::string> more) {
    more.insert(more.end(), small.begin(), small.end());
    return run_workload("configs/arch/edge_npu.json", "tests/data/wide_conv_chain.json", more)
        .report;
  };
  const auto striped = with({}), apart = with({"schedule.fusion=none"});
  ASSERT_GT(striped["layers"].size(), 3u);
  for (const auto& l : striped["layers"])
    EXPECT_NE(l["name"].get<std::string>().find('@'), std::string::npos);
  EXPECT_EQ(striped["totals"]["dram_write_bytes"].get<std::uint64_t>(), 131072u);
  EXPECT_EQ(apart["totals"]["dram_write_bytes"].get<std::uint64_t>(), 3u * 131072);
  EXPECT_LT(striped["totals"]["cycles"].get<std::uint64_t>(),
            apart["totals"]["cycles"].get<std::uint64_t>());
  auto config =
      arch::load_config(std::string(TESSEL_SOURCE_DIR) + "/configs/arch/edge_npu.json", small);
  const auto e = workloads::estimate(
      workloads::load_workload(std::string(TESSEL_SOURCE_DIR) + "/tests/data/wide_conv_chain.json"),
      config);
  EXPECT_NEAR(static_cast<double>(e.cycles.count()) / striped["totals"]["cycles"].get<double>(),
              1.0, 0.05);
}

// Simulates `workload` on edge_npu with DRAM at 3.2 GB/s per channel (6.4
// B per cycle for both) with one level and with blocks: one level is bound
// by its bytes on the bus; blocks move fewer bytes (with `compute_bound`,
// fewer than the array's cycles take on the bus) and take at most
// `max_ratio` of its cycles. Each run within 5% of its expected cycles.
void expect_blocks_beat_one_level(const std::string& workload, bool compute_bound,
                                  double max_ratio) {
  auto run = [&](const char* mapper) {
    return run_workload(
        "configs/arch/edge_npu.json", workload,
        {"dram.channel_bandwidth_gb_per_s=3.2", std::string("schedule.mapper=") + mapper});
  };
  const auto one = run("single_level"), two = run("multi_level");
  auto bytes = [](const nlohmann::json& r) {
    return r["totals"]["dram_read_bytes"].get<double>() +
           r["totals"]["dram_write_bytes"].get<double>();
  };
  const double bus_bytes_per_cycle = 6.4;  // 2 channels x 3.2 GB/s at 1 GHz
  const double one_cycles = one.report["totals"]["cycles"].get<double>();
  EXPECT_GE(one_cycles, bytes(one.report) / bus_bytes_per_cycle);
  EXPECT_LT(bytes(two.report), bytes(one.report));
  if (compute_bound) {
    EXPECT_LT(bytes(two.report) / bus_bytes_per_cycle,
              two.report["totals"]["compute_cycles"].get<double>());
  }
  EXPECT_LT(two.report["totals"]["cycles"].get<double>(), max_ratio * one_cycles);
  const auto w = workloads::load_workload(std::string(TESSEL_SOURCE_DIR) + "/" + workload);
  for (const auto* r : {&one, &two}) {
    EXPECT_NEAR(static_cast<double>(workloads::estimate(w, r->config).cycles.count()) /
                    r->report["totals"]["cycles"].get<double>(),
                1.0, 0.05);
  }
}

TEST(Mapping, InputBlocksSimulateAsPlannedAndBeatOneLevel) {
  // One level moves nn I + nm W + O (Mapper.InputBlocksMoveTheHandDerivedTraffic);
  // with input blocks the bytes fall below the array's cycles, and the
  // layer is bound by its compute. Measured: 0.737 of one level's cycles.
  expect_blocks_beat_one_level("configs/workloads/gpt2_mlp_down.json", true, 0.8);
}

TEST(Mapping, WeightBlocksSimulateAsPlannedAndBeatOneLevel) {
  // One level reloads the weights for every m tile
  // (Mapper.WeightBlocksMoveTheHandDerivedTraffic); a weight block in the
  // global buffer is reused by every m tile, and the input streams once.
  // Measured: 0.742 (still bound by the bus, on fewer bytes).
  expect_blocks_beat_one_level("tests/data/tall_gemm.json", false, 0.8);
}

// A hardware config and a workload lowered on it.
struct PresetCase {
  arch::Config config;
  workloads::Lowered lowered;
};
// tpu_v1_like, unfused, and a workload of tests/data lowered on it.
PresetCase lower_on_tpu(const char* data) {
  const std::string root = TESSEL_SOURCE_DIR;
  auto config =
      arch::load_config(root + "/configs/arch/tpu_v1_like.json", {"schedule.fusion=none"});
  auto lowered = workloads::lower(workloads::load_workload(root + "/tests/data/" + data), config);
  return {std::move(config), std::move(lowered)};
}

// A preset as shipped (fusion auto), and a zoo model lowered on it.
PresetCase lower_zoo_on(const char* preset, const char* spec) {
  auto config =
      arch::load_config(std::string(TESSEL_SOURCE_DIR) + "/configs/arch/" + preset + ".json");
  auto lowered = workloads::lower(workloads::zoo::build(spec), config);
  return {std::move(config), std::move(lowered)};
}
PresetCase lower_zoo_on_tpu(const char* spec) {
  return lower_zoo_on("tpu_v1_like", spec);
}

// The index of the lowered layer called `name` (the test fails without it).
std::size_t layer_index(const workloads::Lowered& lowered, const std::string& name) {
  const auto& layers = lowered.workload.layers;
  const auto it = std::find_if(layers.begin(), layers.end(),
                               [&](const workloads::Layer& l) { return l.name == name; });
  EXPECT_NE(it, layers.end()) << name;
  return static_cast<std::size_t>(it - layers.begin());
}

// Two lowered layers by name and their mappings; nullopt (and a failed
// test) without either.
struct LayerPair {
  std::size_t first, second;
  const workloads::Mapping &first_mapping, &second_mapping;
};
std::optional<LayerPair> layer_pair(const workloads::Lowered& lowered, const std::string& first,
                                    const std::string& second) {
  const std::size_t a = layer_index(lowered, first), b = layer_index(lowered, second);
  if (std::max(a, b) >= lowered.mappings.size()) return std::nullopt;
  return LayerPair{a, b, lowered.mappings[a], lowered.mappings[b]};
}

// Layer `l` simulates within 5% of its expected cycles, and would not
// without `charge` of them: the mechanism that adds them matters there.
void expect_near_only_with(const arch::Config& config, const workloads::Lowered& lowered,
                           std::size_t l, double charge) {
  const auto r = simulate_in_child(config, lowered.trace);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  const double simulated = r["layers"][l]["cycles"].get<double>();
  const double expected = static_cast<double>(lowered.mappings[l].estimated_cycles);
  EXPECT_NEAR(expected, simulated, 0.05 * simulated);
  EXPECT_LT(expected - charge, 0.95 * simulated);
}

// The DRAM bus's bytes per cycle, from the config's own figures.
double dram_bytes_per_cycle(const arch::Config& config) {
  return config.dram.channels * config.dram.channel_bandwidth_gb_per_s * 1000 / config.clock_mhz;
}

TEST(Mapping, PairedStepsEndAsTheClosedForm) {
  // tests/data/paired_steps.json on tpu_v1_like, unfused: the conv's four
  // output tiles (784 x 256, k whole) stay on chip, each MOVEd out of the
  // accumulators into the unified buffer. A step's output slot is free
  // again a GEMM c plus a MOVE m after its GEMM began, and X = c + m is
  // longer than two GEMMs, so the GEMMs run in pairs: steps 1 and 2 start
  // right after the first load, steps 3 and 4 one chain later. The layer
  // ends with the last MOVE: first load + X + 2c + m. Pricing every step
  // at X / 2 (the steady state) would end it X / 2 - c later.
  const auto [config, lowered] = lower_on_tpu("paired_steps.json");
  const auto& plan = lowered.mappings[0];
  ASSERT_EQ(plan.tm, 784u);
  ASSERT_EQ(plan.tn, 256u);
  ASSERT_EQ(plan.tk, 64u);
  ASSERT_TRUE(lowered.residency.resident(lowered.residency.tensor_of[0]));
  const double c = static_cast<double>(
      arch::gemm_cycles(config.array, {784, 256, 64, 1}).count());  // int8: 1 MAC per PE
  const double m = config.dma.setup_cycles + 784.0 * 256 / config.dma.bytes_per_cycle;
  const double bus = dram_bytes_per_cycle(config);
  const double first = config.dma.setup_cycles + (784.0 * 64 + 64.0 * 256) / bus +
                       static_cast<double>(config.dram.latency_cycles.count());
  const double chain = c + m;
  ASSERT_GT(chain, 2 * c);
  const double pairs = first + chain + 2 * c + m;
  const double steady = first + 3 * chain / 2 + c + m;
  const auto r = simulate_in_child(config, lowered.trace);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  const double simulated = r["layers"][0]["cycles"].get<double>();
  EXPECT_NEAR(simulated, pairs, 0.002 * pairs);
  const double expected = static_cast<double>(plan.estimated_cycles);
  EXPECT_NEAR(expected, simulated, 0.005 * simulated);
  EXPECT_GT(steady - pairs, 0.05 * pairs);  // the mechanism matters here
}

TEST(Mapping, OutputTilesOfTwoKPartsPairAsTheClosedForm) {
  // One Mamba block on tpu_v1_like: in_proj_z (1,024 x 768 x 1,536, its SiLU
  // fused) in 1,024 x 256 tiles with K as 512 + 256. Each output tile is two
  // GEMMs, a = 2,814 and b = 1,790 cycles, then its SiLU e on the vector
  // unit and a MOVE m of 262,144 B out of the accumulators (50 + 262,144 /
  // 64 = 4,146): its slot is free again X = a + b + e + m after its first
  // GEMM began. X is longer than two tiles' GEMMs, so the six tiles run in
  // pairs; the second slot is free when in_proj_x's last MOVE ends, where
  // in_proj_z's window begins, so the window is the three chains of that
  // slot, 3X. The steady state prices each tile at X / 2, and the last
  // tile's drain starts X / 2 - max(a + b, e) sooner than that gives.
  const auto [config, lowered] = lower_zoo_on_tpu("mamba:layers=1");
  const std::size_t z = layer_index(lowered, "layer0.in_proj_z");
  ASSERT_LT(z, lowered.mappings.size());
  const auto& plan = lowered.mappings[z];
  ASSERT_EQ(plan.tm, 1024u);
  ASSERT_EQ(plan.tn, 256u);
  ASSERT_EQ(plan.tk, 512u);
  const double a =
      static_cast<double>(arch::gemm_cycles(config.array, {1024, 256, 512, 1}).count());
  const double b =
      static_cast<double>(arch::gemm_cycles(config.array, {1024, 256, 256, 1}).count());
  ASSERT_EQ(a, 2814);
  ASSERT_EQ(b, 1790);
  const double e = static_cast<double>(
      arch::vector_cycles(config.vector, {arch::VectorOp::kSilu, 1024, 256, 1, 1}).count());
  const double m = config.dma.setup_cycles + 1024.0 * 256 / config.dma.bytes_per_cycle;
  ASSERT_EQ(m, 4146);
  const double chain = a + b + e + m;
  ASSERT_GT(chain, 2 * (a + b));
  const auto r = simulate_in_child(config, lowered.trace);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  const double simulated = r["layers"][z]["cycles"].get<double>();
  EXPECT_EQ(simulated, 3 * chain);
  const double expected = static_cast<double>(plan.estimated_cycles);
  EXPECT_NEAR(expected, simulated, 0.05 * simulated);
  const double saving = chain / 2 - std::max(a + b, e);
  EXPECT_GT(expected + saving, 1.05 * simulated);  // the mechanism matters here
}

TEST(Mapping, TheNextLayersFirstTileWaitsForTheOtherOutputSlot) {
  // tests/data/sibling_gemms.json on tpu_v1_like, unfused: q and k both read
  // x, so k's first GEMM may run under q's drain. q's tiles are 1024 x 512 x
  // 256 (n outer, k inner): its last output tile (1024 x 256, three GEMMs
  // of c = 1,790 cycles) drains with a MOVE of 262,144 B out of the
  // accumulators, 50 + 262,144 / 64 = 4,146 cycles; the tile before it
  // (1024 x 512) with one of 50 + 524,288 / 64 = 8,242 cycles, which starts
  // when its last GEMM ends, 3c = 5,370 cycles before q's last GEMM ends.
  // The accumulators have two slots, so k's first output tile takes that
  // tile's slot: free 8,242 - 5,370 = 2,872 cycles after q's last GEMM, and
  // k's first GEMM runs under only 4,146 - 2,872 = 1,274 cycles of q's
  // drain (the whole 4,146 before; k was then expected 12% faster than it
  // simulates).
  const auto [config, lowered] = lower_on_tpu("sibling_gemms.json");
  const auto& q = lowered.mappings[1];
  ASSERT_EQ(q.tm, 1024u);
  ASSERT_EQ(q.tn, 512u);
  ASSERT_EQ(q.tk, 256u);
  ASSERT_EQ(q.order, std::string("nmk"));
  const std::uint64_t c = arch::gemm_cycles(config.array, {1024, 256, 256, 1}).count();
  ASSERT_EQ(c, 1790u);
  const std::uint64_t last_move = config.dma.setup_cycles + 1024 * 256 / config.dma.bytes_per_cycle;
  const std::uint64_t before_move =
      config.dma.setup_cycles + 1024 * 512 / config.dma.bytes_per_cycle;
  EXPECT_EQ(q.tail_drain_cycles, last_move - (before_move - 3 * c));
  EXPECT_EQ(q.tail_drain_cycles, 1274u);
  const auto r = simulate_in_child(config, lowered.trace);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  const double simulated = r["layers"][2]["cycles"].get<double>();
  EXPECT_NEAR(static_cast<double>(lowered.mappings[2].estimated_cycles), simulated,
              0.05 * simulated);
}

TEST(Mapping, TheNextLayersFirstGemmWaitsForItsFirstLoad) {
  // tests/data/sibling_gemms_197.json on tpu_v1_like, unfused: q and k read
  // x, so k may start under q's drain. q runs 197 x 256 x 256 tiles; its
  // last GEMM takes c = 963 cycles and its last output tile's MOVE out of
  // the accumulators 50 + 197 x 256 / 64 = 838. k's first weight tile
  // (64 KiB) loads into the slot q's step before the last frees, at the
  // soonest c before q's last GEMM ends, and takes longer than c: k's first
  // GEMM starts when that load is done, not when q's last GEMM ends. Before,
  // the load counted as hidden and the first GEMM as running under the
  // whole drain as well: k expected 11,426 cycles, 6% under the simulator.
  const auto [config, lowered] = lower_on_tpu("sibling_gemms_197.json");
  const auto& q = lowered.mappings[1];
  ASSERT_EQ(q.tn, 256u);
  ASSERT_EQ(q.tk, 256u);
  const std::uint64_t c = arch::gemm_cycles(config.array, {197, 256, 256, 1}).count();
  EXPECT_EQ(c, 963u);
  EXPECT_EQ(q.tail_compute_cycles, c);
  EXPECT_EQ(q.tail_drain_cycles, config.dma.setup_cycles + 197 * 256 / config.dma.bytes_per_cycle);
  const double bus = dram_bytes_per_cycle(config);
  const double load = config.dma.setup_cycles + 65536 / bus +
                      static_cast<double>(config.dram.latency_cycles.count());
  ASSERT_GT(load, static_cast<double>(c));
  const auto r = simulate_in_child(config, lowered.trace);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  const double simulated = r["layers"][2]["cycles"].get<double>();
  EXPECT_NEAR(static_cast<double>(lowered.mappings[2].estimated_cycles), simulated,
              0.025 * simulated);
}

TEST(Mapping, ALastStoreWaitsForTheNextLayersPrefetches) {
  // One GPT-2 decode block on tpu_v1_like: q_proj, a 1 x 768 x 768 GEMV in
  // 256 x 256 weight tiles, stores its output to DRAM. k_proj's first weight
  // tile (64 KiB, 65,536 / 48.57 = 1,350 bus cycles) is issued when q_proj's
  // step before the last frees its slot, c = 767 cycles before q_proj's last
  // GEMM ends, and its second when that GEMM ends; q_proj's last store is
  // issued after its MOVE out of the accumulators (54 cycles), and the DRAM
  // bus, first come first served, serves both loads first: the store waits
  // 50 - 767 + 1,350 + 1,350 - (54 + 50) = 1,879 cycles. k_proj, which does
  // not read q_proj, runs meanwhile. Without the wait q_proj was expected
  // 11% faster than it simulates.
  const auto [config, lowered] = lower_zoo_on_tpu("gpt:mode=decode,layers=1");
  const std::size_t q = layer_index(lowered, "h0.attn.q_proj");
  ASSERT_LT(q + 1, lowered.mappings.size());
  ASSERT_EQ(lowered.workload.layers[q + 1].name, "h0.attn.k_proj");
  const auto& mq = lowered.mappings[q];
  const auto& mk = lowered.mappings[q + 1];
  EXPECT_EQ(mq.tail_compute_cycles, arch::gemm_cycles(config.array, {1, 256, 256, 1}).count());
  EXPECT_EQ(mq.tail_compute_cycles, 767u);
  EXPECT_EQ(mq.tail_bus_free_cycles, config.dma.setup_cycles + 256 / config.dma.bytes_per_cycle);
  const auto tile_bus = static_cast<std::uint64_t>(std::ceil(65536 / dram_bytes_per_cycle(config)));
  EXPECT_EQ(tile_bus, 1350u);
  EXPECT_EQ(mk.first_weight_bus_cycles, tile_bus);
  EXPECT_EQ(mk.second_weight_bus_cycles, tile_bus);
  const auto r = simulate_in_child(config, lowered.trace);
  ASSERT_FALSE(r.contains("error")) << r.dump();
  for (std::size_t l : {q, q + 1}) {
    SCOPED_TRACE(lowered.workload.layers[l].name);
    const double simulated = r["layers"][l]["cycles"].get<double>();
    EXPECT_NEAR(static_cast<double>(lowered.mappings[l].estimated_cycles), simulated,
                0.02 * simulated);
  }
}

TEST(Mapping, AWeightRunWaitsForTheNextLayersFirstWeightTile) {
  // One Mamba block on tpu_v1_like: dt_proj (1,024 x 1,536 x 80) stores its
  // output to DRAM in 128 x 1,024 then 128 x 512 tiles; its last weight tile
  // serves the last n column's eight m tiles (a weight run), so the other
  // weight slot is free from the run's start. The next array layer,
  // out_proj+add, past the scan and the gate (they move no DRAM bytes),
  // loads its first weight tile there: 512 x 256 B = 131,072 B, 2,699 bus
  // cycles at 48.57 B per cycle, whole, first come first served, ahead of
  // the run's stores. What one step's idle bus does not absorb delays the
  // run; out_proj's mapping counts it (its choice sees it) and the schedule
  // moves it to dt_proj. Without it dt_proj was expected 12% faster than it
  // simulates.
  const auto [config, lowered] = lower_zoo_on_tpu("mamba:layers=1");
  const auto pair = layer_pair(lowered, "layer0.dt_proj", "layer0.out_proj+add");
  ASSERT_TRUE(pair);
  const auto& [dt, out, md, mo] = *pair;
  EXPECT_TRUE(md.weight_run);
  EXPECT_GT(md.dram_write_bytes, 0u);
  const auto tile_bus =
      static_cast<std::uint64_t>(std::ceil(131072 / dram_bytes_per_cycle(config)));
  EXPECT_EQ(tile_bus, 2699u);
  EXPECT_EQ(mo.first_weight_bus_cycles, tile_bus);
  EXPECT_EQ(mo.prefetch_charge_cycles, tile_bus - md.run_idle_bus_cycles);
  EXPECT_GT(mo.prefetch_charge_cycles, 0u);
  expect_near_only_with(config, lowered, dt, static_cast<double>(mo.prefetch_charge_cycles));
}

TEST(Mapping, ARowLayersSecondInputHoldsTheNextLayersFirstWeightSlot) {
  // EfficientNet-B0's block6 on gemmini_like: se.scale multiplies the
  // feature map by the excitation, its second input staged as weight tiles
  // in the scratchpad, in four row tiles. project+add's first weight tile
  // (128 x 80 B = 10,240 B, 640 bus cycles at 16 B per cycle) loads into the
  // slot of se.scale's tile before the last once that tile is stored, and
  // the last tile's store waits for it (one channel, first come first
  // served). That store outlasts the last tile's multiply, so the bus is
  // never idle first: se.scale is delayed by all 640 cycles. Without the
  // wait it was expected 5.5% faster than it simulates.
  const auto [config, lowered] = lower_zoo_on("gemmini_like", "efficientnet_b0");
  const auto pair = layer_pair(lowered, "block6.se.scale", "block6.project+add");
  ASSERT_TRUE(pair);
  const auto& [scale, project, ms, mp] = *pair;
  EXPECT_TRUE(ms.row_tail_prefetch);
  EXPECT_EQ(ms.tail_compute_cycles, 0u);
  EXPECT_EQ(dram_bytes_per_cycle(config), 16.0);
  EXPECT_EQ(mp.tk * mp.tn, 10240u);
  EXPECT_EQ(mp.first_weight_bus_cycles, 640u);
  expect_near_only_with(config, lowered, scale, 640);
}

TEST(Attention, FusedSimulatesAsPlannedAndBeatsTheLayersApart) {
  // One GPT-2 block, prefill of 1,024 tokens, on edge_npu. Apart (the auto
  // policy's best candidate without fused attention), the probabilities,
  // 12 heads x 1,024 x 1,024 B = 12 MiB, exceed the 2 MiB global buffer:
  // the scores layer stores them and the context layer reads them back.
  // Fused (attention.h), they never leave the chip; K and V are read once
  // per query tile instead. Both simulate as planned: the same DRAM bytes,
  // and the fused layer's cycles within 5% of its list schedule.
  const auto config =
      arch::load_config(std::string(TESSEL_SOURCE_DIR) + "/configs/arch/edge_npu.json");
  const auto w = workloads::zoo::build("gpt:layers=1");
  const auto candidates = workloads::fusion_candidates(w, config);
  auto fused_attention = [](const workloads::Workload& f) {
    return std::any_of(f.layers.begin(), f.layers.end(),
                       [](const workloads::Layer& l) { return l.attention.has_value(); });
  };
  const workloads::Fused* apart = nullptr;
  for (const auto& c : candidates)
    if (!fused_attention(c.workload)) apart = &c;
  ASSERT_NE(apart, nullptr);
  const auto fused = workloads::lower(w, config);
  ASSERT_TRUE(fused_attention(fused.workload));
  const auto unfused = workloads::lower(
      apart->workload,
      arch::load_config(std::string(TESSEL_SOURCE_DIR) + "/configs/arch/edge_npu.json",
                        {"schedule.fusion=none"}));
  ASSERT_FALSE(fused_attention(unfused.workload));
  const auto a = simulate_in_child(config, fused.trace);
  const auto b = simulate_in_child(config, unfused.trace);
  ASSERT_FALSE(a.contains("error")) << a.dump();
  ASSERT_FALSE(b.contains("error")) << b.dump();
  auto dram = [](const nlohmann::json& r) {
    return r["totals"]["dram_read_bytes"].get<std::uint64_t>() +
           r["totals"]["dram_write_bytes"].get<std::uint64_t>();
  };
  auto planned = [](const workloads::Lowered& l) {
    std::uint64_t bytes = 0;
    for (const auto& m : l.mappings) bytes += m.dram_bytes;
    return bytes;
  };
  EXPECT_EQ(dram(a), planned(fused));
  EXPECT_EQ(dram(b), planned(unfused));
  const std::uint64_t probs = 12ull * 1024 * 1024;
  EXPECT_LE(dram(a) + probs, dram(b));  // at least one pass of them saved
  const auto fused_cycles = a["totals"]["cycles"].get<double>();
  const auto unfused_cycles = b["totals"]["cycles"].get<double>();
  std::cout << "fused " << fused_cycles << " cycles, " << dram(a) << " B; apart " << unfused_cycles
            << " cycles, " << dram(b) << " B\n";
  EXPECT_LT(fused_cycles, unfused_cycles);
  for (std::size_t l = 0; l < fused.workload.layers.size(); ++l) {
    if (!fused.workload.layers[l].attention) continue;
    EXPECT_NEAR(static_cast<double>(fused.mappings[l].estimated_cycles) /
                    a["layers"][l]["cycles"].get<double>(),
                1.0, 0.05);
  }
}

TEST(Residency, ResidentWeightsMakeAFrameStreamFaster) {
  // Three frames of a small perception model on the FSD-like NPU: with the
  // weights resident the stream reads them once (lowering_test.cpp derives
  // the bytes), so it reads at least twice the weights less and is faster.
  const std::string w =
      "perception:cameras=1,height=128,width=128,backbone_depth=18,dim=64,queries=32,heads=2,"
      "decoder_layers=1";
  const auto config = [](const char* resident) {
    return arch::load_config(std::string(TESSEL_SOURCE_DIR) + "/configs/arch/fsd_npu_like.json",
                             {std::string("schedule.weights_resident=") + resident});
  };
  const auto run = [&](const char* resident) {
    const auto c = config(resident);
    return simulate_in_child(c, workloads::lower(workloads::zoo::build(w + ",frames=3"), c).trace);
  };
  std::uint64_t weights = 0;
  for (const auto& l : workloads::zoo::build(w).layers) {
    if (l.on_array() && l.second == workloads::OperandSource::kParameters)
      weights += l.weight_elements();
  }
  const auto resident = run("true"), streamed = run("false");
  EXPECT_LE(resident["totals"]["dram_read_bytes"].get<std::uint64_t>() + 2 * weights,
            streamed["totals"]["dram_read_bytes"].get<std::uint64_t>());
  EXPECT_LT(resident["totals"]["cycles"].get<std::uint64_t>(),
            streamed["totals"]["cycles"].get<std::uint64_t>());
}

}  // namespace tessel
