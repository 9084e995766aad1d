#include "src/core/shape_util.h"

#include <algorithm>
#include <limits>

#include "src/core/check.h"

namespace strata::detail {

std::string shape_str(std::span<const int64_t> shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

Shape contiguous_strides(std::span<const int64_t> sizes) {
  Shape strides(sizes.size());
  fill_contiguous_strides(sizes, strides);
  return strides;
}

void fill_contiguous_strides(std::span<const int64_t> sizes, std::span<int64_t> strides) {
  int64_t stride = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    strides[i] = stride;
    // Only a tensor with a zero size can overflow here; its strides are never
    // used to address memory, so saturating is harmless.
    if (__builtin_mul_overflow(stride, std::max<int64_t>(sizes[i], 1), &stride)) {
      stride = std::numeric_limits<int64_t>::max();
    }
  }
}

int64_t checked_numel(std::span<const int64_t> sizes) {
  for (const int64_t size : sizes) {
    STRATA_CHECK(size >= 0, ShapeError, "Trying to create tensor with negative dimension {}: {}", size,
                 shape_str(sizes));
  }
  int64_t numel = 1;
  bool overflow = false;
  for (const int64_t size : sizes) overflow = __builtin_mul_overflow(numel, size, &numel) || overflow;
  // A zero size makes the product 0 even if an earlier partial product overflowed.
  for (const int64_t size : sizes) {
    if (size == 0) return 0;
  }
  STRATA_CHECK(!overflow, ShapeError,
               "Trying to create tensor with shape {}: the number of elements overflows int64",
               shape_str(sizes));
  return numel;
}

int64_t numel_of(std::span<const int64_t> sizes) {
  // A zero anywhere wins before a product of the other sizes could overflow.
  for (const int64_t size : sizes) {
    if (size == 0) return 0;
  }
  int64_t numel = 1;
  for (const int64_t size : sizes) numel *= size;
  return numel;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, bool wrap_scalar) {
  if (ndim == 0) {
    STRATA_CHECK(wrap_scalar, IndexError, "dimension specified as {} but tensor has no dimensions", dim);
    ndim = 1;
  }
  STRATA_CHECK(dim >= -ndim && dim < ndim, IndexError,
               "Dimension out of range (expected to be in range of [{}, {}], but got {})", -ndim, ndim - 1, dim);
  return dim < 0 ? dim + ndim : dim;
}

bool is_contiguous_layout(std::span<const int64_t> sizes, std::span<const int64_t> strides) {
  int64_t expected = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    if (sizes[i] == 0) return true;
  }
  for (size_t i = sizes.size(); i-- > 0;) {
    if (sizes[i] == 1) continue;
    if (strides[i] != expected) return false;
    expected *= sizes[i];
  }
  return true;
}

}  // namespace strata::detail
