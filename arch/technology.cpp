#include "arch/technology.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "arch/error.h"
#include "arch/json_reader.h"

namespace tessel::arch {

extern const char* const kBuiltinTechnology;  // generated from data/technology.json

namespace {

// A value's source must name an entry of "sources" or state its derivation.
void require_source(JsonReader& r, const std::set<std::string>& sources) {
  const std::string source = r.required_string("source");
  if (source.rfind("derived: ", 0) == 0) return;
  const std::string key = source.substr(0, source.find(' '));
  if (!sources.contains(key)) {
    r.fail("source", fmt::format("must name an entry of \"sources\" or start with \"derived: \", "
                                 "got \"{}\"",
                                 source));
  }
}

// Calls `each(key, reader)` for every member of the object at `key`, except
// "comment".
template <typename F>
void members(const nlohmann::json& parent, JsonReader& parent_reader, const std::string& key,
             F each) {
  JsonReader object = parent_reader.object(key);
  for (const auto& [name, value] : parent.at(key).items()) {
    if (name == "comment") {
      object.ignore(name);
      continue;
    }
    object.ignore(name);
    JsonReader child(value, parent_reader.source(), object.path() + "." + name);
    each(name, value, child);
  }
  object.finish();
}

double fit(const std::vector<double>& abc, double vdd) {
  return abc[0] * vdd * vdd + abc[1] * vdd + abc[2];
}

}  // namespace

const Technology& Technology::builtin() {
  static const Technology table(nlohmann::json::parse(kBuiltinTechnology),
                                "arch/data/technology.json");
  return table;
}

Technology::Technology(const nlohmann::json& data, const std::string& source) {
  JsonReader top(data, source, "technology");
  top.ignore("comment");
  std::set<std::string> sources;
  {
    JsonReader s = top.object("sources");
    for (const auto& [key, text] : data.at("sources").items()) {
      s.required_string(key);
      sources.insert(key);
    }
    s.finish();
  }
  members(data, top, "operations_45nm",
          [&](const std::string& name, const nlohmann::json&, JsonReader& r) {
            m_ops[name] = {r.required_number("energy_pj", 0.0), r.required_number("area_um2", 0.0)};
            require_source(r, sources);
            r.finish();
          });
  {
    JsonReader acc = top.object("mac_accumulator");
    acc.ignore("comment");
    for (DType d : kAllDTypes) {
      const std::string op = acc.required_string(to_string(d));
      if (!m_ops.contains(op)) acc.fail(to_string(d), fmt::format("no operation \"{}\"", op));
      m_accumulator[to_string(d)] = op;
    }
    acc.finish();
  }
  {
    JsonReader sram = top.object("sram_read_64b_45nm");
    sram.ignore("comment");
    sram.array("points", true, [&](JsonReader& p) {
      m_sram_points.emplace_back(static_cast<double>(p.required_uint("capacity_bytes", 1)),
                                 p.required_number("energy_pj", 0.0));
      require_source(p, sources);
      p.finish();
    });
    if (m_sram_points.size() < 2) sram.fail("points", "needs at least two points");
    if (!std::is_sorted(m_sram_points.begin(), m_sram_points.end()))
      sram.fail("points", "must be in increasing capacity");
    sram.finish();
  }
  auto cited_value = [&](JsonReader& r) {
    const double v = r.required_number("value", 0.0);
    require_source(r, sources);
    r.finish();
    return v;
  };
  // A top-level {"value": .., "source": ..} entry.
  auto top_value = [&](const char* name) {
    JsonReader r = top.object(name);
    return cited_value(r);
  };
  m_sram_cell_um2 = top_value("sram_cell_45nm_um2");
  m_sram_bank_periphery = top_value("sram_bank_periphery");
  m_wire_pj_per_bit_mm = top_value("wire_pj_per_bit_mm");
  m_wire_pitch_45nm_um = top_value("wire_pitch_45nm_um");
  m_bus_wire_track_share = top_value("bus_wire_track_share");
  m_dma_channel_adders = top_value("dma_channel_adders");
  members(data, top, "dram_pj_per_bit",
          [&](const std::string& name, const nlohmann::json&, JsonReader& r) {
            m_dram_pj_per_bit[name] = cited_value(r);
          });
  members(data, top, "calibration",
          [&](const std::string& name, const nlohmann::json&, JsonReader& r) {
            const double v = cited_value(r);
            if (name == "mac_array_area_factor") {
              m_mac_array_area_factor = v;
            } else if (name == "sram_area_factor") {
              m_sram_area_factor = v;
            } else if (name == "periphery_area_factor") {
              m_periphery_area_factor = v;
            } else if (name == "idle_pj_per_cycle_mm2_28nm") {
              m_idle_pj_per_cycle_mm2_28nm = v;
            } else {
              r.fail("", "unknown calibration");
            }
          });
  // Nodes: cited rows first, then the derived ones, which refer to them.
  std::map<int, std::pair<nlohmann::json, std::string>> derived;
  double e45 = 0;
  members(data, top, "nodes",
          [&](const std::string& name, const nlohmann::json& value, JsonReader& r) {
            const int nm = std::stoi(name);
            if (value.contains("energy_fit")) {
              const double area = r.required_number("area_scale", 0.0);
              std::vector<double> abc;
              for (const auto& c : value.at("energy_fit")) abc.push_back(c.get<double>());
              r.ignore("energy_fit");
              if (abc.size() != 3) r.fail("energy_fit", "needs three coefficients a, b, c");
              const double vdd = r.required_number("vdd", 0.0);
              require_source(r, sources);
              r.finish();
              m_nodes[nm] = {area, fit(abc, vdd)};  // energy normalised below
              m_fits[nm] = {abc[0], abc[1], abc[2]};
              if (nm == 45) e45 = fit(abc, vdd);
            } else {
              derived[nm] = {value, r.path()};
              require_source(r, sources);
            }
          });
  if (e45 <= 0) top.fail("nodes", "needs a cited 45 nm row");
  m_reference_energy = e45;
  for (auto& [nm, s] : m_nodes) s.energy /= e45;
  for (const auto& [nm, entry] : derived) {
    const auto& [value, path] = entry;
    JsonReader r(value, source, path);
    r.ignore("source");
    if (value.contains("interpolate")) {
      const auto ends = value.at("interpolate").get<std::vector<int>>();
      r.ignore("interpolate");
      if (ends.size() != 2 || !m_nodes.contains(ends[0]) || !m_nodes.contains(ends[1]))
        r.fail("interpolate", "needs two cited nodes");
      const double t = std::log(static_cast<double>(ends[0]) / nm) /
                       std::log(static_cast<double>(ends[0]) / ends[1]);
      auto lerp = [&](double a, double b) {
        return std::exp(std::log(a) + t * (std::log(b) - std::log(a)));
      };
      const NodeScale a = m_nodes.at(ends[0]), b = m_nodes.at(ends[1]);
      m_nodes[nm] = {lerp(a.area, b.area), lerp(a.energy, b.energy)};
    } else {
      const int from = static_cast<int>(r.required_uint("from"));
      if (!m_nodes.contains(from)) r.fail("from", "must be a cited node");
      m_nodes[nm] = {m_nodes.at(from).area * r.required_number("area_ratio", 0.0),
                     m_nodes.at(from).energy * r.required_number("energy_ratio", 0.0)};
    }
    r.finish();
  }
  if (!m_nodes.contains(28)) top.fail("nodes", "needs 28 nm (the calibration node)");
  top.finish();
}

std::vector<int> Technology::nodes_nm() const {
  std::vector<int> out;
  for (const auto& [nm, s] : m_nodes) out.push_back(nm);
  return out;
}

std::optional<NodeScale> Technology::scale(int node_nm, std::optional<double> vdd) const {
  const auto it = m_nodes.find(node_nm);
  if (it == m_nodes.end()) return std::nullopt;
  if (!vdd) return it->second;
  const auto f = m_fits.find(node_nm);
  if (f == m_fits.end()) return std::nullopt;
  const auto& [a, b, c] = f->second;
  return NodeScale{it->second.area, fit({a, b, c}, *vdd) / m_reference_energy};
}

std::vector<int> Technology::fitted_nodes_nm() const {
  std::vector<int> out;
  for (const auto& [nm, f] : m_fits) out.push_back(nm);
  return out;
}

const Technology::Operation& Technology::op(const std::string& name) const {
  const auto it = m_ops.find(name);
  if (it == m_ops.end()) throw InputError("technology table: no operation " + name);
  return it->second;
}

const Technology::Operation& Technology::mul(DType dtype) const {
  return op(to_string(dtype) + "_mul");
}

const Technology::Operation& Technology::accumulator(DType dtype) const {
  return op(m_accumulator.at(to_string(dtype)));
}

double Technology::mac_energy_pj(DType dtype) const {
  return mul(dtype).energy_pj + accumulator(dtype).energy_pj;
}

double Technology::mac_area_um2(DType dtype) const {
  return mul(dtype).area_um2 + accumulator(dtype).area_um2;
}

double Technology::fp32_fma_energy_pj() const {
  return op("fp32_mul").energy_pj + op("fp32_add").energy_pj;
}

double Technology::fp32_fma_area_um2() const {
  return op("fp32_mul").area_um2 + op("fp32_add").area_um2;
}

double Technology::dma_channel_logic_um2() const {
  return m_dma_channel_adders * op("int32_add").area_um2;
}

double Technology::sram_access_64b_pj(double capacity_bytes) const {
  // The segment containing the capacity, or the nearest end segment.
  std::size_t i = 0;
  while (i + 2 < m_sram_points.size() && capacity_bytes > m_sram_points[i + 1].first) ++i;
  const auto [c0, e0] = m_sram_points[i];
  const auto [c1, e1] = m_sram_points[i + 1];
  const double slope = std::log(e1 / e0) / std::log(c1 / c0);
  return e0 * std::pow(capacity_bytes / c0, slope);
}

std::optional<double> Technology::dram_pj_per_bit(const std::string& standard) const {
  const auto it = m_dram_pj_per_bit.find(standard);
  if (it == m_dram_pj_per_bit.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Technology::dram_standards() const {
  std::vector<std::string> out;
  for (const auto& [name, v] : m_dram_pj_per_bit) out.push_back(name);
  return out;
}

double Technology::idle_w_per_mm2(int node_nm, double clock_mhz, std::optional<double> vdd) const {
  const NodeScale at = scale(node_nm, vdd).value();
  const NodeScale ref = m_nodes.at(28);
  const double pj_per_cycle =
      m_idle_pj_per_cycle_mm2_28nm * (at.energy / at.area) / (ref.energy / ref.area);
  return pj_per_cycle * 1e-12 * clock_mhz * 1e6;
}

}  // namespace tessel::arch
