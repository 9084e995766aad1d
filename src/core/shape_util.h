// Internal helpers on sizes and strides shared by the core and the op front-ends.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "strata/tensor.h"

namespace strata::detail {

/// "[2, 3]": shapes as PyTorch prints them in error texts.
STRATA_API std::string shape_str(std::span<const int64_t> shape);
/// Row-major strides, in elements, for `sizes`.
STRATA_API Shape contiguous_strides(std::span<const int64_t> sizes);
/// The same into `strides` (as many elements as sizes).
STRATA_API void fill_contiguous_strides(std::span<const int64_t> sizes, std::span<int64_t> strides);
/// Product of `sizes`. Throws ShapeError naming the shape for a negative size
/// ("Trying to create tensor with negative dimension -1: [-1, 2]") or a product
/// that overflows int64.
STRATA_API int64_t checked_numel(std::span<const int64_t> sizes);
/// Product of `sizes` (no checks; for sizes that already form a tensor).
STRATA_API int64_t numel_of(std::span<const int64_t> sizes);
/// `dim` wrapped into [0, ndim). A 0-dim tensor accepts -1 and 0 when
/// wrap_scalar is true. Throws IndexError "Dimension out of range (expected to be
/// in range of [-2, 1], but got 2)".
STRATA_API int64_t wrap_dim(int64_t dim, int64_t ndim, bool wrap_scalar = true);
/// Whether sizes/strides describe a row-major dense layout (size-1 dims free).
STRATA_API bool is_contiguous_layout(std::span<const int64_t> sizes, std::span<const int64_t> strides);

}  // namespace strata::detail
