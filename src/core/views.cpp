// Views: new geometry over the same storage. Errors follow PyTorch's texts.
#include <algorithm>
#include <limits>
#include <optional>

#include "src/core/check.h"
#include "src/core/shape_util.h"
#include "src/core/tensor_impl.h"
#include "strata/tensor.h"

namespace strata {

namespace {

using detail::shape_str;
using detail::wrap_dim;

Tensor make_view(const Tensor& base, Shape sizes, Shape strides, int64_t offset) {
  return TensorAccess::make_unchecked(base.storage(), std::move(sizes), std::move(strides), offset, base.dtype());
}

// Resolves a single -1 in `shape` against `numel`.
Shape infer_size(const Shape& shape, int64_t numel) {
  Shape result = shape;
  std::optional<size_t> inferred;
  int64_t known = 1;
  bool overflow = false;  // the known sizes multiply past int64: never numel
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      STRATA_CHECK(!inferred, ShapeError, "only one dimension can be inferred");
      inferred = i;
    } else {
      STRATA_CHECK(shape[i] >= 0, ShapeError, "invalid shape dimension {}", shape[i]);
      overflow = __builtin_mul_overflow(known, shape[i], &known) || overflow;
    }
  }
  // A zero size makes the product 0 even if an earlier partial product overflowed.
  if (std::find(shape.begin(), shape.end(), int64_t{0}) != shape.end()) {
    known = 0;
    overflow = false;
  }
  if (inferred) {
    // A 0-element tensor with a -1 and other sizes multiplying to 0 is ambiguous.
    STRATA_CHECK(known != 0 || numel != 0, ShapeError,
                 "cannot reshape tensor of 0 elements into shape {} because the unspecified dimension size -1 can "
                 "be any value and is ambiguous",
                 shape_str(shape));
    STRATA_CHECK(!overflow && known != 0 && numel % known == 0, ShapeError,
                 "shape '{}' is invalid for input of size {}", shape_str(shape), numel);
    result[*inferred] = numel / known;
  } else {
    STRATA_CHECK(!overflow && known == numel, ShapeError, "shape '{}' is invalid for input of size {}",
                 shape_str(shape), numel);
  }
  return result;
}

// Strides for viewing (old_sizes, old_strides) as new_sizes without copying, or
// nullopt when a new dim would span two separately strided chunks of the old
// layout. Old dims are grouped into chunks that are contiguous among
// themselves; each chunk must be covered exactly by consecutive new dims.
std::optional<Shape> view_strides(const Shape& old_sizes, const Shape& old_strides, const Shape& new_sizes) {
  Shape new_strides(new_sizes.size(), 0);
  if (detail::numel_of(old_sizes) == 0) return detail::contiguous_strides(new_sizes);
  const Shape sizes = old_sizes.empty() ? Shape{1} : old_sizes;
  const Shape strides = old_strides.empty() ? Shape{1} : old_strides;
  int64_t view_d = static_cast<int64_t>(new_sizes.size()) - 1;
  int64_t chunk_base_stride = strides.back();
  int64_t chunk_numel = 1;
  int64_t view_numel = 1;
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    chunk_numel *= sizes[d];
    const bool chunk_ends = d == 0 || (sizes[d - 1] != 1 && strides[d - 1] != chunk_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < chunk_numel || new_sizes[view_d] == 1)) {
      new_strides[view_d] = view_numel * chunk_base_stride;
      view_numel *= new_sizes[view_d];
      --view_d;
    }
    if (view_numel != chunk_numel) return std::nullopt;
    if (d > 0) {
      chunk_base_stride = strides[d - 1];
      chunk_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return new_strides;
}

void check_not_scalar(const Tensor& t, const char* op) {
  STRATA_CHECK(t.dim() > 0, IndexError, "{}() cannot be applied to a 0-dim tensor.", op);
}

}  // namespace

Tensor Tensor::view(Shape shape) const {
  const Shape sizes = infer_size(shape, numel());
  std::optional<Shape> strides = view_strides(this->sizes(), this->strides(), sizes);
  STRATA_CHECK(strides.has_value(), ShapeError,
               "view size is not compatible with input tensor's size and stride (at least one dimension spans "
               "across two contiguous subspaces). Use .reshape(...) instead.");
  return make_view(*this, sizes, std::move(*strides), storage_offset());
}

Tensor Tensor::reshape(Shape shape) const {
  const Shape sizes = infer_size(shape, numel());
  if (std::optional<Shape> strides = view_strides(this->sizes(), this->strides(), sizes)) {
    return make_view(*this, sizes, std::move(*strides), storage_offset());
  }
  return clone().view(sizes);
}

Tensor Tensor::select(int64_t dim, int64_t index) const {
  check_not_scalar(*this, "select");
  const int64_t d = wrap_dim(dim, this->dim());
  const int64_t size = sizes()[d];
  STRATA_CHECK(index >= -size && index < size, IndexError, "select(): index {} out of range for tensor of size {} at dimension {}",
               index, shape_str(sizes()), dim);
  const int64_t i = index < 0 ? index + size : index;
  Shape new_sizes = sizes();
  Shape new_strides = strides();
  const int64_t offset = storage_offset() + i * new_strides[d];
  new_sizes.erase(new_sizes.begin() + d);
  new_strides.erase(new_strides.begin() + d);
  return make_view(*this, std::move(new_sizes), std::move(new_strides), offset);
}

Tensor Tensor::slice(int64_t dim, int64_t start, int64_t end, int64_t step) const {
  check_not_scalar(*this, "slice");
  const int64_t d = wrap_dim(dim, this->dim());
  STRATA_CHECK(step > 0, ValueError, "slice step must be positive");
  const int64_t size = sizes()[d];
  // Python's clamping: negative positions count from the end, then clamp to [0, size].
  if (start < 0) start = start < -size ? 0 : start + size;
  if (end < 0) end = end < -size ? 0 : end + size;
  start = std::min(start, size);
  end = std::clamp(end, start, size);
  Shape new_sizes = sizes();
  Shape new_strides = strides();
  const int64_t offset = storage_offset() + start * new_strides[d];
  // (end - start + step - 1) / step would overflow for a huge step.
  new_sizes[d] = end == start ? 0 : (end - start - 1) / step + 1;
  // With two or more elements step < size, so the product addresses storage the
  // tensor already spans. A single element never steps: its stride stays (a
  // product with a huge step would overflow, here or in the kernels' byte strides).
  if (new_sizes[d] > 1 && __builtin_mul_overflow(new_strides[d], step, &new_strides[d])) {
    new_strides[d] = std::numeric_limits<int64_t>::max();  // only for saturated strides of empty tensors
  }
  return make_view(*this, std::move(new_sizes), std::move(new_strides), offset);
}

Tensor Tensor::narrow(int64_t dim, int64_t start, int64_t length) const {
  check_not_scalar(*this, "narrow");
  const int64_t d = wrap_dim(dim, this->dim());
  const int64_t size = sizes()[d];
  STRATA_CHECK(length >= 0, ShapeError, "narrow(): length must be non-negative.");
  STRATA_CHECK(start >= -size && start <= size, IndexError,
               "start out of range (expected to be in range of [{}, {}], but got {})", -size, size, start);
  if (start < 0) start += size;
  STRATA_CHECK(start <= size - length, IndexError, "start ({}) + length ({}) exceeds dimension size ({}).", start, length,
               size);
  return slice(d, start, start + length, 1);
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  const int64_t n = dim();
  const int64_t d0 = wrap_dim(dim0, n);
  const int64_t d1 = wrap_dim(dim1, n);
  if (n == 0 || d0 == d1) return make_view(*this, sizes(), strides(), storage_offset());
  Shape new_sizes = sizes();
  Shape new_strides = strides();
  std::swap(new_sizes[d0], new_sizes[d1]);
  std::swap(new_strides[d0], new_strides[d1]);
  return make_view(*this, std::move(new_sizes), std::move(new_strides), storage_offset());
}

Tensor Tensor::t() const {
  STRATA_CHECK(dim() <= 2, ShapeError, "t() expects a tensor with <= 2 dimensions, but self is {}D", dim());
  return dim() < 2 ? transpose(0, 0) : transpose(0, 1);
}

Tensor Tensor::permute(Shape dims) const {
  const int64_t n = dim();
  STRATA_CHECK(static_cast<int64_t>(dims.size()) == n, ShapeError,
               "permute(sparse_coo): number of dimensions in the tensor input does not match the length of the "
               "desired ordering of dimensions i.e. input.dim() = {} is not equal to len(dims) = {}",
               n, dims.size());
  Shape new_sizes(n), new_strides(n);
  std::vector<bool> seen(n, false);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t d = wrap_dim(dims[i], n);
    STRATA_CHECK(!seen[d], ShapeError, "permute(): duplicate dims are not allowed.");
    seen[d] = true;
    new_sizes[i] = sizes()[d];
    new_strides[i] = strides()[d];
  }
  return make_view(*this, std::move(new_sizes), std::move(new_strides), storage_offset());
}

Tensor Tensor::expand(Shape target) const {
  const int64_t n = dim();
  const int64_t m = static_cast<int64_t>(target.size());
  STRATA_CHECK(m >= n, ShapeError,
               "expand({}{}Type{{{}}}, size={}): the number of sizes provided ({}) must be greater or equal to the "
               "number of dimensions in the tensor ({})",
               is_cuda() ? "CUDA" : "CPU", type_name(dtype()), shape_str(sizes()), shape_str(target), m, n);
  Shape new_sizes(m), new_strides(m);
  for (int64_t i = m - 1; i >= 0; --i) {
    const int64_t offset = n - m + i;  // the tensor's dim aligned with target dim i
    const int64_t size = offset >= 0 ? sizes()[offset] : 1;
    const int64_t stride = offset >= 0 ? strides()[offset] : 0;
    int64_t target_size = target[i];
    if (offset < 0) {
      STRATA_CHECK(target_size >= 0, ShapeError,
                   "The expanded size of the tensor ({}) isn't allowed in a leading, non-existing dimension {}",
                   target_size, i);
    }
    if (target_size == -1) target_size = size;
    if (size != target_size) {
      STRATA_CHECK(size == 1, ShapeError,
                   "The expanded size of the tensor ({}) must match the existing size ({}) at non-singleton "
                   "dimension {}.  Target sizes: {}.  Tensor sizes: {}",
                   target_size, size, i, shape_str(target), shape_str(sizes()));
      new_sizes[i] = target_size;
      new_strides[i] = 0;
    } else {
      new_sizes[i] = size;
      new_strides[i] = stride;
    }
  }
  (void)detail::checked_numel(new_sizes);
  return make_view(*this, std::move(new_sizes), std::move(new_strides), storage_offset());
}

Tensor Tensor::expand_as(const Tensor& other) const { return expand(other.sizes()); }

Tensor Tensor::unsqueeze(int64_t dim) const {
  const int64_t n = this->dim();
  const int64_t d = wrap_dim(dim, n + 1);
  Shape new_sizes = sizes();
  Shape new_strides = strides();
  int64_t stride = 1;
  // Only an empty tensor's saturated strides can overflow here; saturate again.
  if (d < n && __builtin_mul_overflow(new_sizes[d], new_strides[d], &stride)) {
    stride = std::numeric_limits<int64_t>::max();
  }
  new_sizes.insert(new_sizes.begin() + d, 1);
  new_strides.insert(new_strides.begin() + d, stride);
  return make_view(*this, std::move(new_sizes), std::move(new_strides), storage_offset());
}

Tensor Tensor::squeeze() const {
  Shape new_sizes, new_strides;
  for (int64_t i = 0; i < dim(); ++i) {
    if (sizes()[i] == 1) continue;
    new_sizes.push_back(sizes()[i]);
    new_strides.push_back(strides()[i]);
  }
  return make_view(*this, std::move(new_sizes), std::move(new_strides), storage_offset());
}

Tensor Tensor::squeeze(int64_t dim) const {
  const int64_t d = wrap_dim(dim, this->dim());
  if (this->dim() == 0 || sizes()[d] != 1) return make_view(*this, sizes(), strides(), storage_offset());
  Shape new_sizes = sizes();
  Shape new_strides = strides();
  new_sizes.erase(new_sizes.begin() + d);
  new_strides.erase(new_strides.begin() + d);
  return make_view(*this, std::move(new_sizes), std::move(new_strides), storage_offset());
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  // Dims are checked first, also for a 0-dim tensor (which accepts 0 and -1).
  const int64_t start = wrap_dim(start_dim, dim());
  const int64_t end = wrap_dim(end_dim, dim());
  STRATA_CHECK(start <= end, ShapeError, "flatten() has invalid args: start_dim cannot come after end_dim");
  if (dim() == 0) return reshape({1});
  if (start == end) return make_view(*this, sizes(), strides(), storage_offset());
  Shape new_sizes(sizes().begin(), sizes().begin() + start);
  int64_t merged = 1;
  for (int64_t i = start; i <= end; ++i) merged *= sizes()[i];
  new_sizes.push_back(merged);
  new_sizes.insert(new_sizes.end(), sizes().begin() + end + 1, sizes().end());
  return reshape(std::move(new_sizes));
}

Tensor Tensor::as_strided(Shape sizes, Shape strides, std::optional<int64_t> storage_offset) const {
  return TensorAccess::make(storage(), std::move(sizes), std::move(strides),
                            storage_offset.value_or(this->storage_offset()), dtype());
}

}  // namespace strata
