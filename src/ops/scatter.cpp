// Front-ends of scatter_, scatter_add_, scatter_reduce_, gather and index_add_
// (and their out-of-place forms), plus the helpers the index_put_ front-end
// shares: checks with PyTorch's texts, the validation pass that runs before
// anything is written, descriptor building and device dispatch.
#include "src/ops/scatter.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <optional>
#include <span>
#include <type_traits>

#include "kernels/common/dispatch.h"
#include "kernels/common/scatter_kernels.h"
#include "kernels/common/scatter_sorted.h"
#include "src/core/check.h"
#include "src/core/scalar_convert.h"
#include "src/ops/overlap.h"
#include "src/runtime/stream_util.h"
#include "strata/config.h"
#include "strata/factories.h"
#include "strata/ops.h"

namespace strata::ops::scatter_detail {

using kernels::IndexRange;
using kernels::IndexTensorDesc;
using kernels::ScatterDesc;

std::string shape_str(const Shape& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

Shape sizes_1d(const Tensor& t) { return t.dim() == 0 ? Shape{1} : t.sizes(); }
Shape strides_1d(const Tensor& t) { return t.dim() == 0 ? Shape{1} : t.strides(); }

int64_t wrap_dim(int64_t dim, int64_t ndim) {
  const int64_t n = std::max<int64_t>(ndim, 1);
  STRATA_CHECK(dim >= -n && dim < n, IndexError,
               "Dimension out of range (expected to be in range of [{}, {}], but got {})", -n, n - 1, dim);
  return dim < 0 ? dim + n : dim;
}

void check_same_device(const Tensor& a, const Tensor& b) {
  STRATA_CHECK(a.device() == b.device(), DeviceError,
               "Expected all tensors to be on the same device, but found at least two devices, {} and {}!",
               a.device().str(), b.device().str());
}

void set_iteration_space(ScatterDesc& d, std::span<const IterDim> dims) {
  int64_t numel = 1;
  for (const IterDim& dim : dims) numel *= dim.size;
  d.numel = numel;
  d.ndim = 1;
  d.sizes[0] = numel == 0 ? 0 : 1;
  d.indexed_strides[0] = 0;
  d.direct_strides[0] = 0;
  for (int k = 0; k < d.num_indices; ++k) d.indices[k].byte_strides[0] = 0;
  if (numel == 0) return;
  // Innermost first, size-1 dimensions dropped, each merged into the one below
  // it when that is contiguous for every operand; written straight into d (no
  // temporaries: this runs on every call, however small).
  int count = 0;  // dimensions after merging (may pass kMaxDims: then only counted)
  for (auto it = dims.rbegin(); it != dims.rend(); ++it) {
    const IterDim& dim = *it;
    if (dim.size == 1) continue;
    if (count > 0 && count <= kernels::kMaxDims) {
      const int last = count - 1;
      bool mergeable = dim.indexed_stride == d.indexed_strides[last] * d.sizes[last] &&
                       dim.direct_stride == d.direct_strides[last] * d.sizes[last];
      for (int k = 0; mergeable && k < d.num_indices; ++k) {
        mergeable = dim.index_strides[k] == d.indices[k].byte_strides[last] * d.sizes[last];
      }
      if (mergeable) {
        d.sizes[last] *= dim.size;
        continue;
      }
    }
    if (count < kernels::kMaxDims) {
      d.sizes[count] = dim.size;
      d.indexed_strides[count] = dim.indexed_stride;
      d.direct_strides[count] = dim.direct_stride;
      for (int k = 0; k < d.num_indices; ++k) d.indices[k].byte_strides[count] = dim.index_strides[k];
    }
    ++count;
  }
  STRATA_CHECK(count <= kernels::kMaxDims, NotSupportedError,
               "indexing ops support at most {} dimensions after merging, got {}", kernels::kMaxDims, count);
  d.ndim = std::max(count, 1);
}

namespace {

/// True when no two positions of `t` share an element (sorted by stride, each
/// stride reaches past everything below it).
bool is_non_overlapping(const Tensor& t) {
  // A fixed buffer for the usual ranks (this runs on every call, however small).
  // (stride, size), compared as a pair; a plain struct, so that the buffer is
  // not zeroed first (std::pair's constructor zeroes: 256 bytes per call).
  struct Dim {
    int64_t stride, size;
    bool operator<(const Dim& o) const { return stride != o.stride ? stride < o.stride : size < o.size; }
  };
  constexpr size_t kInline = 16;
  Dim inline_dims[kInline];
  std::vector<Dim> heap_dims;
  const Shape& sizes = t.sizes();
  const Shape& strides = t.strides();
  const bool on_heap = sizes.size() > kInline;
  if (on_heap) heap_dims.resize(sizes.size());
  Dim* dims_begin = on_heap ? heap_dims.data() : inline_dims;
  size_t count = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] == 0) return true;
    if (sizes[i] > 1) dims_begin[count++] = {strides[i], sizes[i]};
  }
  const std::span<Dim> dims(dims_begin, count);
  std::sort(dims.begin(), dims.end());
  int64_t reach = 1;
  for (const auto& [stride, size] : dims) {
    if (stride < reach) return false;
    reach = stride * size;
  }
  return true;
}

}  // namespace

void set_indexed(ScatterDesc& d, const Tensor& t) {
  const int64_t element = static_cast<int64_t>(t.element_size());
  d.indexed = static_cast<char*>(t.data_ptr());
  d.dtype = t.dtype();
  int64_t extent = 0;
  if (t.numel() > 0) {
    extent = element;
    for (int64_t i = 0; i < t.dim(); ++i) extent += (t.size(i) - 1) * t.stride(i) * element;
  }
  d.indexed_extent = extent;
  d.indexed_nonoverlapping = is_non_overlapping(t);
}

IndexTensorDesc index_tensor_desc(const Tensor& index) {
  IndexTensorDesc desc;
  desc.data = static_cast<const char*>(index.data_ptr());
  desc.dtype = index.dtype();
  static const Shape kOne{1};
  // References, not copies: this runs on every call, however small.
  const Shape& sizes = index.dim() == 0 ? kOne : index.sizes();
  const Shape& strides = index.dim() == 0 ? kOne : index.strides();
  STRATA_CHECK(sizes.size() <= static_cast<size_t>(kernels::kMaxDims), NotSupportedError,
               "index tensors support at most {} dimensions, got {}", kernels::kMaxDims, sizes.size());
  desc.ndim = static_cast<int>(sizes.size());
  const int64_t element = static_cast<int64_t>(index.element_size());
  for (int i = 0; i < desc.ndim; ++i) {
    desc.sizes[i] = sizes[i];
    desc.byte_strides[i] = strides[i] * element;
  }
  desc.numel = index.numel();
  return desc;
}


namespace {

int64_t lowest_valid(const IndexBound& b, bool allow_negative) { return allow_negative ? -b.size : 0; }

bool in_range(const IndexBound& b, const IndexRange& range, bool allow_negative) {
  return range.max < b.size && range.min >= lowest_valid(b, allow_negative);
}

/// A bad index value and its row-major position (-1: none found).
struct BadValue {
  int64_t position = -1;
  int64_t value = 0;
};

/// The first value of b's index outside its range, read in row-major order of
/// `shape` (the index's own shape, or the broadcast shape of all the op's
/// index tensors), and its position there. The error path only (the op has
/// written nothing): a second read of the index, on the host, a bounded chunk
/// of whole leading rows at a time, so a huge index on a GPU needs no host
/// copy of its own size.
BadValue first_bad_value(const IndexBound& b, const Shape& shape, bool allow_negative) {
  constexpr int64_t kChunk = int64_t{1} << 20;
  const int64_t lowest = lowest_valid(b, allow_negative);
  Tensor view = shape == b.index->sizes() ? *b.index : b.index->expand(shape);
  if (view.dim() == 0) view = view.reshape({1});
  const int64_t rows = view.sizes()[0];
  if (rows == 0) return {};
  const int64_t per_row = view.numel() / rows;
  const int64_t rows_per_chunk = std::max<int64_t>(1, kChunk / std::max<int64_t>(per_row, 1));
  for (int64_t start = 0; start < rows; start += rows_per_chunk) {
    const std::vector<int64_t> values = view.slice(0, start, start + rows_per_chunk).to_vector<int64_t>();
    const auto bad = std::find_if(values.begin(), values.end(), [&](int64_t v) { return v < lowest || v >= b.size; });
    if (bad != values.end()) return {start * per_row + (bad - values.begin()), *bad};
  }
  return {};
}

/// Throws IndexError for the first bad index value when a range of
/// checked[0, n) is out of bounds. "First" as PyTorch's loops meet it: the
/// earliest position, in row-major order of the index tensors broadcast
/// together, at which any of them holds a bad value, and at that position the
/// first such tensor (index_put_(t, {rows, cols}) with rows = [0, 9] and
/// cols = [9, 0] names the 9 of cols, dimension 1).
void throw_first_out_of_range(const IndexBound* const* checked, const IndexRange* ranges, int n,
                              bool allow_negative) {
  int failing = 0;
  int culprit = -1;  // the first failing tensor, until positions are compared
  for (int i = 0; i < n; ++i) {
    if (in_range(*checked[i], ranges[i], allow_negative)) continue;
    ++failing;
    if (culprit < 0) culprit = i;
  }
  if (failing == 0) return;
  BadValue bad;
  if (failing == 1) {
    bad = first_bad_value(*checked[culprit], checked[culprit]->index->sizes(), allow_negative);
  } else {
    Shape shape = checked[0]->index->sizes();
    for (int i = 1; i < n; ++i) shape = broadcast_shapes(shape, checked[i]->index->sizes());
    for (int i = 0; i < n; ++i) {
      if (in_range(*checked[i], ranges[i], allow_negative)) continue;
      const BadValue candidate = first_bad_value(*checked[i], shape, allow_negative);
      if (candidate.position >= 0 && (bad.position < 0 || candidate.position < bad.position)) {
        bad = candidate;
        culprit = i;
      }
    }
  }
  const IndexBound& b = *checked[culprit];
  // The range said some value is bad; should the second read find none (the
  // index written meanwhile, by another stream), the range's extreme is named.
  const IndexRange& range = ranges[culprit];
  const int64_t value = bad.position >= 0 ? bad.value : range.max >= b.size ? range.max : range.min;
  STRATA_FAIL(IndexError, "index {} is out of bounds for dimension {} with size {}", value, b.dim, b.size);
}

/// False for an empty index tensor (nothing to check). A non-empty one into a
/// dimension of size 0 is checked like any other: its first value is named
/// ("index 0 is out of bounds for dimension 1 with size 0", PyTorch's scatter
/// and gather text); index_put_/index() refuse that case earlier, with
/// PyTorch's "index is out of bounds for dimension with size 0"
/// (make_advanced_index).
bool needs_bounds_check(const IndexBound& b) { return b.index->numel() > 0; }

/// Room for kMaxIndexOperands index descriptors, each constructed only when
/// collect_checked fills it: zero-initializing all eight (2 KiB) to fill one or
/// two was a quarter of a 3-element index_put_ by perf (with the other unused
/// zeroing gone, 608 -> 498 ns a call on the 2-core VM).
struct IndexDescSlots {
  IndexDescSlots() {}  // NOLINT: leaves the slots unconstructed
  union {
    IndexTensorDesc desc[kernels::kMaxIndexOperands];
  };
};
static_assert(std::is_trivially_destructible_v<IndexTensorDesc>);

/// The index tensors of bounds[0, count) (at most kMaxIndexOperands) that need
/// a check, as the validation pass sees them: fills descs and checked, returns
/// how many.
int collect_checked(const IndexBound* bounds, size_t count, IndexDescSlots& descs, const IndexBound** checked) {
  int n = 0;
  for (size_t i = 0; i < count; ++i) {
    if (!needs_bounds_check(bounds[i])) continue;
    new (&descs.desc[n]) IndexTensorDesc(index_tensor_desc(*bounds[i].index));
    checked[n++] = &bounds[i];
  }
  return n;
}

}  // namespace

void check_index_bounds(const IndexBound* bounds, size_t count, bool allow_negative) {
  constexpr int kMax = kernels::kMaxIndexOperands;
  for (size_t first = 0; first < count; first += kMax) {
    IndexDescSlots descs;
    IndexRange ranges[kMax];
    const IndexBound* checked[kMax];
    const int n = collect_checked(bounds + first, std::min(count - first, static_cast<size_t>(kMax)), descs, checked);
    if (n == 0) continue;
    const Device device = checked[0]->index->device();
    if (device.is_cpu()) {
      kernels::cpu::index_min_max(descs.desc, n, ranges);
    } else {
#if STRATA_WITH_CUDA
      kernels::cuda::index_min_max(descs.desc, n, ranges, detail::current_stream_handle(device), device.index());
#else
      STRATA_FAIL(DeviceError, "strata was built without CUDA; cannot index a tensor on {}", device.str());
#endif
    }
    throw_first_out_of_range(checked, ranges, n, allow_negative);
  }
}

namespace {

/// Whether a GPU scatter update takes the deterministic sorted path
/// (kernels::cuda::scatter_update_sorted): in deterministic mode, where the
/// order of duplicates can show in the result.
bool uses_sorted_path(const ScatterDesc& d) { return is_deterministic() && kernels::duplicate_order_matters(d); }

std::atomic<SortedPathStandIn> sorted_path_stand_in{nullptr};

/// The test's stand-in for the sorted path when one is set and `d` on `device`
/// would take that path on a GPU; nullptr otherwise.
SortedPathStandIn stand_in_for(const ScatterDesc& d, const Device& device) {
  const SortedPathStandIn stand_in = sorted_path_stand_in.load(std::memory_order_acquire);
  return stand_in != nullptr && device.is_cpu() && uses_sorted_path(d) ? stand_in : nullptr;
}

}  // namespace

void set_sorted_path_stand_in(SortedPathStandIn stand_in) {
  sorted_path_stand_in.store(stand_in, std::memory_order_release);
}

namespace {

/// check_index_bounds, then the kernel; on a GPU instead, in stream order, one
/// cooperative kernel that validates every index (a min/max over the grid and
/// one grid-wide barrier) and updates or gathers only when all are in range
/// (from 256 to 64 Ki positions, where that was measured faster); otherwise
/// (other sizes, the deterministic sorted path, devices without cooperative
/// launch) the min/max pass into device memory and then the kernel guarded by
/// its result. Either way the ranges are reported to pinned host memory as
/// soon as the grid has them (by the min/max pass's last block, or the
/// one-launch kernel's first thread after its barrier; never by the update
/// kernel, where the report's code alone cost 37 % at 16 Mi on an H100), and
/// the host waits for that report only, then throws the usual
/// IndexError or returns while the update runs on. The GPU never idles while
/// the host decides.
void run_checked(const ScatterDesc& unguarded, const Device& device, const IndexBound* bounds, size_t count,
                 bool allow_negative, bool gather) {
#if STRATA_WITH_CUDA
  if (!device.is_cpu() && count <= static_cast<size_t>(kernels::kMaxIndexOperands)) {
    IndexDescSlots descs;
    const IndexBound* checked[kernels::kMaxIndexOperands];
    const int n = collect_checked(bounds, count, descs, checked);
    if (n > 0) {
      ScatterDesc d = unguarded;
      for (int i = 0; i < n; ++i) {
        d.guard.lowest[i] = allow_negative ? -checked[i]->size : 0;
        d.guard.size[i] = checked[i]->size;
      }
      void* stream = detail::current_stream_handle(device);
      d.guard.count = n;
      // The separate min/max pass: its keys live until the end of this scope
      // (the caching allocator reuses them only in stream order).
      Storage keys;
      const auto min_max_pass = [&](const kernels::IndexGuard* report) {
        keys = Storage::allocate(kernels::cuda::index_keys_words(n) * sizeof(unsigned long long), device);
        auto* key_data = static_cast<unsigned long long*>(keys.data());
        kernels::cuda::index_min_max_launch(descs.desc, n, key_data, stream, device.index(), report);
        return key_data;
      };
      IndexRange ranges[kernels::kMaxIndexOperands];
      if (d.numel > 0) {
        // The min/max pass (or the one-launch kernel) reports the ranges once
        // they are known: wait for that report, not for the update.
        kernels::cuda::begin_index_report(d.guard, device.index());
        try {
          const bool one_launch =
              gather ? kernels::cuda::gather_checked(d, descs.desc, n, stream, device.index())
                     : !uses_sorted_path(d) && kernels::cuda::scatter_update_checked(d, descs.desc, n, stream,
                                                                                     device.index());
          if (!one_launch) {
            d.guard.keys = min_max_pass(&d.guard);
            // Can throw after the pass is queued (the sorted path's scratch
            // memory): the pass still reports.
            gather ? run_gather(d, device) : run_scatter_update(d, device);
          }
          kernels::cuda::wait_index_report(d.guard, ranges, stream, device.index());
        } catch (...) {
          kernels::cuda::abandon_index_report(stream, device.index());
          throw;
        }
      } else {
        kernels::cuda::index_ranges_read_back(min_max_pass(nullptr), n, ranges, stream, device.index());
      }
      throw_first_out_of_range(checked, ranges, n, allow_negative);
      return;
    }
  }
#endif
  check_index_bounds(bounds, count, allow_negative);
  gather ? run_gather(unguarded, device) : run_scatter_update(unguarded, device);
}

}  // namespace

namespace {

/// The outcome of a CPU route that checks the indices in the pass that reads
/// them: true when it did the op; throws when an index was out of range (rare:
/// the min/max pass then finds the value to report); false when not taken.
bool fused_route_done(kernels::cpu::FusedCheck outcome, const IndexBound* bounds, size_t count, bool allow_negative) {
  switch (outcome) {
    case kernels::cpu::FusedCheck::Applied:
      return true;
    case kernels::cpu::FusedCheck::OutOfRange:
      check_index_bounds(bounds, count, allow_negative);
      STRATA_FAIL(Error, "internal: an index was out of range, but the bounds check passed");
    case kernels::cpu::FusedCheck::NotTaken:
      break;
  }
  return false;
}

}  // namespace

void run_checked_gather(const ScatterDesc& d, const Device& device, const IndexBound* bounds, size_t count,
                        bool allow_negative) {
  if (device.is_cpu() && fused_route_done(kernels::cpu::gather_checked(d), bounds, count, allow_negative)) return;
  run_checked(d, device, bounds, count, allow_negative, /*gather=*/true);
}

void run_checked_scatter_update(const ScatterDesc& d, const Device& device, const IndexBound* bounds,
                                size_t count, bool allow_negative) {
  if (device.is_cpu() && stand_in_for(d, device) == nullptr &&
      fused_route_done(kernels::cpu::scatter_update_checked(d), bounds, count, allow_negative)) {
    return;
  }
  run_checked(d, device, bounds, count, allow_negative, /*gather=*/false);
}

void run_scatter_update(const ScatterDesc& d, const Device& device) {
  if (d.numel == 0) return;
  if (device.is_cpu()) {
    if (const SortedPathStandIn stand_in = stand_in_for(d, device)) {
      stand_in(d);
      return;
    }
    kernels::cpu::scatter_update(d);
    return;
  }
#if STRATA_WITH_CUDA
  void* stream = detail::current_stream_handle(device);
  if (uses_sorted_path(d)) {
    kernels::cuda::scatter_update_sorted(d, stream, device.index());
  } else {
    kernels::cuda::scatter_update(d, stream, device.index());
  }
#else
  STRATA_FAIL(DeviceError, "strata was built without CUDA; cannot run on {}", device.str());
#endif
}

void run_gather(const ScatterDesc& d, const Device& device) {
  if (d.numel == 0) return;
  if (device.is_cpu()) {
    kernels::cpu::gather(d);
    return;
  }
#if STRATA_WITH_CUDA
  kernels::cuda::gather(d, detail::current_stream_handle(device), device.index());
#else
  STRATA_FAIL(DeviceError, "strata was built without CUDA; cannot run on {}", device.str());
#endif
}

void set_scalar(ScatterDesc& d, const Scalar& value, DType dtype) {
  detail::check_scalar_fits(value, dtype);  // as fill_: 300 into uint8 is refused, not wrapped
  d.direct_is_scalar = true;
  d.direct = nullptr;
  kernels::dispatch_dtype(dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T v = value.to<T>();
    static_assert(sizeof(T) <= sizeof(d.scalar));
    std::memcpy(d.scalar, &v, sizeof(T));
  });
}

}  // namespace strata::ops::scatter_detail

namespace strata {

using namespace ops::scatter_detail;
using kernels::ScatterDesc;
using kernels::ScatterReduce;

namespace {

/// PyTorch's scatter shape rules: same rank; index.size(d) <= self.size(d) for
/// d != dim and <= src.size(d) for every d.
void check_scatter_shapes(const Tensor& self, int64_t dim, const Tensor& index, const Tensor* src) {
  const Shape self_sizes = sizes_1d(self);
  const Shape index_sizes = sizes_1d(index);
  STRATA_CHECK(index_sizes.size() == self_sizes.size(), ShapeError,
               "Index tensor must have the same number of dimensions as self tensor");
  if (src != nullptr) {
    STRATA_CHECK(sizes_1d(*src).size() == index_sizes.size(), ShapeError,
                 "Index tensor must have the same number of dimensions as src tensor");
  }
  const Shape src_sizes = src != nullptr ? sizes_1d(*src) : Shape{};
  bool fits = true;
  for (size_t d = 0; d < index_sizes.size(); ++d) {
    if (static_cast<int64_t>(d) != dim && index_sizes[d] > self_sizes[d]) fits = false;
    if (src != nullptr && index_sizes[d] > src_sizes[d]) fits = false;
  }
  if (fits) return;
  if (src != nullptr) {
    STRATA_FAIL(ShapeError,
                "Expected index {} to be smaller than self {} apart from dimension {} and to be smaller "
                "size than src {}",
                shape_str(index.sizes()), shape_str(self.sizes()), dim, shape_str(src->sizes()));
  }
  STRATA_FAIL(ShapeError, "Expected index {} to be smaller than self {} apart from dimension {}",
              shape_str(index.sizes()), shape_str(self.sizes()), dim);
}

/// The descriptor of `target`[index[pos] along dim] <op>= src[pos] (or value).
ScatterDesc scatter_desc(const Tensor& target, int64_t dim, const Tensor& index, const Tensor* src,
                         const Scalar* value) {
  ScatterDesc d;
  set_indexed(d, target);
  const int64_t element = static_cast<int64_t>(target.element_size());
  const Shape target_sizes = sizes_1d(target);
  const Shape target_strides = strides_1d(target);
  const Shape index_sizes = sizes_1d(index);
  const Shape index_strides = strides_1d(index);
  const Shape src_strides = src != nullptr ? strides_1d(*src) : Shape(index_sizes.size(), 0);
  d.num_indices = 1;
  d.indices[0].data = static_cast<const char*>(index.data_ptr());
  d.indices[0].dtype = index.dtype();
  d.indices[0].dim_size = target_sizes[dim];
  d.indices[0].target_byte_stride = target_strides[dim] * element;
  const int64_t index_element = static_cast<int64_t>(index.element_size());
  std::vector<IterDim> dims(index_sizes.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    dims[i].size = index_sizes[i];
    dims[i].indexed_stride = static_cast<int64_t>(i) == dim ? 0 : target_strides[i] * element;
    dims[i].direct_stride = src_strides[i] * element;
    dims[i].index_strides[0] = index_strides[i] * index_element;
  }
  set_iteration_space(d, dims);
  if (src != nullptr) {
    d.direct = static_cast<char*>(src->data_ptr());
  } else {
    set_scalar(d, *value, target.dtype());
  }
  return d;
}

/// What check_scatter hands on: the wrapped dim, and the index and source to
/// read (ops::checked_input: copies where they alias self through views the
/// overlap check cannot classify; `src` undefined for a scalar value).
struct ScatterInputs {
  int64_t dim;
  Tensor index;
  Tensor src;
  const Tensor* src_or_null() const { return src.defined() ? &src : nullptr; }
};

/// Checks shared by scatter_, scatter_add_ and scatter_reduce_. Returns the
/// inputs, or nullopt when the index is empty (a no-op). The index values
/// are validated here unless `defer_bounds` (the caller then runs
/// run_checked_scatter_update).
std::optional<ScatterInputs> check_scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor* src,
                                           bool defer_bounds = false) {
  dim = wrap_dim(dim, self.dim());
  // PyTorch names every variant "scatter()" and skips the index's dtype and
  // shape checks when it is empty (the op is then a no-op).
  const bool empty_index = index.numel() == 0;
  STRATA_CHECK(empty_index || index.dtype() == kInt64, DTypeError, "scatter(): Expected dtype int64 for index");
  if (src != nullptr) {
    STRATA_CHECK(src->dtype() == self.dtype(), DTypeError, "scatter(): Expected self.dtype to be equal to src.dtype");
  }
  check_same_device(self, index);
  if (src != nullptr) check_same_device(self, *src);
  if (!empty_index) check_scatter_shapes(self, dim, index, src);
  ops::assert_no_internal_overlap(self);
  ScatterInputs inputs{dim, ops::checked_input(self, index), src != nullptr ? ops::checked_input(self, *src) : Tensor()};
  if (index.numel() == 0) return std::nullopt;
  if (!defer_bounds) {
    const IndexBound bound{&inputs.index, dim, sizes_1d(self)[static_cast<size_t>(dim)]};
    check_index_bounds(&bound, 1, /*allow_negative=*/false);
  }
  return inputs;
}

/// PyTorch's CPU loops convert a scalar (scatter_'s value; index_add_'s alpha
/// for a self of two or more dimensions) to self's dtype element by element,
/// after checking that element's index. So when the scalar does not fit the
/// dtype and the first index the loop meets (the one at coordinates 0, ..., 0)
/// is out of range, that index is the error; a bad index further on is not.
/// Throws that IndexError; the caller then refuses the scalar.
void check_first_index_before_scalar(const Scalar& scalar, DType dtype, const Tensor& index, int64_t dim,
                                     int64_t size) {
  if (detail::scalar_fits(scalar, dtype) || index.numel() == 0) return;
  const Tensor first =
      index.dim() == 0 ? index : index.as_strided(Shape(static_cast<size_t>(index.dim()), 1), index.strides());
  const IndexBound bound{&first, dim, size};
  check_index_bounds(&bound, 1, /*allow_negative=*/false);
}

const Tensor& scatter_impl(const Tensor& self, int64_t dim, const Tensor& index, const Tensor* src,
                           const Scalar* value, ScatterReduce reduce) {
  const std::optional<ScatterInputs> in = check_scatter(self, dim, index, src, /*defer_bounds=*/true);
  if (!in) return self;
  const int64_t size = sizes_1d(self)[static_cast<size_t>(in->dim)];
  if (value != nullptr) check_first_index_before_scalar(*value, self.dtype(), in->index, in->dim, size);
  ScatterDesc d = scatter_desc(self, in->dim, in->index, in->src_or_null(), value);
  d.reduce = reduce;
  const IndexBound bound{&in->index, in->dim, size};
  run_checked_scatter_update(d, self.device(), &bound, 1, /*allow_negative=*/false);
  return self;
}

/// The value include_self=false starts a reduction from.
Scalar reduction_identity(ScatterReduce reduce, DType dtype) {
  if (reduce == ScatterReduce::Add) return Scalar(int64_t{0});
  if (reduce == ScatterReduce::Multiply) return Scalar(int64_t{1});
  const bool lowest = reduce == ScatterReduce::Max;
  if (dtype == kBool) return Scalar(!lowest);
  if (is_floating_point(dtype)) {
    return Scalar(lowest ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity());
  }
  return kernels::dispatch_dtype(dtype, [&](auto tag) -> Scalar {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      return Scalar(static_cast<int64_t>(lowest ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max()));
    } else {
      return Scalar(int64_t{0});
    }
  });
}

}  // namespace

// ---- scatter_ / scatter_add_ / scatter_reduce_ -----------------------------------------

const Tensor& Tensor::scatter_(int64_t dim, const Tensor& index, const Tensor& src) const {
  return scatter_impl(*this, dim, index, &src, nullptr, ScatterReduce::Assign);
}

const Tensor& Tensor::scatter_(int64_t dim, const Tensor& index, const Scalar& value) const {
  return scatter_impl(*this, dim, index, nullptr, &value, ScatterReduce::Assign);
}

const Tensor& Tensor::scatter_add_(int64_t dim, const Tensor& index, const Tensor& src) const {
  return scatter_impl(*this, dim, index, &src, nullptr, ScatterReduce::Add);
}

const Tensor& Tensor::scatter_reduce_(int64_t dim, const Tensor& index, const Tensor& src,
                                      std::string_view reduce, bool include_self) const {
  ScatterReduce op = ScatterReduce::Add;
  const bool mean = reduce == "mean";
  bool known = true;
  if (reduce == "prod") {
    op = ScatterReduce::Multiply;
  } else if (reduce == "amax") {
    op = ScatterReduce::Max;
  } else if (reduce == "amin") {
    op = ScatterReduce::Min;
  } else {
    known = reduce == "sum" || mean;
  }
  if (!known || (mean && dtype() == kBool)) {
    // PyTorch checks the operands (dim, dtypes, shapes, overlap) before it
    // looks at the reduction, and index values only after both.
    check_scatter(*this, dim, index, &src, /*defer_bounds=*/true);
    STRATA_CHECK(known, ValueError, "reduce argument must be either sum, prod, mean, amax or amin, got {}", reduce);
    STRATA_FAIL(DTypeError, "scatter_reduce(): reduce \"mean\" is not supported for Bool tensors");
  }
  // One pass over self: the indices are checked as scatter_add_'s are (on the
  // CPU's fused routes, while the updates go to private copies).
  if (include_self && !mean) return scatter_impl(*this, dim, index, &src, nullptr, op);
  // Three passes read the index (the inputs as check_scatter hands them on),
  // the first of which writes self.
  const std::optional<ScatterInputs> in = check_scatter(*this, dim, index, &src);
  if (!in) return *this;
  const Device dev = device();
  if (!include_self) {
    const Scalar identity = reduction_identity(op, dtype());
    ScatterDesc fill = scatter_desc(*this, in->dim, in->index, nullptr, &identity);
    run_scatter_update(fill, dev);
  }
  Tensor counts;
  if (mean) {
    counts = full(sizes(), include_self ? 1 : 0, TensorOptions().dtype(dtype()).device(dev));
    const Scalar one(int64_t{1});
    ScatterDesc count = scatter_desc(counts, in->dim, in->index, nullptr, &one);
    count.reduce = ScatterReduce::Add;
    run_scatter_update(count, dev);
  }
  ScatterDesc d = scatter_desc(*this, in->dim, in->index, &in->src, nullptr);
  d.reduce = op;
  run_scatter_update(d, dev);
  if (mean) {
    ScatterDesc divide;
    set_indexed(divide, *this);
    divide.direct = static_cast<char*>(counts.data_ptr());
    divide.reduce = ScatterReduce::MeanDivide;
    const int64_t element = static_cast<int64_t>(element_size());
    const Shape self_sizes = sizes_1d(*this), self_strides = strides_1d(*this), count_strides = strides_1d(counts);
    std::vector<IterDim> dims(self_sizes.size());
    for (size_t i = 0; i < dims.size(); ++i) {
      dims[i].size = self_sizes[i];
      dims[i].indexed_stride = self_strides[i] * element;
      dims[i].direct_stride = count_strides[i] * element;
    }
    set_iteration_space(divide, dims);
    run_scatter_update(divide, dev);
  }
  return *this;
}

// ---- gather ------------------------------------------------------------------------------

Tensor Tensor::gather(int64_t dim, const Tensor& index) const {
  dim = wrap_dim(dim, this->dim());
  // An empty index skips the index checks (PyTorch's gather): the result is
  // an empty tensor of the index's shape.
  if (index.numel() == 0) {
    check_same_device(*this, index);
    return empty(index.sizes(), TensorOptions().dtype(dtype()).device(device()));
  }
  STRATA_CHECK(index.dtype() == kInt64 || index.dtype() == kInt32, DTypeError,
               "gather(): Expected dtype int32/int64 for index");
  check_same_device(*this, index);
  const Shape self_sizes = sizes_1d(*this);
  const Shape index_sizes = sizes_1d(index);
  STRATA_CHECK(index_sizes.size() == self_sizes.size(), ShapeError,
               "Index tensor must have the same number of dimensions as input tensor");
  for (size_t d = 0; d < index_sizes.size(); ++d) {
    STRATA_CHECK(static_cast<int64_t>(d) == dim || index_sizes[d] <= self_sizes[d], ShapeError,
                 "Size does not match at dimension {} expected index {} to be smaller than self {} apart "
                 "from dimension {}",
                 d, shape_str(index.sizes()), shape_str(sizes()), dim);
  }
  Tensor out = empty(index.sizes(), TensorOptions().dtype(dtype()).device(device()));
  const IndexBound bound{&index, dim, self_sizes[static_cast<size_t>(dim)]};
  run_checked_gather(scatter_desc(*this, dim, index, &out, nullptr), device(), &bound, 1, /*allow_negative=*/false);
  return out;
}

// ---- index_add_ ----------------------------------------------------------------------------

const Tensor& Tensor::index_add_(int64_t dim, const Tensor& index, const Tensor& source,
                                 const Scalar& alpha) const {
  dim = wrap_dim(dim, this->dim());
  STRATA_CHECK(index.dim() <= 1, IndexError,
               "index_add_(): Index is supposed to be a vector, but got dim: {} with type: {} and size: {}",
               index.dim(), type_name(index.dtype()), shape_str(index.sizes()));
  STRATA_CHECK(index.dtype() == kInt64 || index.dtype() == kInt32, DTypeError,
               "index_add_(): Expected dtype int32/int64 for index but got: {}", type_name(index.dtype()));
  STRATA_CHECK(source.dtype() == dtype(), DTypeError,
               "index_add_(): self ({}) and source ({}) must have the same scalar type", type_name(dtype()),
               type_name(source.dtype()));
  STRATA_CHECK(dim == 0 || dim < source.dim(), IndexError,
               "index_add_(): Indexing dim {} is out of bounds of the source tensor with dim {}", dim, source.dim());
  check_same_device(*this, index);
  check_same_device(*this, source);
  const Shape self_sizes = sizes_1d(*this);
  const Shape source_sizes = sizes_1d(source);
  const int64_t source_count = source_sizes.size() > static_cast<size_t>(dim) ? source_sizes[dim] : 1;
  STRATA_CHECK(index.numel() == source_count, IndexError,
               "index_add_(): Number of indices ({}) should be equal to source.size(dim): ({}), for dim: {}",
               index.numel(), source_count, dim);
  bool same_shape = self_sizes.size() == source_sizes.size();
  for (size_t d = 0; same_shape && d < self_sizes.size(); ++d) {
    if (static_cast<int64_t>(d) != dim && self_sizes[d] != source_sizes[d]) same_shape = false;
  }
  STRATA_CHECK(same_shape, ShapeError,
               "source tensor shape must match self tensor shape, excluding the specified dimension. Got "
               "self.shape = {} source.shape = {}",
               shape_str(sizes()), shape_str(source.sizes()));
  ops::assert_no_internal_overlap(*this);
  const Tensor idx = ops::checked_input(*this, index);
  const Tensor src = ops::checked_input(*this, source);
  // Unlike add_, PyTorch's index_add_ has no rules of its own for alpha: it
  // converts it to self's dtype with the checked conversion, where its kernel
  // does (for a self of one or no dimension always, before any index; for
  // more only when the index is not empty, after checking the first index).
  // A floating alpha for an integer self is truncated (2.5 adds 2 * source),
  // a Boolean one counts as 1 or 0, and one the dtype cannot hold (300 for
  // int8, NaN for an integer self, 1e39 for float32) is refused.
  if (this->dim() <= 1) {
    detail::check_scalar_fits(alpha, dtype());
  } else if (index.numel() > 0) {
    check_first_index_before_scalar(alpha, dtype(), idx, dim, self_sizes[static_cast<size_t>(dim)]);
    detail::check_scalar_fits(alpha, dtype());
  }
  if (index.numel() == 0) return *this;

  ScatterDesc d;
  set_indexed(d, *this);
  const int64_t element = static_cast<int64_t>(element_size());
  const Shape self_strides = strides_1d(*this);
  const Shape source_strides = strides_1d(src);
  d.num_indices = 1;
  d.indices[0].data = static_cast<const char*>(idx.data_ptr());
  d.indices[0].dtype = idx.dtype();
  d.indices[0].dim_size = self_sizes[dim];
  d.indices[0].target_byte_stride = self_strides[dim] * element;
  const int64_t index_stride = idx.dim() == 0 ? 0 : idx.stride(0) * static_cast<int64_t>(idx.element_size());
  std::vector<IterDim> dims(source_sizes.size());
  for (size_t i = 0; i < dims.size(); ++i) {
    const bool is_dim = static_cast<int64_t>(i) == dim;
    dims[i].size = source_sizes[i];
    dims[i].indexed_stride = is_dim ? 0 : self_strides[i] * element;
    dims[i].direct_stride = source_strides[i] * element;
    dims[i].index_strides[0] = is_dim ? index_stride : 0;
  }
  set_iteration_space(d, dims);
  d.direct = static_cast<char*>(src.data_ptr());
  d.reduce = ScatterReduce::Add;
  // alpha as self's dtype, as PyTorch's kernels take it (alpha.to<scalar_t>()):
  // an integer self truncates a floating alpha, a Float16/BFloat16 self
  // rounds it, a Bool self makes it true or false. It fits (checked above).
  alignas(8) unsigned char alpha_element[8];
  detail::store_scalar(alpha, dtype(), alpha_element);
  const Scalar alpha_t = detail::load_scalar(alpha_element, dtype());
  d.alpha.enabled = alpha_t.is_floating_point() ? alpha_t.to_double() != 1.0 : alpha_t.to_int64() != 1;
  d.alpha.as_float = alpha_t.to_double();
  d.alpha.as_int = alpha_t.to_int64();
  const IndexBound bound{&idx, dim, self_sizes[static_cast<size_t>(dim)]};
  run_checked_scatter_update(d, device(), &bound, 1, /*allow_negative=*/false);
  return *this;
}

// ---- out-of-place forms ----------------------------------------------------------------------

Tensor Tensor::scatter(int64_t dim, const Tensor& index, const Tensor& src) const {
  Tensor out = clone();
  out.scatter_(dim, index, src);
  return out;
}

Tensor Tensor::scatter(int64_t dim, const Tensor& index, const Scalar& value) const {
  Tensor out = clone();
  out.scatter_(dim, index, value);
  return out;
}

Tensor Tensor::scatter_add(int64_t dim, const Tensor& index, const Tensor& src) const {
  Tensor out = clone();
  out.scatter_add_(dim, index, src);
  return out;
}

Tensor Tensor::scatter_reduce(int64_t dim, const Tensor& index, const Tensor& src, std::string_view reduce,
                              bool include_self) const {
  Tensor out = clone();
  out.scatter_reduce_(dim, index, src, reduce, include_self);
  return out;
}

Tensor Tensor::index_add(int64_t dim, const Tensor& index, const Tensor& source, const Scalar& alpha) const {
  Tensor out = clone();
  out.index_add_(dim, index, source, alpha);
  return out;
}

Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  return self.scatter(dim, index, src);
}
Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value) {
  return self.scatter(dim, index, value);
}
Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  return self.scatter_add(dim, index, src);
}
Tensor scatter_reduce(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                      std::string_view reduce, bool include_self) {
  return self.scatter_reduce(dim, index, src, reduce, include_self);
}
Tensor gather(const Tensor& self, int64_t dim, const Tensor& index) { return self.gather(dim, index); }
Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source,
                 const Scalar& alpha) {
  return self.index_add(dim, index, source, alpha);
}

}  // namespace strata
