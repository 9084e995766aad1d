// Internal helpers of the add front-end: promotion of tensors with scalars and
// add's alpha rules (index_add_ has its own: PyTorch lets it truncate a floating
// alpha on an integer self).
#pragma once

#include "strata/scalar.h"
#include "strata/tensor.h"

namespace strata::ops {

/// PyTorch's result_type over three buckets: tensors with dims, 0-dim tensors
/// and scalars; a lower bucket counts only when its category (bool < integer <
/// floating) is higher. `b` may be undefined when `b_scalar` is given, and
/// b_scalar may be null when `b` is a tensor. Values are never inspected.
DType promoted_dtype(const Tensor& a, const Tensor* b, const Scalar* b_scalar);

/// PyTorch's alpha rules against the computation's dtype. Throws DTypeError:
/// "Boolean alpha only supported for Boolean results." or "For integral input
/// tensors, argument alpha must not be a floating point number.", or "value
/// cannot be converted to type int8 without overflow" for an alpha the dtype
/// cannot hold.
void check_alpha(DType dtype, const Scalar& alpha);

/// Throws DTypeError "result type Float can't be cast to the desired output
/// type Long" unless can_cast(result, out).
void check_can_cast_result(DType result, DType out);

}  // namespace strata::ops
