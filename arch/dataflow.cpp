#include "arch/dataflow.h"

namespace tessel::arch {

const DataflowRow& dataflow_row(Dataflow dataflow) {
  for (const auto& row : kDataflows) {
    if (row.dataflow == dataflow) return row;
  }
  return kDataflows[0];
}

std::optional<Dataflow> parse_dataflow(std::string_view name) {
  for (const auto& row : kDataflows) {
    if (row.name == name) return row.dataflow;
  }
  return std::nullopt;
}

std::string to_string(Dataflow dataflow) {
  return std::string(dataflow_row(dataflow).name);
}

}  // namespace tessel::arch
