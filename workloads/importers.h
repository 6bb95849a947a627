#pragma once
// Workload importers. Each returns a validated Workload or throws InputError
// naming the file and the JSON path or CSV line.

#include <string>

#include <nlohmann/json.hpp>

#include "workloads/layer.h"

namespace tessel::workloads {

// Tessel's JSON layer list (docs/workload-format.md).
Workload parse_workload_json(const nlohmann::json& json, const std::string& source);

// SCALE-Sim topology CSV, conv form ("Layer name, IFMAP Height, ...") or GEMM
// form ("Layer, M, N, K"), told apart by the header. Conv layers follow
// SCALE-Sim: batch 1, no padding, output ceil((H - R + S) / S); layers whose
// name contains "DP" are depthwise (SCALE-Sim's convention).
Workload parse_scalesim_csv(const std::string& file);

// Dispatches on the extension: .json, .csv or .onnx (`skip_unsupported`:
// see load_onnx).
Workload load_workload(const std::string& file, bool skip_unsupported = false);

}  // namespace tessel::workloads
