#pragma once
// The dataflow table: one row per systolic dataflow, saying which GEMM
// dimension (m, n, k of out[m][n] = sum_k in[m][k] * w[k][n]) the array
// rows, the array columns and time carry, and the fill + drain a fold pays.
// Everything that depends on the dataflow (the closed forms of
// arch/systolic.h, the mappers' tile granules, config parsing, the trace)
// reads this table instead of switching on the enum. Models no timing itself.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tessel::arch {

enum class Dataflow { kOutputStationary, kWeightStationary, kInputStationary };

struct DataflowRow {
  Dataflow dataflow;
  std::string_view name;  // "os", "ws", "is": the config and trace spelling
  char rows_dim;          // GEMM dimension spread over the array rows
  char cols_dim;          // ... over the array columns
  char temporal_dim;      // ... streamed in time
  // A fold costs T + fill_rows * R + C - 2 cycles: os shifts operands in
  // across both sides once (R + C - 2); ws and is also preload the
  // stationary operand down the rows first (2R + C - 2). SCALE-Sim's
  // stall-free model, proven in tests/unit/systolic_reference_test.cpp.
  std::uint32_t fill_rows;
};

inline constexpr DataflowRow kDataflows[] = {
    {Dataflow::kOutputStationary, "os", 'm', 'n', 'k', 1},
    {Dataflow::kWeightStationary, "ws", 'k', 'n', 'm', 2},
    {Dataflow::kInputStationary, "is", 'k', 'm', 'n', 2},
};

const DataflowRow& dataflow_row(Dataflow dataflow);
// The row named `name`, or nullopt.
std::optional<Dataflow> parse_dataflow(std::string_view name);
std::string to_string(Dataflow dataflow);

}  // namespace tessel::arch
