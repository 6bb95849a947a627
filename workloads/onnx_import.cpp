#include "workloads/onnx_import.h"

#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "arch/error.h"

namespace tessel::workloads {

namespace {

using Shape = std::vector<std::int64_t>;
using arch::VectorOp;

std::uint64_t elements(const Shape& s) {
  std::uint64_t n = 1;
  for (auto d : s) n *= static_cast<std::uint64_t>(std::max<std::int64_t>(d, 1));
  return n;
}

// Operators that only relabel a tensor: their output aliases the input.
const std::set<std::string> kAliases = {"Identity", "Dropout",   "Reshape", "Flatten",
                                        "Squeeze",  "Unsqueeze", "Cast"};
// Operators that produce shapes or constants, not data.
const std::set<std::string> kShapeOps = {"Shape", "Constant", "ConstantOfShape", "Range"};

const std::map<std::string, VectorOp> kElementwise = {{"Relu", VectorOp::kRelu},
                                                      {"Sigmoid", VectorOp::kSigmoid},
                                                      {"Tanh", VectorOp::kTanh},
                                                      {"Erf", VectorOp::kErf},
                                                      {"Exp", VectorOp::kExp},
                                                      {"Sqrt", VectorOp::kSqrt},
                                                      {"Add", VectorOp::kAdd},
                                                      {"Mul", VectorOp::kMul},
                                                      {"Sub", VectorOp::kSub},
                                                      {"Div", VectorOp::kDiv},
                                                      {"Pow", VectorOp::kMul},
                                                      {"Gelu", VectorOp::kGelu},
                                                      {"HardSigmoid", VectorOp::kSigmoid},
                                                      {"HardSwish", VectorOp::kSilu},
                                                      {"Clip", VectorOp::kRelu}};

class Importer {
 public:
  Importer(const std::string& file, bool skip) : m_file(file), m_skip(skip) {}

  Workload run() {
    std::ifstream in(m_file, std::ios::binary);
    if (!in) throw InputError(fmt::format("{}: cannot open file", m_file));
    onnx::ModelProto model;
    if (!model.ParseFromIstream(&in) || model.graph().node_size() == 0) {
      throw InputError(fmt::format("{}: not an ONNX model, or its graph is empty", m_file));
    }
    try {
      // Data propagation evaluates Shape -> Gather -> Concat chains, so
      // reshapes whose target is computed get static shapes.
      onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                         onnx::ShapeInferenceOptions(false, 0, true));
    } catch (const std::exception& e) {
      throw InputError(fmt::format("{}: ONNX shape inference failed: {}", m_file, e.what()));
    }
    const auto& g = model.graph();
    auto record = [&](const onnx::ValueInfoProto& v) {
      if (!v.type().has_tensor_type() || !v.type().tensor_type().has_shape()) return;
      Shape s;
      for (const auto& d : v.type().tensor_type().shape().dim())
        s.push_back(d.has_dim_value() ? d.dim_value() : -1);
      m_shapes[v.name()] = s;
    };
    for (const auto& v : g.input()) record(v);
    for (const auto& v : g.value_info()) record(v);
    for (const auto& v : g.output()) record(v);
    for (const auto& t : g.initializer()) {
      m_shapes[t.name()] = Shape(t.dims().begin(), t.dims().end());
      m_constant.insert(t.name());
    }
    for (const auto& v : g.input()) {
      if (!m_constant.contains(v.name())) m_graph_inputs.insert(v.name());
    }
    for (const auto& n : g.node()) {
      for (const auto& o : n.output()) m_produced.insert(o);
      if (kShapeOps.contains(n.op_type())) {
        for (const auto& o : n.output()) m_constant.insert(o);
      }
    }
    m_workload.name = model.graph().name().empty() ? m_file : model.graph().name();
    for (int i = 0; i < g.node_size(); ++i) node(g.node(i), i);
    if (m_workload.layers.empty())
      throw InputError(fmt::format("{}: no operator Tessel models", m_file));
    validate_edges(m_workload, m_file);
    return std::move(m_workload);
  }

 private:
  [[noreturn]] void fail(const onnx::NodeProto& n, int index, const std::string& what) const {
    throw InputError(
        fmt::format("{}: node {} \"{}\" ({}): {}", m_file, index, n.name(), n.op_type(), what));
  }

  const Shape& shape(const onnx::NodeProto& n, int index, const std::string& tensor) const {
    const auto it = m_shapes.find(tensor);
    if (it == m_shapes.end())
      fail(n, index, fmt::format("no static shape for tensor \"{}\"", tensor));
    for (auto d : it->second) {
      if (d < 0)
        fail(n, index,
             fmt::format("tensor \"{}\" has a dynamic dimension; export with static shapes",
                         tensor));
    }
    return it->second;
  }

  // Constant tensors: initializers, shape/constant outputs, and graph inputs
  // that are not data (weights of a model exported without them).
  bool is_parameter(const std::string& t) const {
    return m_constant.contains(t) ||
           (m_graph_inputs.contains(t) && !m_produced.contains(t) && m_param_inputs.contains(t));
  }

  // The layer producing `t`, through aliases; nullopt for workload inputs.
  std::optional<std::size_t> producer(const std::string& t) const {
    const auto it = m_producer.find(t);
    if (it == m_producer.end()) return std::nullopt;
    return it->second;
  }

  std::int64_t attr_int(const onnx::NodeProto& n, const std::string& name,
                        std::int64_t fallback) const {
    for (const auto& a : n.attribute()) {
      if (a.name() == name) return a.i();
    }
    return fallback;
  }
  std::vector<std::int64_t> attr_ints(const onnx::NodeProto& n, const std::string& name) const {
    for (const auto& a : n.attribute()) {
      if (a.name() == name) return {a.ints().begin(), a.ints().end()};
    }
    return {};
  }
  std::string attr_string(const onnx::NodeProto& n, const std::string& name) const {
    for (const auto& a : n.attribute()) {
      if (a.name() == name) return a.s();
    }
    return "";
  }

  std::string layer_name(const onnx::NodeProto& n, int index) const {
    return n.name().empty() ? fmt::format("{}_{}", n.op_type(), index) : n.name();
  }

  void add(Layer l, const std::vector<std::string>& data_inputs, const std::string& output) {
    for (const auto& t : data_inputs) {
      if (const auto p = producer(t)) l.inputs.push_back(*p);
    }
    m_workload.layers.push_back(std::move(l));
    m_producer[output] = m_workload.layers.size() - 1;
  }

  Layer vector_layer(const onnx::NodeProto& n, int index, VectorOp op, std::uint64_t rows,
                     std::uint64_t row_length, std::uint64_t in, std::uint64_t out) const {
    Layer l;
    l.name = layer_name(n, index);
    l.kind = LayerKind::kVector;
    l.work = {op, rows, row_length, 1, 1};
    l.in_elements = in;
    l.out_elements = out;
    return l;
  }

  void node(const onnx::NodeProto& n, int index) {
    const std::string& op = n.op_type();
    // Which inputs are weights is known from the operator.
    auto mark_params = [&](std::initializer_list<int> slots) {
      for (int s : slots) {
        if (s < n.input_size() && m_graph_inputs.contains(n.input(s)) &&
            !m_produced.contains(n.input(s))) {
          m_param_inputs.insert(n.input(s));
        }
      }
    };
    if (op == "Conv" || op == "Gemm") mark_params({1, 2});
    if (op == "BatchNormalization") mark_params({1, 2, 3, 4});
    if (op == "LayerNormalization") mark_params({1, 2});
    if (op == "Gather") mark_params({0});
    if (op == "MatMul" || op == "Add" || op == "Mul") {
      // A graph input whose shape has no batch dimension is a weight.
      for (int s = 0; s < n.input_size(); ++s) {
        const auto& t = n.input(s);
        if (m_graph_inputs.contains(t) && !m_produced.contains(t) && s > 0)
          m_param_inputs.insert(t);
      }
    }
    if (kShapeOps.contains(op)) return;
    // Computation on constants only (shape arithmetic, masks) folds away.
    bool all_constant = n.input_size() > 0;
    for (const auto& t : n.input()) all_constant &= t.empty() || m_constant.contains(t);
    if (all_constant) {
      for (const auto& o : n.output()) m_constant.insert(o);
      return;
    }
    if (kAliases.contains(op) ||
        (op == "BatchNormalization" && producer(n.input(0)) &&
         m_workload.layers[*producer(n.input(0))].kind == LayerKind::kConv2d)) {
      // BatchNorm after a convolution folds into it (inference): scale and shift.
      if (op == "BatchNormalization") {
        m_workload.layers[*producer(n.input(0))].extra_params +=
            2 * static_cast<std::uint64_t>(shape(n, index, n.input(1))[0]);
      }
      if (const auto p = producer(n.input(0))) m_producer[n.output(0)] = *p;
      return;
    }
    const std::string& out = n.output(0);
    if (op == "Conv") {
      const Shape& x = shape(n, index, n.input(0));
      const Shape& w = shape(n, index, n.input(1));
      const Shape& y = shape(n, index, out);
      if (x.size() != 4) fail(n, index, "only 2-D convolutions (NCHW inputs) are supported");
      Layer l;
      l.name = layer_name(n, index);
      l.kind = LayerKind::kConv2d;
      l.batch = static_cast<std::uint64_t>(x[0]);
      l.in_c = static_cast<std::uint64_t>(x[1]);
      l.in_h = static_cast<std::uint64_t>(x[2]);
      l.in_w = static_cast<std::uint64_t>(x[3]);
      l.out_c = static_cast<std::uint64_t>(y[1]);
      l.out_h = static_cast<std::uint64_t>(y[2]);
      l.out_w = static_cast<std::uint64_t>(y[3]);
      l.kernel_h = static_cast<std::uint64_t>(w[2]);
      l.kernel_w = static_cast<std::uint64_t>(w[3]);
      const auto strides = attr_ints(n, "strides"), pads = attr_ints(n, "pads"),
                 dil = attr_ints(n, "dilations");
      l.stride_h = strides.size() == 2 ? strides[0] : 1;
      l.stride_w = strides.size() == 2 ? strides[1] : 1;
      l.pad_h = pads.size() == 4 ? pads[0] : 0;
      l.pad_w = pads.size() == 4 ? pads[1] : 0;
      l.dilation_h = dil.size() == 2 ? dil[0] : 1;
      l.dilation_w = dil.size() == 2 ? dil[1] : 1;
      l.groups = static_cast<std::uint64_t>(attr_int(n, "group", 1));
      l.bias = n.input_size() > 2;
      add(std::move(l), {n.input(0)}, out);
      return;
    }
    if (op == "Gemm" || op == "MatMul") {
      const Shape& a = shape(n, index, n.input(0));
      const Shape& b = shape(n, index, n.input(1));
      const bool b_param = is_parameter(n.input(1));
      Layer l;
      l.name = layer_name(n, index);
      l.kind = LayerKind::kGemm;
      if (op == "Gemm") {
        const bool ta = attr_int(n, "transA", 0), tb = attr_int(n, "transB", 0);
        l.m = static_cast<std::uint64_t>(ta ? a[1] : a[0]);
        l.k = static_cast<std::uint64_t>(ta ? a[0] : a[1]);
        l.n = static_cast<std::uint64_t>(tb ? b[0] : b[1]);
        l.bias = n.input_size() > 2;
      } else {
        if (a.size() < 2 || b.size() < 2)
          fail(n, index, "MatMul operands must have rank 2 or more");
        l.k = static_cast<std::uint64_t>(a.back());
        l.n = static_cast<std::uint64_t>(b.back());
        const std::uint64_t a_rows = elements(a) / l.k;
        if (b.size() == 2) {
          l.m = a_rows;  // a weight or a shared operand: fold the batch into M
        } else {
          l.batch = elements(b) / (l.k * l.n);
          l.m = a_rows / l.batch;
        }
      }
      std::vector<std::string> data = {n.input(0)};
      if (!b_param) {
        if (const auto p = producer(n.input(1))) {
          l.second = OperandSource::kProducer;
          l.second_producer = *p;
          data.push_back(n.input(1));
        } else {
          l.second = OperandSource::kExternal;
        }
      }
      add(std::move(l), data, out);
      return;
    }
    if (const auto it = kElementwise.find(op); it != kElementwise.end()) {
      const std::uint64_t n_out = elements(shape(n, index, out));
      std::uint64_t n_in = 0;
      std::vector<std::string> data;
      for (int s = 0; s < n.input_size(); ++s) {
        if (n.input(s).empty() || is_parameter(n.input(s))) continue;
        n_in += elements(shape(n, index, n.input(s)));
        data.push_back(n.input(s));
      }
      if (data.empty()) {  // arithmetic on constants: folded
        m_constant.insert(out);
        return;
      }
      add(vector_layer(n, index, it->second, n_out, 1, n_in, n_out), data, out);
      return;
    }
    if (op == "Softmax" || op == "LayerNormalization" || op == "ReduceMean") {
      const Shape& x = shape(n, index, n.input(0));
      const std::uint64_t row = static_cast<std::uint64_t>(x.back()), total = elements(x);
      const VectorOp v = op == "Softmax"      ? VectorOp::kSoftmax
                         : op == "ReduceMean" ? VectorOp::kReduceMean
                                              : VectorOp::kLayerNorm;
      Layer l = vector_layer(n, index, v, total / row, row, total, elements(shape(n, index, out)));
      if (op == "LayerNormalization") l.extra_params = 2 * row;
      add(std::move(l), {n.input(0)}, out);
      return;
    }
    if (op == "BatchNormalization") {  // not after a convolution: a scale and shift per element
      const std::uint64_t total = elements(shape(n, index, n.input(0)));
      Layer l = vector_layer(n, index, VectorOp::kMul, total, 1, total, total);
      l.extra_params = 2 * static_cast<std::uint64_t>(shape(n, index, n.input(1))[0]);
      add(std::move(l), {n.input(0)}, out);
      return;
    }
    if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") {
      const Shape& x = shape(n, index, n.input(0));
      const Shape& y = shape(n, index, out);
      const std::uint64_t rows = static_cast<std::uint64_t>(x[0] * x[1]);
      const std::uint64_t out_len = elements(y) / rows;
      const VectorOp v = op == "MaxPool"       ? VectorOp::kMaxPool
                         : op == "AveragePool" ? VectorOp::kAvgPool
                                               : VectorOp::kGlobalAvgPool;
      Layer l = vector_layer(n, index, v, rows,
                             v == VectorOp::kGlobalAvgPool ? elements(x) / rows : out_len,
                             elements(x), elements(y));
      const auto k = attr_ints(n, "kernel_shape");
      l.work.window = std::accumulate(k.begin(), k.end(), std::uint64_t{1}, std::multiplies<>());
      add(std::move(l), {n.input(0)}, out);
      return;
    }
    if (op == "Resize" || op == "Upsample") {
      const Shape& x = shape(n, index, n.input(0));
      const Shape& y = shape(n, index, out);
      const std::uint64_t rows = static_cast<std::uint64_t>(x[0] * x[1]);
      const VectorOp v = attr_string(n, "mode") == "linear" ? VectorOp::kUpsampleBilinear
                                                            : VectorOp::kUpsampleNearest;
      add(vector_layer(n, index, v, rows, elements(y) / rows, elements(x), elements(y)),
          {n.input(0)}, out);
      return;
    }
    if (op == "Concat" || op == "Transpose" || (op == "Gather" && !is_parameter(n.input(0))) ||
        op == "Slice" || op == "Split" || op == "Expand") {
      Layer l;
      l.name = layer_name(n, index);
      l.kind = LayerKind::kDataMove;
      l.move = op == "Concat"      ? MoveKind::kConcat
               : op == "Transpose" ? MoveKind::kTranspose
                                   : MoveKind::kCopy;
      l.elements = elements(shape(n, index, out));
      std::vector<std::string> data;
      for (const auto& t : n.input()) {
        if (!t.empty() && !is_parameter(t)) data.push_back(t);
      }
      add(std::move(l), data, out);
      for (int o = 1; o < n.output_size(); ++o)
        m_producer[n.output(o)] = m_workload.layers.size() - 1;
      return;
    }
    if (op == "Gather") {  // from a parameter table: an embedding lookup
      const Shape& table = shape(n, index, n.input(0));
      Layer l;
      l.name = layer_name(n, index);
      l.kind = LayerKind::kEmbedding;
      l.vocab = static_cast<std::uint64_t>(table[0]);
      l.dim = elements(table) / l.vocab;
      l.tokens = elements(shape(n, index, n.input(1)));
      add(std::move(l), {}, out);
      return;
    }
    if (m_skip) {
      m_workload.skipped.push_back(fmt::format("{} ({})", layer_name(n, index), op));
      if (n.input_size() > 0) {
        if (const auto p = producer(n.input(0))) m_producer[out] = *p;
      }
      return;
    }
    fail(n, index,
         "operator not supported (use --skip-unsupported to leave it out and list it in the "
         "report)");
  }

  std::string m_file;
  bool m_skip;
  Workload m_workload;
  std::map<std::string, Shape> m_shapes;
  std::set<std::string> m_constant, m_graph_inputs, m_param_inputs, m_produced;
  std::map<std::string, std::size_t> m_producer;
};

}  // namespace

Workload load_onnx(const std::string& file, bool skip_unsupported) {
  return Importer(file, skip_unsupported).run();
}

}  // namespace tessel::workloads
