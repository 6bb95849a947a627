#pragma once
// The element types a layer runs with (its own, or the hardware default)
// and the MAC rate of its GEMMs. Shared by the mappers, the emitter and the
// analytical estimate.

#include "arch/config.h"
#include "arch/dtype.h"
#include "workloads/layer.h"

namespace tessel::workloads {

struct LayerTypes {
  DType activation = DType::kInt8;
  DType weight = DType::kInt8;
  DType mac = DType::kInt8;
  arch::MacRate rate;
};

// Throws InputError when the layer's MAC precision is not supported.
LayerTypes layer_types(const Layer& layer, const arch::Config& config);

}  // namespace tessel::workloads
