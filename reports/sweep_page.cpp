#include "reports/sweep_page.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "reports/html.h"

namespace tessel::reports {

namespace {

std::optional<double> value_of(const nlohmann::json& point, const std::string& metric) {
  const auto& m = point["metrics"];
  if (!m.contains(metric) || !m[metric].is_number()) return std::nullopt;
  return m[metric].get<double>();
}

std::string text_of(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// What a point's hover shows: its status, parameters and metrics.
std::string tooltip(const nlohmann::json& p) {
  std::string t = p["status"].get<std::string>();
  if (p.contains("reason") && !p["reason"].get<std::string>().empty()) {
    t += ": " + p["reason"].get<std::string>();
  }
  for (const auto& [k, v] : p["params"].items()) t += "\n" + k + " = " + text_of(v);
  for (const auto& [k, v] : p["metrics"].items()) {
    t += "\n" + k + " = " + (v.is_number() ? fmt::format("{:.6g}", v.get<double>()) : "none");
  }
  return escape(t);
}

// One axis: linear, or log10 when the values are positive and span more
// than a factor of 50.
struct Axis {
  double lo, hi;
  bool log;
  double pos(double v) const {
    const double a = log ? std::log10(v) : v, l = log ? std::log10(lo) : lo,
                 h = log ? std::log10(hi) : hi;
    return h > l ? (a - l) / (h - l) : 0.5;
  }
  double at(double f) const {
    return log ? std::pow(10.0, std::log10(lo) + f * (std::log10(hi) - std::log10(lo)))
               : lo + f * (hi - lo);
  }
};

Axis axis(const std::vector<double>& v) {
  const auto [mn, mx] = std::minmax_element(v.begin(), v.end());
  Axis a{*mn, *mx, *mn > 0 && *mx / *mn > 50};
  if (a.hi == a.lo) {
    a.lo -= std::abs(a.lo) * 0.1 + 1e-9;
    a.hi += std::abs(a.hi) * 0.1 + 1e-9;
    a.log = false;
  }
  return a;
}

std::string scatter(const nlohmann::json& sweep, std::size_t i, std::size_t j) {
  const auto& ox = sweep["objectives"][i];
  const auto& oy = sweep["objectives"][j];
  const std::string mx = ox["metric"], my = oy["metric"];
  std::vector<double> xs, ys;
  std::vector<const nlohmann::json*> shown;
  for (const auto& p : sweep["points"]) {
    const auto x = value_of(p, mx), y = value_of(p, my);
    if (!x || !y) continue;
    xs.push_back(*x);
    ys.push_back(*y);
    shown.push_back(&p);
  }
  const double W = 520, H = 340, L = 70, R = 20, T = 16, B = 52;
  std::string svg = fmt::format(
      R"(<svg class="scatter" xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}">)",
      W, H, W, H);
  svg += fmt::format(R"(<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#999"/>)", L,
                     T, W - L - R, H - T - B);
  if (shown.empty()) {
    return svg +
           fmt::format(
               R"(<text x="{}" y="{}" text-anchor="middle">no point has both metrics</text></svg>)",
               W / 2, H / 2);
  }
  const Axis ax = axis(xs), ay = axis(ys);
  auto px = [&](double v) { return L + ax.pos(v) * (W - L - R); };
  auto py = [&](double v) { return H - B - ay.pos(v) * (H - T - B); };
  for (int k = 0; k <= 4; ++k) {
    const double f = k / 4.0;
    svg += fmt::format(R"(<text x="{:.1f}" y="{}" font-size="10" text-anchor="middle">{}</text>)",
                       L + f * (W - L - R), H - B + 14, human(ax.at(f)));
    svg += fmt::format(R"(<text x="{}" y="{:.1f}" font-size="10" text-anchor="end">{}</text>)",
                       L - 4, H - B - f * (H - T - B) + 3, human(ay.at(f)));
  }
  auto label = [](const nlohmann::json& o, bool log) {
    return fmt::format("{} ({} better{})", o["metric"].get<std::string>(),
                       o["goal"] == "min" ? "lower" : "higher", log ? ", log scale" : "");
  };
  svg += fmt::format(R"(<text x="{}" y="{}" font-size="12" text-anchor="middle">{}</text>)",
                     L + (W - L - R) / 2, H - 12, escape(label(ox, ax.log)));
  svg += fmt::format(
      R"svg(<text x="14" y="{}" font-size="12" text-anchor="middle" transform="rotate(-90 14 {})">{}</text>)svg",
      T + (H - T - B) / 2, T + (H - T - B) / 2, escape(label(oy, ay.log)));
  // Others first, the front on top. Past kMaxOthers points off the front,
  // every stride-th is drawn (the page stays a few MB for any sweep size).
  constexpr std::size_t kMaxOthers = 4000;
  std::size_t others = 0;
  for (const auto* p : shown) others += !p->value("front", false);
  const std::size_t stride = (others + kMaxOthers - 1) / kMaxOthers;
  std::size_t other = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t k = 0; k < shown.size(); ++k) {
      const auto& p = *shown[k];
      const bool front = p.value("front", false);
      if (front != (pass == 1)) continue;
      if (!front && other++ % stride != 0) continue;
      const std::string cls = front ? "front" : p["status"] == "ok" ? "ok" : "infeasible";
      const char* fill = front ? "#d62728" : p["status"] == "ok" ? "#1f77b4" : "#bbbbbb";
      svg += fmt::format(
          R"(<circle class="{}" cx="{:.1f}" cy="{:.1f}" r="{}" fill="{}" fill-opacity="0.75"><title>{}</title></circle>)",
          cls, px(xs[k]), py(ys[k]), front ? 5 : 3.5, fill, tooltip(p));
    }
  }
  if (stride > 1) {
    svg += fmt::format(
        R"(<text x="{}" y="{}" font-size="10" text-anchor="end">1 in {} of the {} points off the front drawn</text>)",
        W - R - 4, T + 12, stride, others);
  }
  return svg + "</svg>";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Main effects: per parameter value, the median of each objective over the
// feasible points with that value; a parameter's effect is the spread of
// those medians relative to the overall median.
std::string sensitivity(const nlohmann::json& sweep) {
  const auto& objectives = sweep["objectives"];
  std::string head =
      "<tr><th>parameter</th><th>value</th><th>points</th><th>feasible</th><th>on front</th>";
  for (const auto& o : objectives) {
    head += fmt::format("<th>median {}</th>", escape(o["metric"].get<std::string>()));
  }
  head += "</tr>\n";
  struct Row {
    std::string parameter;
    double effect;  // on the first objective, percent
    std::string html;
  };
  std::vector<Row> rows;
  std::vector<double> overall_first;
  for (const auto& p : sweep["points"]) {
    if (p["status"] != "ok") continue;
    if (const auto v = value_of(p, objectives[0]["metric"])) overall_first.push_back(*v);
  }
  for (const auto& param : sweep["parameters"]) {
    const std::string path = param;
    std::map<std::string, std::vector<const nlohmann::json*>> by_value;
    std::vector<std::pair<nlohmann::json, std::string>> order;
    for (const auto& p : sweep["points"]) {
      if (!p["params"].contains(path)) continue;
      const auto& v = p["params"][path];
      const std::string key = text_of(v);
      if (!by_value.contains(key)) order.push_back({v, key});
      by_value[key].push_back(&p);
    }
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      if (a.first.is_number() && b.first.is_number()) {
        return a.first.template get<double>() < b.first.template get<double>();
      }
      return a.second < b.second;
    });
    std::string html;
    std::vector<double> first_medians;
    std::vector<std::string> effects;
    for (const auto& [v, key] : order) {
      const auto& points = by_value[key];
      std::size_t feasible = 0, front = 0;
      for (const auto* p : points) {
        feasible += (*p)["status"] == "ok";
        front += p->value("front", false);
      }
      html += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                          escape(path), escape(key), points.size(), feasible, front);
      for (std::size_t o = 0; o < objectives.size(); ++o) {
        std::vector<double> vals;
        for (const auto* p : points) {
          if ((*p)["status"] != "ok") continue;
          if (const auto x = value_of(*p, objectives[o]["metric"])) vals.push_back(*x);
        }
        if (vals.empty()) {
          html += "<td>-</td>";
          continue;
        }
        const double m = median(vals);
        if (o == 0) first_medians.push_back(m);
        html += fmt::format("<td>{:.4g}</td>", m);
      }
      html += "</tr>\n";
    }
    double effect = 0;
    if (first_medians.size() > 1 && !overall_first.empty() && median(overall_first) != 0) {
      const auto [mn, mx] = std::minmax_element(first_medians.begin(), first_medians.end());
      effect = 100 * (*mx - *mn) / std::abs(median(overall_first));
    }
    rows.push_back({path, effect, html});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.effect > b.effect; });
  std::string ranking = "<ol class=\"effects\">";
  for (const auto& r : rows) {
    ranking += fmt::format("<li>{}: {:.1f}%</li>", escape(r.parameter), r.effect);
  }
  ranking += "</ol>";
  std::string table = "<table class=\"sensitivity\">" + head;
  for (const auto& r : rows) table += r.html;
  return fmt::format(
             "<p>Effect on {}: the spread of the per-value medians over feasible points, "
             "relative to the overall median (largest first).</p>",
             escape(objectives[0]["metric"].get<std::string>())) +
         ranking + table + "</table>";
}

}  // namespace

std::string sweep_html(const nlohmann::json& sweep) {
  const std::string title = "Tessel sweep: " + sweep["name"].get<std::string>();
  std::size_t ok = 0, infeasible = 0, failed = 0, front = 0;
  for (const auto& p : sweep["points"]) {
    ok += p["status"] == "ok";
    infeasible += p["status"] == "infeasible";
    failed += p["status"] == "failed";
    front += p.value("front", false);
  }
  std::string page = page_head(
      title, "td:nth-child(2) { text-align: left; }\n.scatter { margin: 0 16px 16px 0; }\n");
  page += fmt::format(
      "<p>{} points: {} feasible, {} infeasible, {} failed; {} on the Pareto front (red). "
      "Hover a point for its parameters and metrics; grey points are infeasible.</p>\n",
      sweep["points"].size(), ok, infeasible, failed, front);
  const std::size_t n = sweep["objectives"].size();
  page += "<h2>Objectives, two at a time</h2>\n<div>";
  if (n == 1) page += scatter(sweep, 0, 0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) page += scatter(sweep, i, j);
  }
  page += "</div>\n<h2>Sensitivity per parameter</h2>\n";
  page += sweep["parameters"].empty() ? "<p>No swept parameters.</p>" : sensitivity(sweep);
  return page + "\n</body></html>\n";
}

}  // namespace tessel::reports
