// Scalar printing and conversion of a Scalar into an element of a given dtype.
#include <cmath>
#include <limits>
#include <ostream>

#include "kernels/common/convert.h"
#include "src/core/check.h"
#include "src/core/scalar_convert.h"
#include "strata/scalar.h"

namespace strata {

std::ostream& operator<<(std::ostream& os, const Scalar& s) {
  switch (s.kind()) {
    case Scalar::Kind::Bool: return os << (s.to<bool>() ? "True" : "False");
    case Scalar::Kind::Int: return os << s.to_int64();
    case Scalar::Kind::Float: return os << s.to_double();
  }
  return os;
}

namespace detail {

namespace {

template <typename T>
bool fits_integral(const Scalar& value) {
  using Limits = std::numeric_limits<T>;
  if (value.is_floating_point()) {
    const double v = value.to_double();
    if (std::isnan(v)) return false;
    if constexpr (std::is_same_v<T, int64_t>) {
      // INT64_MAX rounds up to 2^63 as a double, and converting 2^63 is undefined.
      return v >= -0x1p63 && v < 0x1p63;
    } else {
      return v >= static_cast<double>(Limits::lowest()) && v <= static_cast<double>(Limits::max());
    }
  }
  const int64_t v = value.to_int64();
  if constexpr (std::is_same_v<T, int64_t>) {
    return true;
  } else if constexpr (std::is_unsigned_v<T>) {
    // PyTorch lets a negative integer wrap into an unsigned type when its
    // magnitude fits (two's complement: -1 into uint8 is 255, -255 is 1;
    // -256 overflows). A negative floating value does not wrap.
    return v <= static_cast<int64_t>(Limits::max()) && v >= -static_cast<int64_t>(Limits::max());
  } else {
    return v >= static_cast<int64_t>(Limits::lowest()) && v <= static_cast<int64_t>(Limits::max());
  }
}

bool fits_floating(const Scalar& value, double max_finite) {
  if (!value.is_floating_point()) return std::abs(static_cast<double>(value.to_int64())) <= max_finite;
  const double v = value.to_double();
  // Infinities and NaN convert to themselves; only finite values can overflow.
  return !std::isfinite(v) || std::abs(v) <= max_finite;
}

}  // namespace

bool scalar_fits(const Scalar& value, DType dtype) {
  switch (dtype) {
    case DType::Bool: return true;
    case DType::UInt8: return fits_integral<uint8_t>(value);
    case DType::Int8: return fits_integral<int8_t>(value);
    case DType::Int16: return fits_integral<int16_t>(value);
    case DType::Int32: return fits_integral<int32_t>(value);
    case DType::Int64: return fits_integral<int64_t>(value);
    // Beyond the largest finite value of the format (as PyTorch's checked conversion).
    case DType::Float16: return fits_floating(value, 65504.0);
    case DType::BFloat16: return fits_floating(value, 3.3895313892515355e+38);
    case DType::Float32: return fits_floating(value, static_cast<double>(std::numeric_limits<float>::max()));
    case DType::Float64: return true;
  }
  return true;
}

void check_scalar_fits(const Scalar& value, DType dtype) {
  STRATA_CHECK(scalar_fits(value, dtype), DTypeError, "value cannot be converted to type {} without overflow",
               to_string(dtype));
}

void store_scalar(const Scalar& value, DType dtype, void* out) {
  switch (value.kind()) {
    case Scalar::Kind::Bool: kernels::store_as<bool>(out, dtype, value.to<bool>()); break;
    case Scalar::Kind::Int: kernels::store_as<int64_t>(out, dtype, value.to_int64()); break;
    case Scalar::Kind::Float: kernels::store_as<double>(out, dtype, value.to_double()); break;
  }
}

Scalar load_scalar(const void* data, DType dtype) {
  if (dtype == DType::Bool) return Scalar(kernels::load_as<bool>(data, dtype));
  if (is_integral(dtype)) return Scalar(kernels::load_as<int64_t>(data, dtype));
  return Scalar(kernels::load_as<double>(data, dtype));
}

}  // namespace detail

}  // namespace strata
