// Internal: a Scalar as one element of a dtype (fill values, kernel arguments).
#pragma once

#include "strata/scalar.h"

namespace strata::detail {

/// Whether `value` converts to `dtype` without overflow (PyTorch's checked
/// conversion: out-of-range integers and finite floats beyond the format's range
/// overflow, except that a negative integer whose magnitude fits wraps into
/// uint8, -1 becoming 255; infinities and NaN convert to floating types).
STRATA_API bool scalar_fits(const Scalar& value, DType dtype);
/// Throws DTypeError "value cannot be converted to type uint8 without overflow".
STRATA_API void check_scalar_fits(const Scalar& value, DType dtype);
/// Writes `value` converted to `dtype` (C++ conversion rules) at `out`, which
/// must have room for element_size(dtype) bytes.
STRATA_API void store_scalar(const Scalar& value, DType dtype, void* out);
/// The element at `data` as a Scalar of the matching kind.
STRATA_API Scalar load_scalar(const void* data, DType dtype);

}  // namespace strata::detail
