#include "sim/timeline_json.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace tessel::sim {

namespace {

struct Span {
  std::string name;
  Cycles start, end;
  std::uint32_t layer;
  std::uint64_t count = 1;
};

// Merges consecutive spans with the same key into one.
std::vector<Span> coalesce(const std::vector<Span>& spans, bool by_layer_only) {
  std::vector<Span> out;
  for (const auto& s : spans) {
    if (!out.empty() && out.back().layer == s.layer &&
        (by_layer_only || out.back().name == s.name)) {
      out.back().end = max(out.back().end, s.end);
      out.back().count += s.count;
      if (by_layer_only) out.back().name = "layer " + std::to_string(s.layer);
    } else {
      out.push_back(s);
      if (by_layer_only) out.back().name = "layer " + std::to_string(s.layer);
    }
  }
  return out;
}

// Merges consecutive spans into `limit` groups ("layers 10-19").
std::vector<Span> group(const std::vector<Span>& spans, std::size_t limit) {
  const std::size_t per = (spans.size() + limit - 1) / limit;
  std::vector<Span> out;
  for (std::size_t i = 0; i < spans.size(); i += per) {
    const std::size_t last = std::min(spans.size(), i + per) - 1;
    Span s = spans[i];
    s.end = spans[i].end;
    s.count = 0;
    for (std::size_t j = i; j <= last; ++j) {
      s.end = max(s.end, spans[j].end);
      s.count += spans[j].count;
    }
    s.name = fmt::format("layers {}-{}", spans[i].layer, spans[last].layer);
    out.push_back(s);
  }
  return out;
}

}  // namespace

nlohmann::json timeline_json(const SimResult& result, double clock_mhz, std::size_t max_events) {
  std::map<std::string, std::vector<Span>> tracks;
  for (const auto& t : result.timeline)
    tracks[t.track].push_back({t.name, t.start, t.end, t.layer});
  const std::size_t budget =
      std::max<std::size_t>(1, max_events / std::max<std::size_t>(1, tracks.size()));
  nlohmann::json events = nlohmann::json::array();
  int tid = 0;
  const double us_per_cycle = 1.0 / clock_mhz;
  events.push_back(
      {{"ph", "M"}, {"pid", 1}, {"name", "process_name"}, {"args", {{"name", "tessel"}}}});
  for (auto& [track, spans] : tracks) {
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
      return a.start != b.start ? a.start < b.start : a.end < b.end;
    });
    if (track != "layers" && spans.size() > budget) spans = coalesce(spans, false);
    if (track != "layers" && spans.size() > budget) spans = coalesce(spans, true);
    if (spans.size() > budget) spans = group(spans, budget);
    ++tid;
    events.push_back({{"ph", "M"},
                      {"pid", 1},
                      {"tid", tid},
                      {"name", "thread_name"},
                      {"args", {{"name", track}}}});
    events.push_back({{"ph", "M"},
                      {"pid", 1},
                      {"tid", tid},
                      {"name", "thread_sort_index"},
                      {"args", {{"sort_index", track == "layers" ? 0 : tid}}}});
    for (const auto& s : spans) {
      nlohmann::json args = {
          {"layer", s.layer}, {"start_cycle", s.start.count()}, {"end_cycle", s.end.count()}};
      if (s.count > 1) args["count"] = s.count;
      events.push_back({{"ph", "X"},
                        {"pid", 1},
                        {"tid", tid},
                        {"name", s.name},
                        {"ts", s.start.count() * us_per_cycle},
                        {"dur", (s.end - s.start).count() * us_per_cycle},
                        {"args", args}});
    }
  }
  return {{"traceEvents", events}, {"displayTimeUnit", "ns"}};
}

}  // namespace tessel::sim
