#include "workloads/importers.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "arch/error.h"
#include "arch/json_reader.h"
#include "workloads/onnx_import.h"

namespace tessel::workloads {

namespace {

// Bounds that keep every byte and MAC count of a layer far inside 64 bits.
constexpr std::uint64_t kMaxDim = 1u << 24;
constexpr double kMaxMacs = 4503599627370496.0;  // 2^52

void check_size(const Layer& l, const std::function<void(const std::string&)>& fail) {
  if (!l.on_array()) return;
  const auto g = l.gemm();
  const double macs = static_cast<double>(g.m) * g.n * g.k * g.batch;
  if (macs > kMaxMacs) fail(fmt::format("layer \"{}\" is too large: over 2^52 MACs", l.name));
}

void validate_conv(Layer& l, JsonReader& r) {
  if (l.in_c % l.groups != 0) {
    r.fail("groups", fmt::format("must divide in_c ({}), got {}", l.in_c, l.groups));
  }
  if (l.out_c % l.groups != 0) {
    r.fail("groups", fmt::format("must divide out_c ({}), got {}", l.out_c, l.groups));
  }
  if (l.out_h == 0 || l.out_w == 0) {
    r.fail("kernel", fmt::format("the {}x{} kernel (dilation {}x{}) does not fit the padded {}x{} "
                                 "input",
                                 l.kernel_h, l.kernel_w, l.dilation_h, l.dilation_w,
                                 l.in_h + 2 * l.pad_h, l.in_w + 2 * l.pad_w));
  }
}

}  // namespace

namespace {

DType read_dtype(JsonReader& r, const std::string& key) {
  const std::string name = r.required_string(key);
  const auto d = parse_dtype(name);
  if (!d) r.fail(key, fmt::format("must be one of {}, got \"{}\"", dtype_names(), name));
  return *d;
}

arch::VectorOp read_vector_op(JsonReader& r, const std::string& key) {
  const std::string name = r.required_string(key);
  const auto op = arch::parse_vector_op(name);
  if (!op) r.fail(key, fmt::format("must be one of {}, got \"{}\"", arch::vector_op_names(), name));
  return *op;
}

// Fills the vector work of `l` from the keys its operator needs.
void read_vector_layer(JsonReader& r, Layer& l, arch::VectorOp op, std::uint64_t batch) {
  using arch::VectorOp;
  l.kind = LayerKind::kVector;
  l.work.op = op;
  // Pooling and resizing read a feature map: channels x in_h x in_w.
  auto feature_map = [&r] {
    return std::array<std::uint64_t, 3>{r.required_uint("channels", 1, kMaxDim),
                                        r.required_uint("in_h", 1, kMaxDim),
                                        r.required_uint("in_w", 1, kMaxDim)};
  };
  switch (op) {
    case VectorOp::kRelu:
    case VectorOp::kSub:
    case VectorOp::kExp:
    case VectorOp::kErf:
    case VectorOp::kDiv:
    case VectorOp::kSqrt:
    case VectorOp::kGelu:
    case VectorOp::kSilu:
    case VectorOp::kSigmoid:
    case VectorOp::kTanh:
    case VectorOp::kAdd:
    case VectorOp::kMul: {
      // Element-wise: every element is its own row, so tiles split anywhere.
      const std::uint64_t n = r.required_uint("elements", 1, kMaxDim * 64);
      l.work.rows = n;
      l.work.row_length = 1;
      l.out_elements = n;
      l.in_elements = (op == VectorOp::kAdd || op == VectorOp::kMul || op == VectorOp::kSub ||
                       op == VectorOp::kDiv)
                          ? 2 * n
                          : n;
      break;
    }
    case VectorOp::kReduceMean:
      l.work.rows = r.required_uint("rows", 1, kMaxDim * 64);
      l.work.row_length = r.required_uint("row_length", 1, kMaxDim);
      l.in_elements = l.work.rows * l.work.row_length;
      l.out_elements = l.work.rows;
      break;
    case VectorOp::kSoftmax:
    case VectorOp::kLayerNorm:
    case VectorOp::kRmsNorm:
      l.work.rows = r.required_uint("rows", 1, kMaxDim * 64);
      l.work.row_length = r.required_uint("row_length", 1, kMaxDim);
      l.in_elements = l.out_elements = l.work.rows * l.work.row_length;
      // Gain (and bias, for layer norm) per feature.
      if (op == VectorOp::kLayerNorm) l.extra_params = 2 * l.work.row_length;
      if (op == VectorOp::kRmsNorm) l.extra_params = l.work.row_length;
      break;
    case VectorOp::kMaxPool:
    case VectorOp::kAvgPool: {
      const auto [c, h, w] = feature_map();
      const std::uint64_t kernel = r.required_uint("kernel", 1, 64);
      const std::uint64_t stride = r.optional_uint("stride", kernel, 1, 64);
      const std::uint64_t pad = r.optional_uint("pad", 0, 0, 64);
      const std::uint64_t oh = conv_output_size(h, kernel, stride, pad, 1);
      const std::uint64_t ow = conv_output_size(w, kernel, stride, pad, 1);
      if (oh == 0 || ow == 0) r.fail("kernel", "does not fit the padded input");
      l.work.rows = batch * c;
      l.work.row_length = oh * ow;
      l.work.window = kernel * kernel;
      l.in_elements = batch * c * h * w;
      l.out_elements = batch * c * oh * ow;
      break;
    }
    case VectorOp::kGlobalAvgPool: {
      const auto [c, h, w] = feature_map();
      l.work.rows = batch * c;
      l.work.row_length = h * w;
      l.in_elements = batch * c * h * w;
      l.out_elements = batch * c;
      break;
    }
    case VectorOp::kUpsampleNearest:
    case VectorOp::kUpsampleBilinear: {
      const auto [c, h, w] = feature_map();
      const std::uint64_t scale = r.required_uint("scale", 1, 64);
      l.work.rows = batch * c;
      l.work.row_length = h * w * scale * scale;
      l.in_elements = batch * c * h * w;
      l.out_elements = l.work.rows * l.work.row_length;
      break;
    }
    case VectorOp::kSelectiveScan: {
      const std::uint64_t length = r.required_uint("length", 1, kMaxDim);
      const std::uint64_t channels = r.required_uint("channels", 1, kMaxDim);
      const std::uint64_t state = r.required_uint("state", 1, 1024);
      l.work.rows = batch * channels;
      l.work.row_length = length;
      l.work.state = state;
      // x and delta per (position, channel); B and C per (position, state).
      l.in_elements = batch * (2 * length * channels + 2 * length * state);
      l.out_elements = batch * length * channels;
      l.extra_params = channels * state + channels;  // A and D
      break;
    }
    case VectorOp::kOnlineSoftmax:
    case VectorOp::kRowScale:
    case VectorOp::kRowNormalize:
      r.fail("op", fmt::format("\"{}\" is a step of fused attention, which the lowering builds "
                               "(schedule.fusion); a workload gives softmax",
                               arch::to_string(op)));
  }
}

}  // namespace

Workload parse_workload_json(const nlohmann::json& json, const std::string& source) {
  Workload w;
  JsonReader top(json, source, "workload");
  w.name = top.optional_string("name", "unnamed");
  top.ignore("comment");
  const std::uint64_t default_batch = top.optional_uint("batch", 1, 1, 1u << 16);
  std::map<std::string, std::size_t> index;
  auto producer = [&](JsonReader& r, const std::string& key, const std::string& name) {
    const auto it = index.find(name);
    if (it == index.end()) {
      r.fail(key, fmt::format("\"{}\" is not the name of an earlier layer", name));
    }
    return it->second;
  };
  top.array("layers", true, [&](JsonReader& r) {
    Layer l;
    l.name = r.required_string("name");
    if (index.contains(l.name)) r.fail("name", fmt::format("duplicate layer name \"{}\"", l.name));
    r.ignore("comment");
    const std::string type = r.required_string("type");
    if (r.has("inputs")) {
      for (const auto& name : r.string_array("inputs"))
        l.inputs.push_back(producer(r, "inputs", name));
    } else {
      r.ignore("inputs");
      if (!w.layers.empty()) l.inputs.push_back(w.layers.size() - 1);
    }
    if (r.has("dtype")) l.dtype = read_dtype(r, "dtype");
    r.ignore("dtype");
    if (type == "gemm") {
      l.kind = LayerKind::kGemm;
      l.m = r.required_uint("m", 1, kMaxDim);
      l.n = r.required_uint("n", 1, kMaxDim);
      l.k = r.required_uint("k", 1, kMaxDim);
      l.batch = r.optional_uint("batch", 1, 1, kMaxDim);
      l.bias = r.optional_bool("bias", false);
      if (r.has("second_input")) {
        const std::string second = r.required_string("second_input");
        if (second == "external") {
          l.second = OperandSource::kExternal;
        } else {
          l.second = OperandSource::kProducer;
          l.second_producer = producer(r, "second_input", second);
        }
      } else {
        r.ignore("second_input");
      }
    } else if (type == "conv2d") {
      l.kind = LayerKind::kConv2d;
      l.batch = r.optional_uint("batch", default_batch, 1, kMaxDim);
      l.in_h = r.required_uint("in_h", 1, kMaxDim);
      l.in_w = r.required_uint("in_w", 1, kMaxDim);
      l.in_c = r.required_uint("in_c", 1, kMaxDim);
      l.out_c = r.required_uint("out_c", 1, kMaxDim);
      l.kernel_h = r.required_uint("kernel_h", 1, kMaxDim);
      l.kernel_w = r.optional_uint("kernel_w", l.kernel_h, 1);
      l.stride_h = r.optional_uint("stride_h", 1, 1);
      l.stride_w = r.optional_uint("stride_w", l.stride_h, 1);
      l.pad_h = r.optional_uint("pad_h", 0);
      l.pad_w = r.optional_uint("pad_w", l.pad_h);
      l.dilation_h = r.optional_uint("dilation_h", 1, 1);
      l.dilation_w = r.optional_uint("dilation_w", l.dilation_h, 1);
      l.groups = r.optional_uint("groups", 1, 1);
      l.bias = r.optional_bool("bias", false);
      l.out_h = conv_output_size(l.in_h, l.kernel_h, l.stride_h, l.pad_h, l.dilation_h);
      l.out_w = conv_output_size(l.in_w, l.kernel_w, l.stride_w, l.pad_w, l.dilation_w);
      validate_conv(l, r);
    } else if (const auto op = arch::parse_vector_op(type)) {
      read_vector_layer(r, l, *op, r.optional_uint("batch", default_batch, 1, kMaxDim));
    } else if (type == "copy" || type == "transpose" || type == "concat" || type == "reshape") {
      l.kind = LayerKind::kDataMove;
      l.move = type == "copy"        ? MoveKind::kCopy
               : type == "transpose" ? MoveKind::kTranspose
               : type == "concat"    ? MoveKind::kConcat
                                     : MoveKind::kReshape;
      l.elements = r.required_uint("elements", 1, kMaxDim * 64);
    } else if (type == "embedding") {
      l.kind = LayerKind::kEmbedding;
      l.tokens = r.required_uint("tokens", 1, kMaxDim);
      l.dim = r.required_uint("dim", 1, kMaxDim);
      l.vocab = r.required_uint("vocab", 1, kMaxDim);
      l.inputs.clear();  // token ids are the workload's input
    } else {
      r.fail("type",
             fmt::format("must be one of conv2d, gemm, {}, copy, transpose, concat, reshape, "
                         "embedding, got \"{}\"",
                         arch::vector_op_names(), type));
    }
    if (l.on_array() && r.has("weight_dtype")) l.weight_dtype = read_dtype(r, "weight_dtype");
    r.ignore("weight_dtype");
    if (r.has("fuse")) {
      if (!l.on_array()) r.fail("fuse", "only a conv2d or gemm can have a fused epilogue");
      arch::VectorWork f;
      f.op = read_vector_op(r, "fuse");
      const auto g = l.gemm();
      f.rows = g.m * g.batch;
      f.row_length = g.n;
      l.fused = f;
    } else {
      r.ignore("fuse");
    }
    check_size(l, [&](const std::string& what) { r.fail("name", what); });
    index[l.name] = w.layers.size();
    w.layers.push_back(std::move(l));
  });
  if (w.layers.empty()) top.fail("layers", "must contain at least one layer");
  top.finish();
  return w;
}

namespace {

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  std::string cell;
  while (std::getline(ss, cell, ',')) {
    const auto b = cell.find_first_not_of(" \t\r");
    const auto e = cell.find_last_not_of(" \t\r");
    cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
  }
  while (!cells.empty() && cells.back().empty()) cells.pop_back();  // trailing comma
  return cells;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

Workload parse_scalesim_csv(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw InputError(fmt::format("{}: cannot open file", file));
  Workload w;
  {
    auto slash = file.find_last_of('/');
    std::string base = slash == std::string::npos ? file : file.substr(slash + 1);
    w.name = base.substr(0, base.find_last_of('.'));
  }
  std::string line;
  int number = 0;
  bool gemm_form = false;
  bool header_seen = false;
  while (std::getline(in, line)) {
    ++number;
    auto cells = split_csv(line);
    if (cells.empty()) continue;
    // SCALE-Sim reads a row up to its last comma (`row.split(',')[:-1]`), so
    // whatever follows the last comma past the strides (a "#dw" note) is not
    // part of the row.
    const std::size_t columns = header_seen && !gemm_form ? 9 : 5;
    if (header_seen && cells.size() > columns - 1 &&
        cells.back().find_first_not_of("0123456789") != std::string::npos)
      cells.pop_back();
    if (!header_seen) {
      header_seen = true;
      if (cells.size() >= 4 && lower(cells[1]) == "m" && lower(cells[2]) == "n" &&
          lower(cells[3]) == "k") {
        gemm_form = true;
      } else if (cells.size() < 8 || lower(cells[1]).find("ifmap") == std::string::npos) {
        throw InputError(fmt::format(
            "{}:{}: not a SCALE-Sim topology header: expected 'Layer, M, N, K' or 'Layer name, "
            "IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
            "Strides'",
            file, number));
      }
      continue;
    }
    const std::size_t expected = gemm_form ? 4 : 8;
    if (cells.size() < expected) {
      throw InputError(fmt::format("{}:{}: expected at least {} columns, got {}", file, number,
                                   expected, cells.size()));
    }
    std::vector<std::uint64_t> v;
    for (std::size_t i = 1; i < cells.size() && i < 9; ++i) {
      const auto& c = cells[i];
      if (c.empty() || c.find_first_not_of("0123456789") != std::string::npos ||
          std::stoull(c) == 0) {
        throw InputError(fmt::format("{}:{}: column {}: expected an integer in [1, {}], got \"{}\"",
                                     file, number, i + 1, kMaxDim, c));
      }
      v.push_back(std::stoull(c));
    }
    Layer l;
    l.name = cells[0];
    l.scalesim_semantics = true;
    if (!w.layers.empty())
      l.inputs.push_back(w.layers.size() - 1);  // a chain, as SCALE-Sim runs it
    if (gemm_form) {
      l.kind = LayerKind::kGemm;
      l.m = v[0];
      l.n = v[1];
      l.k = v[2];
    } else {
      l.kind = LayerKind::kConv2d;
      l.in_h = v[0];
      l.in_w = v[1];
      l.kernel_h = v[2];
      l.kernel_w = v[3];
      l.in_c = v[4];
      l.out_c = v[5];
      l.stride_h = v[6];
      l.stride_w = v.size() > 7 ? v[7] : v[6];
      if (l.kernel_h > l.in_h || l.kernel_w > l.in_w) {
        throw InputError(fmt::format("{}:{}: filter {}x{} is larger than the {}x{} ifmap", file,
                                     number, l.kernel_h, l.kernel_w, l.in_h, l.in_w));
      }
      // SCALE-Sim rounds the output size up and never pads.
      l.out_h = (l.in_h - l.kernel_h + l.stride_h + l.stride_h - 1) / l.stride_h;
      l.out_w = (l.in_w - l.kernel_w + l.stride_w + l.stride_w - 1) / l.stride_w;
      if (l.name.find("DP") != std::string::npos) {
        // Depthwise: SCALE-Sim runs one single-channel layer per channel,
        // each with `Num Filter` filters.
        l.groups = l.in_c;
        l.out_c = l.in_c * l.out_c;
      }
    }
    check_size(l, [&](const std::string& what) {
      throw InputError(fmt::format("{}:{}: {}", file, number, what));
    });
    w.layers.push_back(std::move(l));
  }
  if (w.layers.empty()) throw InputError(fmt::format("{}: no layers", file));
  return w;
}

Workload load_workload(const std::string& file, bool skip_unsupported) {
  auto ends_with = [&](const char* ext) {
    const std::string e(ext);
    return file.size() >= e.size() && lower(file.substr(file.size() - e.size())) == e;
  };
  if (ends_with(".csv")) return parse_scalesim_csv(file);
  if (ends_with(".onnx")) return load_onnx(file, skip_unsupported);
  if (ends_with(".json")) return parse_workload_json(load_json_file(file), file);
  throw InputError(
      fmt::format("{}: unknown workload format: expected a .json layer list or a "
                  "SCALE-Sim .csv topology",
                  file));
}

}  // namespace tessel::workloads
