#pragma once
// Element types of tensors and MAC operands.

#include <cstdint>
#include <optional>
#include <string>

#include "arch/units.h"

namespace tessel {

enum class DType { kInt4, kInt8, kFp8, kInt16, kFp16, kBf16, kFp32 };

inline constexpr DType kAllDTypes[] = {DType::kInt4, DType::kInt8, DType::kFp8, DType::kInt16,
                                       DType::kFp16, DType::kBf16, DType::kFp32};

std::string to_string(DType dtype);
std::optional<DType> parse_dtype(const std::string& name);
// "int4, int8, fp8, int16, fp16, bf16, fp32" for messages.
std::string dtype_names();
std::uint32_t bits(DType dtype);
// Bytes that `elements` elements occupy (int4: two per byte, rounded up).
inline std::uint64_t bytes_for(std::uint64_t elements, DType dtype) {
  return ceil_div(elements * bits(dtype), 8);
}
// The precision a MAC of `activation` x `weight` runs at: the wider of the
// two; on equal widths, the activation's (weight-only quantisation
// dequantises to the activation type).
DType mac_dtype(DType activation, DType weight);

}  // namespace tessel
