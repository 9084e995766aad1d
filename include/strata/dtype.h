// Element types: the DType enum, host (and device) Float16 / BFloat16 types that
// round to nearest even, and the mapping between DTypes and C++ types.
#pragma once

#include <cstdint>
#include <cstring>
#include <iosfwd>
#include <string>

#include "strata/export.h"

namespace strata {

/// The ten element types, in PyTorch's promotion order within each category.
enum class DType : int8_t {
  Bool,
  UInt8,
  Int8,
  Int16,
  Int32,
  Int64,
  Float16,
  BFloat16,
  Float32,
  Float64,
};

inline constexpr int kNumDTypes = 10;
inline constexpr DType kBool = DType::Bool;
inline constexpr DType kUInt8 = DType::UInt8;
inline constexpr DType kInt8 = DType::Int8;
inline constexpr DType kInt16 = DType::Int16;
inline constexpr DType kInt32 = DType::Int32;
inline constexpr DType kInt64 = DType::Int64;
inline constexpr DType kFloat16 = DType::Float16;
inline constexpr DType kBFloat16 = DType::BFloat16;
inline constexpr DType kFloat32 = DType::Float32;
inline constexpr DType kFloat64 = DType::Float64;
// PyTorch's aliases.
inline constexpr DType kByte = DType::UInt8;
inline constexpr DType kChar = DType::Int8;
inline constexpr DType kShort = DType::Int16;
inline constexpr DType kInt = DType::Int32;
inline constexpr DType kLong = DType::Int64;
inline constexpr DType kHalf = DType::Float16;
inline constexpr DType kFloat = DType::Float32;
inline constexpr DType kDouble = DType::Float64;

namespace detail {

STRATA_INLINE uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

STRATA_INLINE float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

// IEEE binary16, round to nearest even; overflow goes to infinity, NaN stays NaN.
STRATA_INLINE uint16_t float_to_half_bits(float f) {
  uint32_t x = float_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  x &= 0x7fffffffu;
  if (x >= 0x47800000u) {  // >= 65536, inf or NaN
    return static_cast<uint16_t>(sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u));
  }
  if (x < 0x38800000u) {  // below the smallest normal half: let the FPU round
    // Adding 0.5f puts the half subnormal ulp (2^-24) at float's last bit.
    const float rounded = bits_float(x) + 0.5f;
    return static_cast<uint16_t>(sign | (float_bits(rounded) - 0x3f000000u));
  }
  const uint32_t mantissa_odd = (x >> 13) & 1u;
  x += (static_cast<uint32_t>(15 - 127) << 23) + 0xfffu + mantissa_odd;
  return static_cast<uint16_t>(sign | (x >> 13));
}

STRATA_INLINE float half_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-08f;  // 2^-24
    return bits_float(sign | float_bits(magnitude));
  }
  if (exponent == 31) return bits_float(sign | 0x7f800000u | (mantissa << 13));
  return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

// bfloat16: the top half of a float, rounded to nearest even. Every NaN becomes
// the one quiet NaN 0x7fc0 (sign and payload dropped), as c10::BFloat16 does,
// so that NaN results have PyTorch's bits on the CPU and the GPU alike.
STRATA_INLINE uint16_t float_to_bfloat16_bits(float f) {
  const uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return 0x7fc0u;
  const uint32_t rounding_bias = 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>((x + rounding_bias) >> 16);
}

STRATA_INLINE float bfloat16_bits_to_float(uint16_t b) {
  return bits_float(static_cast<uint32_t>(b) << 16);
}

}  // namespace detail

/// IEEE half precision. Arithmetic happens in float (implicit conversion).
struct Half {
  uint16_t bits = 0;
  Half() = default;
  STRATA_HOST_DEVICE Half(float value) : bits(detail::float_to_half_bits(value)) {}
  STRATA_HOST_DEVICE operator float() const { return detail::half_bits_to_float(bits); }
  static STRATA_HOST_DEVICE Half from_bits(uint16_t b) {
    Half h;
    h.bits = b;
    return h;
  }
};

/// Brain floating point (8-bit exponent, 7-bit mantissa). Arithmetic in float.
struct BFloat16 {
  uint16_t bits = 0;
  BFloat16() = default;
  STRATA_HOST_DEVICE BFloat16(float value) : bits(detail::float_to_bfloat16_bits(value)) {}
  STRATA_HOST_DEVICE operator float() const { return detail::bfloat16_bits_to_float(bits); }
  static STRATA_HOST_DEVICE BFloat16 from_bits(uint16_t b) {
    BFloat16 h;
    h.bits = b;
    return h;
  }
};

/// The C++ type of a DType: CppType<kFloat32> is float.
template <DType D> struct CppTypeOf;
template <> struct CppTypeOf<DType::Bool> { using type = bool; };
template <> struct CppTypeOf<DType::UInt8> { using type = uint8_t; };
template <> struct CppTypeOf<DType::Int8> { using type = int8_t; };
template <> struct CppTypeOf<DType::Int16> { using type = int16_t; };
template <> struct CppTypeOf<DType::Int32> { using type = int32_t; };
template <> struct CppTypeOf<DType::Int64> { using type = int64_t; };
template <> struct CppTypeOf<DType::Float16> { using type = Half; };
template <> struct CppTypeOf<DType::BFloat16> { using type = BFloat16; };
template <> struct CppTypeOf<DType::Float32> { using type = float; };
template <> struct CppTypeOf<DType::Float64> { using type = double; };
template <DType D> using CppType = typename CppTypeOf<D>::type;

/// The DType of a C++ type: dtype_of<float> is kFloat32.
template <typename T> struct DTypeOf;
template <> struct DTypeOf<bool> { static constexpr DType value = DType::Bool; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::UInt8; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::Int8; };
template <> struct DTypeOf<int16_t> { static constexpr DType value = DType::Int16; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct DTypeOf<Half> { static constexpr DType value = DType::Float16; };
template <> struct DTypeOf<BFloat16> { static constexpr DType value = DType::BFloat16; };
template <> struct DTypeOf<float> { static constexpr DType value = DType::Float32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::Float64; };
template <typename T> inline constexpr DType dtype_of = DTypeOf<T>::value;

/// Bytes per element, in constant expressions and in kernels.
STRATA_HOST_DEVICE constexpr size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Bool:
    case DType::UInt8:
    case DType::Int8: return 1;
    case DType::Int16:
    case DType::Float16:
    case DType::BFloat16: return 2;
    case DType::Int32:
    case DType::Float32: return 4;
    case DType::Int64:
    case DType::Float64: return 8;
  }
  return 0;
}

/// Bytes per element (dtype_size, as a library call).
STRATA_API size_t element_size(DType dtype);
/// PyTorch's scalar-type name used in error texts: "Float", "Long", "Half"...
STRATA_API const char* type_name(DType dtype);
/// The name used in printing: "float32", "int64", "bool"...
STRATA_API std::string to_string(DType dtype);
STRATA_API std::ostream& operator<<(std::ostream& os, DType dtype);
/// Float16, BFloat16, Float32, Float64.
STRATA_API bool is_floating_point(DType dtype);
/// Integer types; Bool counts only when include_bool is true.
STRATA_API bool is_integral(DType dtype, bool include_bool = false);
/// The smallest type both a and b convert to (torch.promote_types).
STRATA_API DType promote_types(DType a, DType b);
/// Whether a value of type `from` may be written into a tensor of type `to` by an
/// in-place op or out= (refuses float→integer, anything→bool except bool).
STRATA_API bool can_cast(DType from, DType to);

}  // namespace strata
