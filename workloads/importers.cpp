#include "workloads/importers.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <sstream>

#include <fmt/format.h>

#include "arch/error.h"
#include "arch/json_reader.h"

namespace tessel::workloads {

namespace {

// Bounds that keep every byte and MAC count of a layer far inside 64 bits.
constexpr std::uint64_t kMaxDim = 1u << 24;
constexpr unsigned __int128 kMaxMacs = static_cast<unsigned __int128>(1) << 52;

void check_size(const Layer& l, const std::function<void(const std::string&)>& fail) {
  const auto g = l.gemm();
  const unsigned __int128 macs = static_cast<unsigned __int128>(g.m) * g.n * g.k * g.batch;
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

Workload parse_workload_json(const nlohmann::json& json, const std::string& source) {
  Workload w;
  JsonReader top(json, source, "workload");
  w.name = top.optional_string("name", "unnamed");
  top.ignore("comment");
  const std::uint64_t default_batch = top.optional_uint("batch", 1, 1, 1u << 16);
  top.array("layers", true, [&](JsonReader& r) {
    Layer l;
    l.name = r.required_string("name");
    const std::string type = r.required_enum("type", {"conv2d", "gemm"});
    r.ignore("comment");
    if (type == "gemm") {
      l.kind = LayerKind::kGemm;
      l.m = r.required_uint("m", 1, kMaxDim);
      l.n = r.required_uint("n", 1, kMaxDim);
      l.k = r.required_uint("k", 1, kMaxDim);
      l.batch = r.optional_uint("batch", 1, 1, kMaxDim);
    } else {
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
      l.out_h = conv_output_size(l.in_h, l.kernel_h, l.stride_h, l.pad_h, l.dilation_h);
      l.out_w = conv_output_size(l.in_w, l.kernel_w, l.stride_w, l.pad_w, l.dilation_w);
      validate_conv(l, r);
    }
    check_size(l, [&](const std::string& what) { r.fail("name", what); });
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
    const auto cells = split_csv(line);
    if (cells.empty()) continue;
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

Workload load_workload(const std::string& file) {
  auto ends_with = [&](const char* ext) {
    const std::string e(ext);
    return file.size() >= e.size() && lower(file.substr(file.size() - e.size())) == e;
  };
  if (ends_with(".csv")) return parse_scalesim_csv(file);
  if (ends_with(".json")) return parse_workload_json(load_json_file(file), file);
  throw InputError(
      fmt::format("{}: unknown workload format: expected a .json layer list or a "
                  "SCALE-Sim .csv topology",
                  file));
}

}  // namespace tessel::workloads
