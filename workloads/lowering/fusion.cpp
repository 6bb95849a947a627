#include "workloads/lowering/fusion.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "arch/error.h"
#include "workloads/lowering/named_registry.h"

namespace tessel::workloads {

namespace {

// `name` without the dotted prefix it shares with `head` ("layer1.0.add"
// after "layer1.0.conv3" is "add").
std::string member_suffix(const std::string& head, const std::string& name) {
  std::size_t common = 0, cut = 0;
  while (common < head.size() && common < name.size() && head[common] == name[common]) {
    if (head[common] == '.') cut = common + 1;
    ++common;
  }
  return name.substr(cut);
}

// Every layer on its own.
class NoFusion : public IFusionPolicy {
 public:
  std::vector<Fused> candidates(const Workload& workload, const arch::Config&) const override {
    return {unfused(workload)};
  }
};

}  // namespace

bool register_fusion(FusionInfo info) {
  return NamedRegistry<FusionInfo>::add(std::move(info));
}

const std::vector<FusionInfo>& fusion_policies() {
  return NamedRegistry<FusionInfo>::all();
}

std::vector<Fused> fusion_candidates(const Workload& workload, const arch::Config& config) {
  const auto& policy = NamedRegistry<FusionInfo>::find(config.schedule.fusion, config.source,
                                                       "arch.schedule.fusion", "fusion policy");
  std::vector<Fused> out = policy.make()->candidates(workload, config);
  if (out.empty() || out.front().workload.layers.size() != workload.layers.size())
    throw std::logic_error("fusion policy \"" + policy.name +
                           "\" broke its contract: the unfused workload comes first");
  for (const auto& f : out) validate_edges(f.workload, workload.name);
  return out;
}

Fused unfused(const Workload& workload) {
  Fused out{workload, {}};
  for (std::size_t i = 0; i < workload.layers.size(); ++i) out.groups.push_back({i});
  return out;
}

Fused merge_groups(const Workload& workload, const std::vector<std::size_t>& head,
                   const std::vector<Layer>& merged) {
  const std::size_t n = workload.layers.size();
  std::vector<std::size_t> members(n, 0), index(n, 0);
  for (std::size_t i = 0; i < n; ++i) ++members[head[i]];
  Fused out;
  out.workload.name = workload.name;
  out.workload.skipped = workload.skipped;
  for (std::size_t i = 0; i < n; ++i) {
    if (head[i] != i) continue;
    index[i] = out.groups.size();
    out.groups.push_back({});
    out.workload.layers.push_back(members[i] > 1 ? merged[i] : workload.layers[i]);
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (head[i] != i) index[i] = index[head[i]];
    out.groups[index[i]].push_back(i);
  }
  for (std::size_t g = 0; g < out.groups.size(); ++g) {
    Layer& l = out.workload.layers[g];
    const std::size_t h = out.groups[g].front();
    for (std::size_t m = 1; m < out.groups[g].size(); ++m)
      l.name +=
          "+" + member_suffix(workload.layers[h].name, workload.layers[out.groups[g][m]].name);
    for (auto& p : l.inputs) p = index[p];
    if (l.on_array() && l.second == OperandSource::kProducer)
      l.second_producer = index[l.second_producer];
    if (l.residual) l.residual->producer = index[l.residual->producer];
    if (l.attention && l.attention->value == OperandSource::kProducer)
      l.attention->value_producer = index[l.attention->value_producer];
    if (l.weights_of) l.weights_of = index[*l.weights_of];
  }
  return out;
}

std::vector<std::vector<std::size_t>> readers_of(const Workload& workload) {
  std::vector<std::vector<std::size_t>> out(workload.layers.size());
  for (std::size_t i = 0; i < workload.layers.size(); ++i) {
    const Layer& l = workload.layers[i];
    for (auto p : l.producers()) out[p].push_back(i);
  }
  return out;
}

TESSEL_REGISTER_FUSION("none", "every layer lowered on its own", NoFusion);

}  // namespace tessel::workloads
