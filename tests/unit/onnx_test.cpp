// ONNX import: graph-only models exported from PyTorch (scripts/export_onnx.py)
// have exactly the MACs of the zoo's same networks; unsupported operators
// are errors naming the node, or skipped and listed on request.

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "arch/config.h"
#include "arch/error.h"
#include "input_error.h"
#include "test_paths.h"
#include "workloads/importers.h"
#include "workloads/lowering/lower.h"
#include "workloads/zoo/registry.h"

namespace tessel {
namespace {

using testing::source_path;

TEST(Onnx, ExportedModelsMatchTheZoo) {
  const std::pair<const char*, const char*> cases[] = {
      {"tests/data/onnx/resnet18.onnx", "resnet18"},
      {"tests/data/onnx/mobilenet_v2.onnx", "mobilenet_v2"},
      {"tests/data/onnx/tiny_vit.onnx", "vit:patch=16,dim=192,depth=2,heads=3,resolution=224"},
      {"tests/data/onnx/tiny_bert.onnx",
       "bert:layers=2,hidden=256,heads=4,sequence=64,vocab=1000"}};
  for (const auto& [file, spec] : cases) {
    SCOPED_TRACE(file);
    const auto imported = workloads::load_workload(source_path(file));
    const auto zoo = workloads::zoo::build(spec);
    EXPECT_EQ(imported.macs(), zoo.macs());
    EXPECT_TRUE(imported.skipped.empty());
  }
  // torchvision's ResNet-18 has 11,689,512 parameters, counting each batch
  // norm as a scale and a shift; the eval-mode export folds each batch norm
  // into its convolution as one bias per channel (4,800 channels).
  EXPECT_EQ(workloads::load_workload(source_path("tests/data/onnx/resnet18.onnx")).params(),
            11689512u - 4800u);
}

TEST(Onnx, ImportedModelsLowerAndKeepTheirOperators) {
  const auto w = workloads::load_workload(source_path("tests/data/onnx/tiny_bert.onnx"));
  int softmax = 0, layernorm = 0, embedding = 0, activation_matmuls = 0;
  for (const auto& l : w.layers) {
    softmax += l.kind == workloads::LayerKind::kVector && l.work.op == arch::VectorOp::kSoftmax;
    layernorm += l.kind == workloads::LayerKind::kVector && l.work.op == arch::VectorOp::kLayerNorm;
    embedding += l.kind == workloads::LayerKind::kEmbedding;
    activation_matmuls +=
        l.kind == workloads::LayerKind::kGemm && l.second == workloads::OperandSource::kProducer;
  }
  EXPECT_EQ(softmax, 2);
  EXPECT_EQ(layernorm, 5);
  EXPECT_EQ(embedding, 1);
  EXPECT_EQ(activation_matmuls, 4);  // Q K^T and A V per layer
  const auto config = arch::load_config(source_path("configs/arch/edge_npu.json"));
  EXPECT_NO_THROW(workloads::lower(w, config));
}

std::string write_model_with(const std::string& op) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* g = model.mutable_graph();
  g->set_name("tiny");
  auto tensor = [](onnx::ValueInfoProto* v, const char* name) {
    v->set_name(name);
    auto* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int d : {1, 8}) t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  tensor(g->add_input(), "x");
  tensor(g->add_output(), "z");
  auto* relu = g->add_node();
  relu->set_op_type("Relu");
  relu->set_name("relu");
  relu->add_input("x");
  relu->add_output("y");
  auto* other = g->add_node();
  other->set_op_type(op);
  other->set_name("odd");
  other->add_input("y");
  other->add_output("z");
  const std::string path = ::testing::TempDir() + "/" + op + ".onnx";
  std::ofstream out(path, std::ios::binary);
  model.SerializeToOstream(&out);
  return path;
}

TEST(Onnx, UnsupportedOperatorIsAnErrorOrSkippedOnRequest) {
  const std::string path = write_model_with("Softsign");
  EXPECT_THAT(testing::input_error_of([&] { workloads::load_workload(path); }),
              ::testing::HasSubstr(path + ": node 1 \"odd\" (Softsign): operator not supported"));
  const auto w = workloads::load_workload(path, true);
  ASSERT_EQ(w.skipped.size(), 1u);
  EXPECT_EQ(w.skipped[0], "odd (Softsign)");
  EXPECT_EQ(w.layers.size(), 1u);
}

TEST(Onnx, NotAModel) {
  const std::string path = ::testing::TempDir() + "/junk.onnx";
  std::ofstream(path) << "this is not protobuf";
  EXPECT_THROW(workloads::load_workload(path), InputError);
}

}  // namespace
}  // namespace tessel
