// Conversions between element types, shared by CPU and CUDA kernels. Semantics
// follow C++ static_cast (as PyTorch's): float→int truncates, anything→bool is
// `!= 0`, Half/BFloat16 go through float and round to nearest even.
#pragma once

#include <type_traits>

#include "kernels/common/descriptor.h"
#include "strata/dtype.h"

namespace strata::kernels {

template <typename To, typename From>
STRATA_INLINE To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    if constexpr (std::is_same_v<From, Half> || std::is_same_v<From, BFloat16>) {
      return static_cast<float>(v) != 0.0f;
    } else {
      return v != From(0);
    }
  } else if constexpr (std::is_same_v<From, Half> || std::is_same_v<From, BFloat16>) {
    return convert<To>(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, Half> || std::is_same_v<To, BFloat16>) {
    return To(static_cast<float>(v));
  } else {
    return static_cast<To>(v);
  }
}

/// Reads the element at `p`, stored as `dtype`, converted to T.
template <typename T>
STRATA_INLINE T load_as(const void* p, DType dtype) {
  switch (dtype) {
    case DType::Bool: return convert<T>(*static_cast<const bool*>(p));
    case DType::UInt8: return convert<T>(*static_cast<const uint8_t*>(p));
    case DType::Int8: return convert<T>(*static_cast<const int8_t*>(p));
    case DType::Int16: return convert<T>(*static_cast<const int16_t*>(p));
    case DType::Int32: return convert<T>(*static_cast<const int32_t*>(p));
    case DType::Int64: return convert<T>(*static_cast<const int64_t*>(p));
    case DType::Float16: return convert<T>(*static_cast<const Half*>(p));
    case DType::BFloat16: return convert<T>(*static_cast<const BFloat16*>(p));
    case DType::Float32: return convert<T>(*static_cast<const float*>(p));
    case DType::Float64: return convert<T>(*static_cast<const double*>(p));
  }
  return T{};
}

/// Writes `v` converted to `dtype` at `p`.
template <typename T>
STRATA_INLINE void store_as(void* p, DType dtype, T v) {
  switch (dtype) {
    case DType::Bool: *static_cast<bool*>(p) = convert<bool>(v); break;
    case DType::UInt8: *static_cast<uint8_t*>(p) = convert<uint8_t>(v); break;
    case DType::Int8: *static_cast<int8_t*>(p) = convert<int8_t>(v); break;
    case DType::Int16: *static_cast<int16_t*>(p) = convert<int16_t>(v); break;
    case DType::Int32: *static_cast<int32_t*>(p) = convert<int32_t>(v); break;
    case DType::Int64: *static_cast<int64_t*>(p) = convert<int64_t>(v); break;
    case DType::Float16: *static_cast<Half*>(p) = convert<Half>(v); break;
    case DType::BFloat16: *static_cast<BFloat16*>(p) = convert<BFloat16>(v); break;
    case DType::Float32: *static_cast<float*>(p) = convert<float>(v); break;
    case DType::Float64: *static_cast<double*>(p) = convert<double>(v); break;
  }
}

/// The type arithmetic happens in: float for Half and BFloat16, else T.
template <typename T> struct OpMath { using type = T; };
template <> struct OpMath<Half> { using type = float; };
template <> struct OpMath<BFloat16> { using type = float; };
template <typename T> using opmath_t = typename OpMath<T>::type;

}  // namespace strata::kernels
