// PyTorch's memory-overlap rules (MemoryOverlap): only cheap, certain cases are
// classified; anything that is not non-overlapping-and-dense is TooHard and is
// left unchecked, as PyTorch does (checking arbitrary strides is expensive).
#include "src/ops/overlap.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "kernels/common/descriptor.h"
#include "src/core/check.h"
#include "src/core/tensor_impl.h"

namespace strata::ops {
namespace {

// True when the elements tile one [begin, end) range exactly once: after sorting
// the dimensions of size > 1 by stride, each stride equals the product of the
// sizes below it. Size-1 dimensions may have any stride.
// (Impl is private to Tensor; reached through TensorAccess, so typed generically.)
template <typename TensorImpl>
bool is_non_overlapping_and_dense(const TensorImpl& t) {
  const int64_t ndim = static_cast<int64_t>(t.sizes.size());
  if (ndim == 0) return true;
  if (ndim == 1) return t.sizes[0] < 2 || t.strides[0] == 1;
  // Fixed storage: this runs on every add, and views beyond kMaxDims are rare
  // enough to take the TooHard answer instead of a heap allocation.
  // Row-major dense (the common case) needs no sort.
  int64_t expected_stride = 1;
  bool row_major = true;
  for (int64_t d = ndim - 1; d >= 0 && row_major; --d) {
    if (t.sizes[d] == 0) return true;
    if (t.sizes[d] == 1) continue;
    row_major = t.strides[d] == expected_stride;
    expected_stride *= t.sizes[d];
  }
  if (row_major) return true;
  if (ndim > kernels::kMaxDims) return false;
  int64_t order[kernels::kMaxDims];
  int count = 0;
  for (int64_t d = 0; d < ndim; ++d) {
    if (t.sizes[d] == 0) return true;  // no elements: nothing can overlap
    if (t.sizes[d] >= 2) order[count++] = d;
  }
  std::sort(order, order + count,
            [&](int64_t a, int64_t b) { return t.strides[a] < t.strides[b]; });
  int64_t required_stride = 1;
  for (int i = 0; i < count; ++i) {
    if (t.strides[order[i]] != required_stride) return false;
    required_stride *= t.sizes[order[i]];
  }
  return true;
}

template <typename TensorImpl>
const char* first_byte(const TensorImpl& t) {
  return static_cast<const char*>(t.storage.data()) +
         t.storage_offset * static_cast<int64_t>(kernels::ElementwiseDesc::dtype_size(t.dtype));
}

/// [first, last] byte of the elements of a non-empty `t`, whatever its strides.
template <typename TensorImpl>
std::pair<const char*, const char*> element_span(const TensorImpl& t) {
  const int64_t item = static_cast<int64_t>(kernels::ElementwiseDesc::dtype_size(t.dtype));
  int64_t low = 0, high = 0;  // elements, relative to the first one
  for (size_t d = 0; d < t.sizes.size(); ++d) {
    const int64_t reach = t.strides[d] * (t.sizes[d] - 1);
    (reach < 0 ? low : high) += reach;
  }
  const char* first = first_byte(t);
  return {first + low * item, first + high * item + item - 1};
}

}  // namespace

MemOverlap has_internal_overlap(const Tensor& t) {
  const auto& impl = TensorAccess::impl(t);
  if (is_non_overlapping_and_dense(impl)) return MemOverlap::No;
  for (size_t d = 0; d < impl.sizes.size(); ++d) {
    if (impl.strides[d] == 0 && impl.sizes[d] > 1) return MemOverlap::Yes;
  }
  return MemOverlap::TooHard;
}

MemOverlapStatus get_overlap_status(const Tensor& a, const Tensor& b) {
  if (a.is_same(b)) return MemOverlapStatus::Full;
  const auto& ia = TensorAccess::impl(a);
  const auto& ib = TensorAccess::impl(b);
  if (ia.numel == 0 || ib.numel == 0) return MemOverlapStatus::No;
  // Different storages never overlap, whatever the layouts (checked first: it
  // is the common case, and the cheap one).
  if (ia.storage != ib.storage) return MemOverlapStatus::No;
  if (!is_non_overlapping_and_dense(ia) || !is_non_overlapping_and_dense(ib)) {
    return MemOverlapStatus::TooHard;
  }
  // Dense tensors cover exactly numel * itemsize bytes from their first element.
  const char* a_begin = first_byte(ia);
  const char* b_begin = first_byte(ib);
  const char* a_end =
      a_begin + ia.numel * static_cast<int64_t>(kernels::ElementwiseDesc::dtype_size(ia.dtype));
  const char* b_end =
      b_begin + ib.numel * static_cast<int64_t>(kernels::ElementwiseDesc::dtype_size(ib.dtype));
  if (a_begin == b_begin && a_end == b_end) {
    return ia.strides == ib.strides ? MemOverlapStatus::Full : MemOverlapStatus::Partial;
  }
  if (a_begin < b_end && b_begin < a_end) return MemOverlapStatus::Partial;
  return MemOverlapStatus::No;
}

void assert_no_internal_overlap(const Tensor& t) {
  STRATA_CHECK(has_internal_overlap(t) != MemOverlap::Yes, OverlapError,
               "unsupported operation: more than one element of the written-to tensor refers "
               "to a single memory location. Please clone() the tensor before performing the "
               "operation.");
}

void assert_no_partial_overlap(const Tensor& written, const Tensor& input) {
  STRATA_CHECK(get_overlap_status(written, input) != MemOverlapStatus::Partial, OverlapError,
               "unsupported operation: some elements of the input tensor and the written-to "
               "tensor refer to a single memory location. Please clone() the tensor before "
               "performing the operation.");
}

namespace {

void check_no_overlap(MemOverlapStatus status) {
  STRATA_CHECK(status != MemOverlapStatus::Partial && status != MemOverlapStatus::Full,
               OverlapError,
               "unsupported operation: some elements of the input tensor and the written-to "
               "tensor refer to a single memory location. Please clone() the tensor before "
               "performing the operation.");
}

/// read_before_writing, given the overlap status of the two.
Tensor read_before_writing(MemOverlapStatus status, const Tensor& written, const Tensor& input) {
  if (status != MemOverlapStatus::TooHard) return input;
  const auto [w_first, w_last] = element_span(TensorAccess::impl(written));
  const auto [i_first, i_last] = element_span(TensorAccess::impl(input));
  if (w_last < i_first || i_last < w_first) return input;
  return input.clone();
}

}  // namespace

void assert_no_overlap(const Tensor& written, const Tensor& input) {
  check_no_overlap(get_overlap_status(written, input));
}

Tensor read_before_writing(const Tensor& written, const Tensor& input) {
  return read_before_writing(get_overlap_status(written, input), written, input);
}

Tensor checked_input(const Tensor& written, const Tensor& input) {
  const MemOverlapStatus status = get_overlap_status(written, input);
  check_no_overlap(status);
  return read_before_writing(status, written, input);
}

}  // namespace strata::ops
