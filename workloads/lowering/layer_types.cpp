#include "workloads/lowering/layer_types.h"

#include <fmt/format.h>

#include "arch/error.h"

namespace tessel::workloads {

LayerTypes layer_types(const Layer& layer, const arch::Config& config) {
  LayerTypes t;
  t.activation = layer.dtype.value_or(config.array.precision);
  t.weight = layer.weight_dtype.value_or(t.activation);
  t.mac = mac_dtype(t.activation, t.weight);
  if (layer.on_array()) {
    const auto rate = config.array.rate(t.mac);
    if (!rate) {
      throw InputError(
          fmt::format("layer \"{}\": needs {} MACs ({} x {}); the array of \"{}\" "
                      "supports {} (arch.array.macs_per_pe_per_cycle)",
                      layer.name, to_string(t.mac), to_string(t.activation), to_string(t.weight),
                      config.name, config.array.supported()));
    }
    t.rate = *rate;
  }
  return t;
}

}  // namespace tessel::workloads
