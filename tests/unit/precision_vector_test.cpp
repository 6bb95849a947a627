// Element types, MAC rates, the vector unit's closed form, and how the
// lowering uses them (bytes follow dtypes, fusion saves DRAM traffic).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "input_error.h"

#include "arch/config.h"
#include "arch/error.h"
#include "arch/systolic.h"
#include "arch/vector.h"
#include "workloads/importers.h"
#include "workloads/lowering/lower.h"

namespace tessel {
namespace {

using arch::VectorOp;
using ::testing::HasSubstr;
using workloads::Opcode;

nlohmann::json arch_json() {
  return nlohmann::json::parse(R"({
    "name": "p", "clock_mhz": 1000,
    "array": {"rows": 8, "cols": 8, "dataflow": "ws", "precision": "int8",
              "macs_per_pe_per_cycle": {"int8": 1, "int4": 2, "fp16": 0.5}},
    "sram": [{"name": "buf", "capacity_bytes": 1048576, "banks": 4, "bank_bytes_per_cycle": 16,
              "holds": ["input", "weight", "output"]}],
    "vector": {"lanes": 16, "buffer": "buf",
               "alu": {"cycles_per_element": 1, "latency_cycles": 2},
               "transcendental": {"cycles_per_element": 4, "latency_cycles": 8},
               "divide": {"cycles_per_element": 8, "latency_cycles": 16}},
    "dma": {"channels": 2, "bytes_per_cycle": 16},
    "dram": {"channels": 1, "channel_bandwidth_gb_per_s": 16}
  })");
}

TEST(DType, BytesAndMacPrecision) {
  EXPECT_EQ(bytes_for(7, DType::kInt4), 4u);
  EXPECT_EQ(bytes_for(7, DType::kBf16), 14u);
  EXPECT_EQ(mac_dtype(DType::kInt8, DType::kInt4), DType::kInt8);  // W4A8 runs int8 MACs
  EXPECT_EQ(mac_dtype(DType::kInt4, DType::kInt4), DType::kInt4);
  EXPECT_EQ(mac_dtype(DType::kFp16, DType::kInt8), DType::kFp16);
  EXPECT_EQ(parse_dtype("fp8"), DType::kFp8);
  EXPECT_FALSE(parse_dtype("int3").has_value());
}

TEST(MacRate, ParsedFromConfig) {
  const auto c = arch::parse_config(arch_json(), "p.json");
  EXPECT_EQ(c.array.rate(DType::kInt4)->pack, 2u);
  EXPECT_EQ(c.array.rate(DType::kFp16)->cycles_per_mac, 2u);
  EXPECT_FALSE(c.array.rate(DType::kFp32).has_value());
  EXPECT_EQ(c.array.supported(), "fp16, int4, int8");  // JSON objects are sorted
  auto j = arch_json();
  j["array"]["macs_per_pe_per_cycle"]["fp32"] = 0.3;
  EXPECT_THROW(
      {
        try {
          arch::parse_config(j, "p.json");
        } catch (const InputError& e) {
          EXPECT_STREQ(e.what(),
                       "p.json: arch.array.macs_per_pe_per_cycle.fp32: a rate below 1 must be 1/n "
                       "for a whole n up to 64, got 0.3");
          throw;
        }
      },
      InputError);
  j = arch_json();
  j["array"]["macs_per_pe_per_cycle"]["int3"] = 1;
  EXPECT_THROW(arch::parse_config(j, "p.json"), InputError);
}

TEST(MacRate, PackingFoldsTheReductionAndSlowRatesStretchTime) {
  const arch::GemmShape g{100, 8, 64, 1};
  // ws on 8x8: K = 64 -> 8 row folds at int8, 4 at int4 (two per PE).
  EXPECT_EQ(arch::gemm_cycles(arch::Dataflow::kWeightStationary, 8, 8, g, true, {1, 1}).count(),
            8u * (2 * 8 + 8 + 100 - 2));
  EXPECT_EQ(arch::gemm_cycles(arch::Dataflow::kWeightStationary, 8, 8, g, true, {2, 1}).count(),
            4u * (2 * 8 + 8 + 100 - 2));
  // fp16 at half rate: the temporal extent takes twice as long.
  EXPECT_EQ(arch::gemm_cycles(arch::Dataflow::kWeightStationary, 8, 8, g, true, {1, 2}).count(),
            8u * (2 * 8 + 8 + 200 - 2));
  // os: K is temporal, packing halves it.
  EXPECT_EQ(arch::gemm_cycles(arch::Dataflow::kOutputStationary, 8, 8, {8, 8, 64, 1}, true, {2, 1})
                .count(),
            32u + 8 + 8 - 2);
}

TEST(VectorUnit, ClosedFormByHand) {
  const auto c = arch::parse_config(arch_json(), "p.json");
  // softmax, 4 rows of 100: ALU 3 x 400 -> 2 + 75; exp 400 -> 8 + 25 x 4;
  // reciprocal 4 -> 16 + 1 x 8. Total 77 + 108 + 24 = 209.
  EXPECT_EQ(arch::vector_cycles(c.vector, {VectorOp::kSoftmax, 4, 100, 1, 1}).count(), 209u);
  // relu over 1000 elements: 2 + ceil(1000 / 16) = 65.
  EXPECT_EQ(arch::vector_cycles(c.vector, {VectorOp::kRelu, 1000, 1, 1, 1}).count(), 65u);
  // layernorm 2 rows of 64: ALU 6 x 128 -> 2 + 48; rsqrt 2 -> 16 + 8.
  EXPECT_EQ(arch::vector_cycles(c.vector, {VectorOp::kLayerNorm, 2, 64, 1, 1}).count(), 74u);
  // max pool 3x3 over 10 outputs: ALU 90 -> 2 + 6.
  EXPECT_EQ(arch::vector_cycles(c.vector, {VectorOp::kMaxPool, 1, 10, 9, 1}).count(), 8u);
  // selective scan, 2 channels x 8 positions, state 4: ALU 4*16*4 + 16 = 272
  // -> 2 + 17; exp 64 -> 8 + 16.
  EXPECT_EQ(arch::vector_cycles(c.vector, {VectorOp::kSelectiveScan, 2, 8, 1, 4}).count(), 43u);
}

workloads::Workload parse(const char* text) {
  return workloads::parse_workload_json(nlohmann::json::parse(text), "w.json");
}

std::uint64_t dram_bytes(const workloads::Trace& t, arch::Operand operand) {
  std::uint64_t b = 0;
  for (const auto& i : t.instructions) {
    if ((i.op == Opcode::kLoad || i.op == Opcode::kStore) && i.operand == operand) b += i.bytes();
  }
  return b;
}

TEST(Lowering, BytesFollowTheDtypes) {
  const auto c = arch::parse_config(arch_json(), "p.json");
  const auto int8 = workloads::lower(
      parse(R"({"layers":[{"name":"fc","type":"gemm","m":64,"n":64,"k":64}]})"), c);
  const auto w4 = workloads::lower(
      parse(
          R"({"layers":[{"name":"fc","type":"gemm","m":64,"n":64,"k":64,"weight_dtype":"int4"}]})"),
      c);
  const auto fp16 = workloads::lower(
      parse(R"({"layers":[{"name":"fc","type":"gemm","m":64,"n":64,"k":64,"dtype":"fp16"}]})"), c);
  EXPECT_EQ(dram_bytes(int8.trace, arch::Operand::kWeight), 64u * 64);
  EXPECT_EQ(dram_bytes(w4.trace, arch::Operand::kWeight), 64u * 64 / 2);
  EXPECT_EQ(dram_bytes(fp16.trace, arch::Operand::kWeight), 64u * 64 * 2);
  EXPECT_EQ(dram_bytes(fp16.trace, arch::Operand::kOutput), 64u * 64 * 2);
}

TEST(Lowering, UnsupportedPrecisionIsAClearError) {
  const auto c = arch::parse_config(arch_json(), "p.json");
  EXPECT_EQ(
      testing::input_error_of([&] {
        workloads::lower(
            parse(R"({"layers":[{"name":"fc","type":"gemm","m":8,"n":8,"k":8,"dtype":"bf16"}]})"),
            c);
      }),
      "layer \"fc\": needs bf16 MACs (bf16 x bf16); the array of \"p\" supports fp16, "
      "int4, int8 (arch.array.macs_per_pe_per_cycle)");
}

nlohmann::json with_residency(const char* mode) {
  auto j = arch_json();
  j["schedule"] = {{"residency", mode}};
  return j;
}

TEST(Lowering, FusedEpilogueSavesTheRoundTrip) {
  const auto fused_w =
      parse(R"({"layers":[{"name":"fc","type":"gemm","m":256,"n":64,"k":64,"fuse":"gelu"}]})");
  const auto separate_w = parse(R"({"layers":[{"name":"fc","type":"gemm","m":256,"n":64,"k":64},
      {"name":"act","type":"gelu","elements":16384}]})");
  const auto total = [](const workloads::Trace& t) {
    std::uint64_t b = 0;
    for (const auto& i : t.instructions) {
      if (i.op == Opcode::kLoad || i.op == Opcode::kStore) b += i.bytes();
    }
    return b;
  };
  // Layer at a time, the unfused activation reads and writes the 16 KiB
  // tensor once more; resident, the tensor stays on chip either way. The
  // fusion policy (`auto`) fuses the separate one into the same epilogue.
  for (const char* mode : {"none", "auto"}) {
    SCOPED_TRACE(mode);
    const auto c = arch::parse_config(with_residency(mode), "p.json");
    auto unfused_json = with_residency(mode);
    unfused_json["schedule"]["fusion"] = "none";
    const auto fused = workloads::lower(fused_w, c);
    const auto separate = workloads::lower(separate_w, arch::parse_config(unfused_json, "p.json"));
    const auto by_policy = workloads::lower(separate_w, c);
    ASSERT_EQ(by_policy.workload.layers.size(), 1u);
    EXPECT_EQ(by_policy.workload.layers[0].name, "fc+act");
    EXPECT_EQ(total(by_policy.trace), total(fused.trace));
    std::uint64_t fused_vector_elements = 0;
    for (const auto& i : fused.trace.instructions) {
      if (i.op == Opcode::kVector) {
        EXPECT_EQ(i.work.op, VectorOp::kGelu);
        fused_vector_elements += i.work.rows * i.work.row_length;
        // It works on the GEMM's output tile in place, then the store follows.
        EXPECT_EQ(i.sources.front().buffer, i.output.buffer);
      }
    }
    EXPECT_EQ(fused_vector_elements, 256u * 64);
    EXPECT_EQ(total(separate.trace),
              total(fused.trace) + (std::string(mode) == "none" ? 2 * 256 * 64 : 0));
  }
}

TEST(Lowering, VectorLayersDependOnTheirProducers) {
  const auto w = parse(R"({"layers":[
      {"name":"a","type":"gemm","m":32,"n":32,"k":32},
      {"name":"b","type":"gemm","m":32,"n":32,"k":32,"inputs":[]},
      {"name":"sum","type":"add","elements":1024,"inputs":["a","b"]}]})");
  for (const char* mode : {"none", "auto"}) {
    SCOPED_TRACE(mode);
    auto unfused = with_residency(mode);
    unfused["schedule"]["fusion"] = "none";  // the add as a vector layer of its own
    const auto t = workloads::lower(w, arch::parse_config(unfused, "p.json")).trace;
    std::vector<std::uint32_t> barriers;
    for (const auto& i : t.instructions) {
      if (i.op == Opcode::kBarrier) barriers.push_back(i.id);
    }
    ASSERT_EQ(barriers.size(), 3u);
    // Layer b reads the workload input: it does not wait for a. The add's
    // reads of a and b (LOADs layer at a time, the VECTOR in place when
    // resident) wait for their producers.
    int add_loads = 0;
    for (const auto& i : t.instructions) {
      if (i.layer == 1 && i.op == Opcode::kLoad) {
        EXPECT_THAT(i.deps, ::testing::Not(::testing::Contains(barriers[0])));
      }
      if (i.layer == 2 && i.op == Opcode::kLoad) {
        EXPECT_THAT(i.deps, ::testing::Contains(::testing::AnyOf(barriers[0], barriers[1])));
        ++add_loads;
      }
      if (i.layer == 2 && i.op == Opcode::kVector && std::string(mode) == "auto") {
        ASSERT_EQ(i.sources.size(), 2u);
        EXPECT_NE(i.sources[0].region, 0u);
        EXPECT_NE(i.sources[1].region, 0u);
        EXPECT_THAT(i.deps, ::testing::IsSupersetOf({barriers[0], barriers[1]}));
      }
    }
    EXPECT_EQ(add_loads, std::string(mode) == "none" ? 2 : 0);  // both operands, or none
  }
}

TEST(Workloads, VectorAndMoveLayersParse) {
  const auto w = parse(R"({"batch": 2, "layers":[
      {"name":"pool","type":"maxpool","channels":64,"in_h":112,"in_w":112,"kernel":3,"stride":2,"pad":1},
      {"name":"gap","type":"global_avgpool","channels":64,"in_h":56,"in_w":56},
      {"name":"ln","type":"layernorm","rows":128,"row_length":768},
      {"name":"scan","type":"selective_scan","length":256,"channels":1536,"state":16},
      {"name":"emb","type":"embedding","tokens":128,"dim":768,"vocab":30522},
      {"name":"t","type":"transpose","elements":4096},
      {"name":"r","type":"reshape","elements":4096}]})");
  EXPECT_EQ(w.layers[0].work.rows, 2u * 64);
  EXPECT_EQ(w.layers[0].work.row_length, 56u * 56);
  EXPECT_EQ(w.layers[0].work.window, 9u);
  EXPECT_EQ(w.layers[1].out_elements, 2u * 64);
  EXPECT_EQ(w.layers[2].params(), 2u * 768);
  EXPECT_EQ(w.layers[3].params(), 1536u * 16 + 1536);
  EXPECT_EQ(w.layers[4].params(), 30522u * 768);
  EXPECT_TRUE(w.layers[4].inputs.empty());
  const auto c = arch::parse_config(arch_json(), "p.json");
  const auto lowered = workloads::lower(w, c);
  EXPECT_EQ(lowered.mappings.size(), 7u);
}

}  // namespace
}  // namespace tessel
