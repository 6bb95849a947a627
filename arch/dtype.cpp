#include "arch/dtype.h"

namespace tessel {

std::string to_string(DType dtype) {
  switch (dtype) {
    case DType::kInt4:
      return "int4";
    case DType::kInt8:
      return "int8";
    case DType::kFp8:
      return "fp8";
    case DType::kInt16:
      return "int16";
    case DType::kFp16:
      return "fp16";
    case DType::kBf16:
      return "bf16";
    case DType::kFp32:
      return "fp32";
  }
  return "?";
}

std::optional<DType> parse_dtype(const std::string& name) {
  for (DType d : kAllDTypes) {
    if (to_string(d) == name) return d;
  }
  return std::nullopt;
}

std::string dtype_names() {
  return "int4, int8, fp8, int16, fp16, bf16, fp32";
}

std::uint32_t bits(DType dtype) {
  switch (dtype) {
    case DType::kInt4:
      return 4;
    case DType::kInt8:
    case DType::kFp8:
      return 8;
    case DType::kInt16:
    case DType::kFp16:
    case DType::kBf16:
      return 16;
    case DType::kFp32:
      return 32;
  }
  return 8;
}

DType mac_dtype(DType activation, DType weight) {
  return bits(weight) > bits(activation) ? weight : activation;
}

}  // namespace tessel
