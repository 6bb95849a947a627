#pragma once
// ONNX import (Debian's libonnx / protobuf): static shapes are inferred with
// ONNX's shape inference, and each node maps onto the layer IR. Parameters
// (initializers, or graph inputs feeding weight slots when a model was
// exported without weights) are told apart from data by the slot they feed.

#include <string>

#include "workloads/layer.h"

namespace tessel::workloads {

// Throws InputError naming the file and, for an operator Tessel does not
// model, the node and its op type. With `skip_unsupported`, such nodes are
// left out and listed in Workload::skipped instead.
Workload load_onnx(const std::string& file, bool skip_unsupported = false);

}  // namespace tessel::workloads
