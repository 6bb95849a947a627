#pragma once
// Layer fusion: groups of layers lowered as one, so that the tensors inside
// a group never leave the chip and its on-chip operators run as the group's
// epilogue, tile by tile, instead of as passes of their own. The config key
// `schedule.fusion` names a policy; policies self-register with
// TESSEL_REGISTER_FUSION in their own file under impl/ (the OBJECT library
// `tessel_mappers`), as mappers do.
//
// Contract of a policy: it proposes candidate fused workloads, the unfused
// workload first; the schedule (schedule.h) maps each and keeps the one
// with the lowest expected cycles, then DRAM bytes (the first on ties), so
// which groups to fuse is part of the search. Each candidate computes the
// same network: each group becomes one layer at the position of its first
// member, or, striped (stripes.h), one layer per member per stripe at the
// position of its last; a tensor that a layer outside the group reads is
// the group's output (so only the group's last tensor may have readers
// outside it); every other layer is kept as it is, its edges renumbered. Candidates pass
// validate_edges and depend only on the workload and the config.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "arch/config.h"
#include "workloads/layer.h"
#include "workloads/lowering/named_registry.h"

namespace tessel::workloads {

struct Fused {
  Workload workload;
  // Per layer of `workload`: the indices of the original layers it runs,
  // in their original order.
  std::vector<std::vector<std::size_t>> groups;
};

class IFusionPolicy {
 public:
  virtual ~IFusionPolicy() = default;
  virtual std::vector<Fused> candidates(const Workload& workload,
                                        const arch::Config& config) const = 0;
};

struct FusionInfo {
  std::string name;
  std::string help;
  std::function<std::unique_ptr<IFusionPolicy>()> make;
};

bool register_fusion(FusionInfo info);
const std::vector<FusionInfo>& fusion_policies();

// The candidates of the policy `config.schedule.fusion`; throws InputError
// naming the config key and the registered names when there is none.
std::vector<Fused> fusion_candidates(const Workload& workload, const arch::Config& config);

// `workload` unfused, as a candidate: every layer its own group.
Fused unfused(const Workload& workload);

// The fused workload of groups given as `head[i]`: the original index of
// the layer that layer i is folded into (i itself when it heads a group or
// stands alone), with `merged[h]` the layer that a group headed by h
// becomes. For policies: renumbers every edge (inputs, second operand,
// residual, shared weights) and names each group after its members.
Fused merge_groups(const Workload& workload, const std::vector<std::size_t>& head,
                   const std::vector<Layer>& merged);

// Readers of each layer's output: the layers whose inputs, second operand
// or residual name it (a reader once per layer).
std::vector<std::vector<std::size_t>> readers_of(const Workload& workload);

}  // namespace tessel::workloads

// TESSEL_REGISTER_FUSION("name", "help", Class): one line in the policy's file.
#define TESSEL_REGISTER_FUSION(NAME, HELP, CLASS)               \
  TESSEL_REGISTER_VARIANT(::tessel::workloads::register_fusion, \
                          ::tessel::workloads::IFusionPolicy, NAME, HELP, CLASS)
