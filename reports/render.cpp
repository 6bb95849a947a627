#include "reports/render.h"

#include "reports/html.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace tessel::reports {

namespace {

const char* kCauses[] = {"dram", "dma", "sram", "vector", "dispatch", "dependency"};
const char* kCauseColours[] = {"#d62728", "#ff7f0e", "#9467bd", "#2ca02c", "#bcbd22", "#7f7f7f"};
const char* kComputeColour = "#1f77b4";

double num(const nlohmann::json& j, const char* key) {
  return j.contains(key) ? j[key].get<double>() : 0.0;
}

// Width of one layer's bar in the per-layer charts: 4 to 24 px, about
// 1100 px in all.
// An <svg> element of the given size, labelled for screen readers.
std::string svg_open(double width, double height, const std::string& label) {
  return fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{:.0f}" height="{:.0f}" role="img" aria-label="{}">)",
      width, height, label);
}

double layer_bar_width(const nlohmann::json& layers) {
  return std::max(4.0, std::min(24.0, 1100.0 / std::max<std::size_t>(1, layers.size())));
}

// Per-layer cycles as stacked vertical bars: compute, then each stall cause.
std::string stacked_cycles_svg(const nlohmann::json& layers) {
  const double width_each = layer_bar_width(layers);
  const double height = 260, left = 60, top = 10;
  double max_cycles = 1;
  for (const auto& l : layers) max_cycles = std::max(max_cycles, num(l, "cycles"));
  const double width = left + width_each * layers.size() + 10;
  std::string svg = svg_open(width, height + 40, "cycles per layer");
  svg += fmt::format(
      R"(<text x="4" y="{:.0f}" font-size="11">{}</text><text x="4" y="{:.0f}" font-size="11">0</text>)",
      top + 10, human(max_cycles), top + height);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    double y = top + height;
    const double x = left + i * width_each;
    auto bar = [&](double cycles, const char* colour, const std::string& what) {
      if (cycles <= 0) return;
      const double h = height * cycles / max_cycles;
      y -= h;
      svg += fmt::format(
          R"(<rect x="{:.2f}" y="{:.2f}" width="{:.2f}" height="{:.2f}" fill="{}"><title>{}: {} {} cycles</title></rect>)",
          x, y, width_each * 0.9, h, colour, escape(l["name"].get<std::string>()), what,
          static_cast<std::uint64_t>(cycles));
    };
    bar(num(l, "compute_cycles"), kComputeColour, "compute");
    for (std::size_t c = 0; c < std::size(kCauses); ++c)
      bar(num(l["stall_by_cause"], kCauses[c]), kCauseColours[c], kCauses[c]);
  }
  return svg + "</svg>";
}

std::string legend() {
  std::string out =
      fmt::format(R"(<span class="key" style="background:{}"></span>compute )", kComputeColour);
  for (std::size_t c = 0; c < std::size(kCauses); ++c) {
    out += fmt::format(R"(<span class="key" style="background:{}"></span>{} stall )",
                       kCauseColours[c], kCauses[c]);
  }
  return "<p>" + out + "</p>";
}

std::string utilization_svg(const nlohmann::json& layers) {
  const double width_each = layer_bar_width(layers);
  const double height = 160, left = 60, top = 10;
  const double width = left + width_each * layers.size() + 10;
  std::string svg = svg_open(width, height + 30, "utilization per layer");
  svg += fmt::format(
      R"(<text x="4" y="{:.0f}" font-size="11">100%</text><text x="4" y="{:.0f}" font-size="11">0%</text>)",
      top + 10, top + height);
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& l = layers[i];
    const double u = std::min(1.0, num(l, "utilization"));
    const double h = height * u;
    svg += fmt::format(
        R"(<rect x="{:.2f}" y="{:.2f}" width="{:.2f}" height="{:.2f}" fill="#17becf"><title>{}: {:.1f}% utilization, {:.1f}% mapping efficiency</title></rect>)",
        left + i * width_each, top + height - h, width_each * 0.9, h,
        escape(l["name"].get<std::string>()), 100 * u, 100 * num(l, "mapping_efficiency"));
  }
  return svg + "</svg>";
}

std::string traffic_svg(const nlohmann::json& report) {
  struct Bar {
    std::string name;
    double read, write;
  };
  std::vector<Bar> bars = {{"DRAM", num(report["totals"], "dram_read_bytes"),
                            num(report["totals"], "dram_write_bytes")}};
  for (const auto& s : report["units"]["sram"]) {
    bars.push_back({s["name"].get<std::string>(), num(s, "read_bytes"), num(s, "write_bytes")});
  }
  double most = 1;
  for (const auto& b : bars) most = std::max(most, b.read + b.write);
  const double row = 28, left = 120, width = 700;
  std::string svg = svg_open(left + width + 260, row * bars.size() + 10, "memory traffic");
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    const double y = 5 + i * row, wr = width * b.read / most, ww = width * b.write / most;
    svg +=
        fmt::format(R"(<text x="4" y="{:.0f}" font-size="12">{}</text>)", y + 16, escape(b.name));
    svg += fmt::format(
        R"(<rect x="{:.0f}" y="{:.0f}" width="{:.2f}" height="20" fill="#1f77b4"><title>{} read: {} B</title></rect>)",
        left, y, wr, escape(b.name), static_cast<std::uint64_t>(b.read));
    svg += fmt::format(
        R"(<rect x="{:.2f}" y="{:.0f}" width="{:.2f}" height="20" fill="#ff7f0e"><title>{} written: {} B</title></rect>)",
        left + wr, y, ww, escape(b.name), static_cast<std::uint64_t>(b.write));
    svg += fmt::format(R"(<text x="{:.0f}" y="{:.0f}" font-size="11">{}B read, {}B written</text>)",
                       left + wr + ww + 6, y + 15, human(b.read), human(b.write));
  }
  return svg + "</svg>";
}

// Log-log roofline: MACs per cycle against MACs per DRAM byte.
std::string roofline_svg(const nlohmann::json& report) {
  const double peak = std::max(1.0, num(report["hardware"], "peak_macs_per_cycle"));
  const double bw = std::max(1e-9, num(report["hardware"], "dram_bytes_per_cycle"));
  const double width = 640, height = 380, left = 70, bottom = 40;
  // Decades: from 10^-2 MACs/byte, and four decades below the peak's.
  const double top_decade = std::pow(10.0, std::ceil(std::log10(peak * 1.01)));
  const double xmin = 1e-2, xmax = 1e5, ymin = top_decade / 1e5, ymax = top_decade;
  auto px = [&](double x) {
    return left + (width - left - 20) * (std::log10(x) - std::log10(xmin)) /
                      (std::log10(xmax) - std::log10(xmin));
  };
  auto py = [&](double y) {
    return height - bottom -
           (height - bottom - 10) * (std::log10(y) - std::log10(ymin)) /
               (std::log10(ymax) - std::log10(ymin));
  };
  std::string svg = svg_open(width, height, "roofline");
  svg += fmt::format(
      R"(<rect x="{:.0f}" y="10" width="{:.0f}" height="{:.0f}" fill="none" stroke="#999"/>)", left,
      width - left - 20, height - bottom - 10);
  for (double x = xmin; x <= xmax * 1.001; x *= 10) {
    svg +=
        fmt::format(R"(<text x="{:.1f}" y="{:.0f}" font-size="10" text-anchor="middle">{}</text>)",
                    px(x), height - bottom + 14, human(x));
  }
  for (double y = ymin; y <= ymax * 1.001; y *= 10) {
    svg += fmt::format(R"(<text x="{:.0f}" y="{:.1f}" font-size="10" text-anchor="end">{}</text>)",
                       left - 4, py(y) + 3, human(y));
  }
  svg += fmt::format(
      R"(<text x="{:.0f}" y="{:.0f}" font-size="12" text-anchor="middle">MACs per DRAM byte</text>)",
      (left + width) / 2, height - 6);
  svg += fmt::format(
      R"svg(<text x="14" y="{:.0f}" font-size="12" transform="rotate(-90 14 {:.0f})" text-anchor="middle">MACs per cycle</text>)svg",
      height / 2, height / 2);
  const double ridge = peak / bw;
  const double x0 = std::max(xmin, ymin / bw);
  svg += fmt::format(
      R"(<polyline fill="none" stroke="#d62728" stroke-width="2" points="{:.1f},{:.1f} {:.1f},{:.1f} {:.1f},{:.1f}"><title>roofline: DRAM {:.3g} B/cycle, peak {:.3g} MACs/cycle, ridge at {:.3g} MACs/byte</title></polyline>)",
      px(x0), py(x0 * bw), px(ridge), py(peak), px(xmax), py(peak), bw, peak, ridge);
  for (const auto& l : report["layers"]) {
    const auto& r = l["roofline"];
    const double x = num(r, "operational_intensity_macs_per_dram_byte"),
                 y = num(r, "achieved_macs_per_cycle");
    if (x <= 0 || y <= 0) continue;
    svg += fmt::format(
        R"(<circle cx="{:.1f}" cy="{:.1f}" r="4" fill="#1f77b4" fill-opacity="0.6"><title>{}: {:.3g} MACs/byte, {:.3g} MACs/cycle achieved, {:.3g} attainable, {}-bound</title></circle>)",
        px(std::clamp(x, xmin, xmax)), py(std::clamp(y, ymin, ymax)),
        escape(l["name"].get<std::string>()), x, y, num(r, "attainable_macs_per_cycle"),
        r["bound"].get<std::string>());
  }
  return svg + "</svg>";
}

// One horizontal bar per (name, value), labelled with the value and unit.
std::string bars_svg(const std::vector<std::pair<std::string, double>>& bars, const char* unit,
                     const char* label) {
  double most = 1e-300;
  for (const auto& [name, v] : bars) most = std::max(most, v);
  const double row = 26, left = 120, width = 600;
  std::string svg = svg_open(left + width + 200, row * bars.size() + 10, label);
  double total = 0;
  for (const auto& [name, v] : bars) total += v;
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const auto& [name, v] = bars[i];
    const double y = 5 + i * row, w = width * v / most;
    svg += fmt::format(R"(<text x="4" y="{:.0f}" font-size="12">{}</text>)", y + 15, escape(name));
    svg += fmt::format(
        R"(<rect x="{:.0f}" y="{:.0f}" width="{:.2f}" height="18" fill="#2ca02c"><title>{}: {:.6g} {}</title></rect>)",
        left, y, w, escape(name), v, unit);
    svg += fmt::format(R"(<text x="{:.0f}" y="{:.0f}" font-size="11">{}{} ({:.1f}%)</text>)",
                       left + w + 6, y + 14, human(v), unit, total > 0 ? 100 * v / total : 0.0);
  }
  return svg + "</svg>";
}

std::vector<std::pair<std::string, double>> entries(const nlohmann::json& object) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [name, v] : object.items()) out.emplace_back(name, v.get<double>());
  return out;
}

// The summary rows for energy, power and area, or why they are absent.
std::string cost_rows(const nlohmann::json& report) {
  const auto& t = report["totals"];
  const auto& hw = report["hardware"];
  if (!t.contains("energy_pj")) {
    return "<tr><td>energy, power, area</td><td>not modelled: the config has no technology "
           "block (docs/energy-area.md)</td></tr>\n";
  }
  std::string rows = fmt::format(
      "<tr><td>energy</td><td>{:.4g} mJ ({:.3f} W average, {:.3f} TOPS/W, EDP {:.4g} J "
      "s)</td></tr>\n"
      "<tr><td>area</td><td>{:.3f} mm<sup>2</sup> at {} nm ({:.3f} peak TOPS/mm<sup>2</sup>, idle "
      "{:.3f} W)</td></tr>\n",
      num(t, "energy_pj") * 1e-9, num(t, "power_w"), num(t, "tops_per_w"), num(t, "edp_j_s"),
      num(hw, "area_mm2"), hw["technology_node_nm"].get<int>(), num(hw, "peak_tops_per_mm2"),
      num(hw, "idle_power_w"));
  for (const auto& gap : hw["energy_not_modelled"])
    rows += "<tr><td>not modelled</td><td>" + escape(gap.get<std::string>()) + "</td></tr>\n";
  return rows;
}

}  // namespace

std::string layers_csv(const nlohmann::json& report) {
  std::string out =
      "index,name,cycles,compute_cycles,stall_cycles,stall_dram,stall_dma,stall_sram,stall_vector,"
      "stall_dispatch,stall_dependency,vector_cycles,macs,mapping_efficiency,utilization,dram_read_"
      "bytes,"
      "dram_write_bytes,operational_intensity_macs_per_dram_byte,attainable_macs_per_cycle,"
      "achieved_macs_per_cycle,bound,energy_pj\n";
  std::size_t i = 0;
  for (const auto& l : report["layers"]) {
    const auto& s = l["stall_by_cause"];
    const auto& r = l["roofline"];
    out += fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{:.6g},{:.6g},{},{},{:.6g},{:.6g},{:.6g},{},{}\n",
        i++, csv_field(l["name"].get<std::string>()), l["cycles"].get<std::uint64_t>(),
        l["compute_cycles"].get<std::uint64_t>(), l["stall_cycles"].get<std::uint64_t>(),
        s["dram"].get<std::uint64_t>(), s["dma"].get<std::uint64_t>(),
        s["sram"].get<std::uint64_t>(), s["vector"].get<std::uint64_t>(),
        s.value("dispatch", std::uint64_t{0}), s["dependency"].get<std::uint64_t>(),
        l["vector_cycles"].get<std::uint64_t>(), l["macs"].get<std::uint64_t>(),
        l["mapping_efficiency"].get<double>(), l["utilization"].get<double>(),
        l["dram_read_bytes"].get<std::uint64_t>(), l["dram_write_bytes"].get<std::uint64_t>(),
        r["operational_intensity_macs_per_dram_byte"].get<double>(),
        r["attainable_macs_per_cycle"].get<double>(), r["achieved_macs_per_cycle"].get<double>(),
        r["bound"].get<std::string>(),
        l.contains("energy_pj") ? fmt::format("{:.6g}", l["energy_pj"].get<double>()) : "");
  }
  return out;
}

std::string html_page(const nlohmann::json& report) {
  const auto& t = report["totals"];
  const auto& hw = report["hardware"];
  const double clock_mhz = report["config"].value("clock_mhz", 0.0);
  const std::string title =
      fmt::format("Tessel report: {} on {}", report["workload"].get<std::string>(),
                  report["config"].value("name", "unnamed"));
  std::string rows;
  for (const auto& l : report["layers"]) {
    const auto& s = l["stall_by_cause"];
    rows += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1f}%</"
        "td><td>{:.1f}%</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        escape(l["name"].get<std::string>()), l["cycles"].get<std::uint64_t>(),
        l["compute_cycles"].get<std::uint64_t>(), l["stall_cycles"].get<std::uint64_t>(),
        s["dram"].get<std::uint64_t>() + s["dma"].get<std::uint64_t>(), human(num(l, "macs")),
        100 * num(l, "utilization"), 100 * num(l, "mapping_efficiency"),
        human(num(l, "dram_read_bytes") + num(l, "dram_write_bytes")),
        l["roofline"]["bound"].get<std::string>(), l["vector_cycles"].get<std::uint64_t>(),
        l.contains("energy_pj") ? fmt::format("{:.4g} uJ", num(l, "energy_pj") * 1e-6) : "-");
  }
  std::string stalls;
  for (const char* c : kCauses)
    stalls += fmt::format("{} {}, ", c, t["stall_by_cause"].value(c, std::uint64_t{0}));
  stalls.resize(stalls.size() - 2);
  std::string page = page_head(
      title,
      ".summary td { font-size: 13px; } .key { display: inline-block; width: 12px; height: "
      "12px; margin: 0 4px 0 10px; vertical-align: middle; }\n"
      ".scroll { overflow-x: auto; }\n");
  page += fmt::format(
      R"(<table class="summary">
<tr><td>latency</td><td>{} cycles ({:.4f} ms at {} MHz)</td></tr>
<tr><td>compute / stalls</td><td>{} / {} cycles ({})</td></tr>
<tr><td>MACs</td><td>{} ({:.1f}% utilization)</td></tr>
<tr><td>throughput</td><td>{:.3f} TOPS achieved of {:.3f} TOPS peak ({})</td></tr>
<tr><td>DRAM traffic</td><td>{}B read, {}B written</td></tr>
<tr><td>bound</td><td>{}</td></tr>
{}</table>
)",
      t["cycles"].get<std::uint64_t>(), num(t, "latency_ms"), clock_mhz,
      t["compute_cycles"].get<std::uint64_t>(), t["stall_cycles"].get<std::uint64_t>(), stalls,
      human(num(t, "macs")), 100 * num(t, "utilization"), num(t, "achieved_tops"),
      num(hw, "peak_tops"), hw["peak_tops_precision"].get<std::string>(),
      human(num(t, "dram_read_bytes")), human(num(t, "dram_write_bytes")),
      t["roofline"]["bound"].get<std::string>(), cost_rows(report));
  if (t.contains("energy_by_component_pj")) {
    page += "<h2>Energy by component</h2>" +
            bars_svg(entries(t["energy_by_component_pj"]), "pJ", "energy by component");
    page += "<h2>SRAM energy by buffer</h2>" +
            bars_svg(entries(t["energy_by_buffer_pj"]), "pJ", "SRAM energy by buffer");
    page += "<h2>Area by component</h2>" +
            bars_svg(entries(hw["area_by_component_mm2"]), "mm2", "area by component");
  }
  page += "<h2>Cycles per layer: compute and stalls by cause</h2>" + legend() +
          "<div class=\"scroll\">" + stacked_cycles_svg(report["layers"]) + "</div>";
  page += "<h2>Utilization per layer</h2><div class=\"scroll\">" +
          utilization_svg(report["layers"]) + "</div>";
  page += "<h2>Memory traffic per level</h2>" + traffic_svg(report);
  page += "<h2>Roofline</h2>" + roofline_svg(report);
  page +=
      R"(<h2>Layers</h2><div class="scroll"><table><tr><th>layer</th><th>cycles</th><th>compute</th><th>stalls</th><th>DRAM+DMA stalls</th><th>MACs</th><th>utilization</th><th>mapping eff.</th><th>DRAM bytes</th><th>bound</th><th>vector cycles</th><th>energy</th></tr>
)" + rows +
      "</table></div>\n";
  page += fmt::format("<p>{} {} ({}), schema {}</p></body></html>\n",
                      escape(report["tool"]["name"].get<std::string>()),
                      escape(report["tool"]["version"].get<std::string>()),
                      escape(report["tool"]["git_revision"].get<std::string>()),
                      escape(report["schema"].get<std::string>()));
  return page;
}

}  // namespace tessel::reports
