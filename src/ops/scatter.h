// Internal helpers shared by the scatter-family front-ends (scatter.cpp for
// scatter_/scatter_add_/scatter_reduce_/gather/index_add_, index.cpp for
// index_put_/index): descriptor building, index validation, device dispatch.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kernels/common/scatter_desc.h"
#include "strata/export.h"
#include "strata/tensor.h"

namespace strata::ops::scatter_detail {

/// "[2, 3]"
std::string shape_str(const Shape& shape);
/// Sizes/strides with a 0-dim tensor seen as 1-D of size 1 (PyTorch's
/// ensure_nonempty_dim for the scatter family).
Shape sizes_1d(const Tensor& t);
Shape strides_1d(const Tensor& t);
/// `dim` wrapped into [0, ndim) (ndim 0 counts as 1). IndexError otherwise.
int64_t wrap_dim(int64_t dim, int64_t ndim);
/// DeviceError unless both tensors are on the same device.
void check_same_device(const Tensor& a, const Tensor& b);

/// One dimension of the iteration space, outermost first, strides in bytes.
struct IterDim {
  int64_t size = 1;
  int64_t indexed_stride = 0;
  int64_t direct_stride = 0;
  int64_t index_strides[kernels::kMaxIndexOperands] = {};
};

/// Fills d.ndim/sizes/strides/numel from `dims` (outermost first): drops size-1
/// dimensions, reverses to innermost-first and merges dimensions that are
/// contiguous for every operand.
void set_iteration_space(kernels::ScatterDesc& d, std::span<const IterDim> dims);

/// Sets d.indexed, extent and overlap flag from the tensor addressed through
/// the indices.
void set_indexed(kernels::ScatterDesc& d, const Tensor& t);

/// The index tensor as the validation pass sees it.
kernels::IndexTensorDesc index_tensor_desc(const Tensor& index);

/// One index tensor to validate: values must lie in [0, size) (or [-size, size)
/// when negative values wrap).
struct IndexBound {
  const Tensor* index = nullptr;  // borrowed: lives through the call
  int64_t dim = 0;
  int64_t size = 0;
};
/// Runs the min/max pass over the `count` index tensors on their device (one
/// read-back on a GPU) and throws IndexError "index 7 is out of bounds for
/// dimension 0 with size 5" for the first bad value: the earliest in row-major
/// order of the index tensors broadcast together, the first tensor at that
/// position. Nothing has been written yet. Allocates nothing unless it throws
/// (tiny calls are dominated by setup).
void check_index_bounds(const IndexBound* bounds, size_t count, bool allow_negative);

/// check_index_bounds(bounds, count, allow_negative) then run_scatter_update(d),
/// except where the CPU kernel checks every index in the pass that applies
/// them (kernels::cpu::scatter_update_checked): then an out-of-range index still
/// throws the same IndexError, and self is still untouched.
/// On a GPU, the min/max pass and the kernel guarded by its result run in
/// stream order, and the host waits only for the guard's report (self is
/// untouched when an index is out of range; the update runs on after).
void run_checked_scatter_update(const kernels::ScatterDesc& d, const Device& device, const IndexBound* bounds,
                                size_t count, bool allow_negative);
/// The same for gather mode: validate, then run_gather(d) (guarded on a GPU).
void run_checked_gather(const kernels::ScatterDesc& d, const Device& device, const IndexBound* bounds,
                        size_t count, bool allow_negative);
/// Runs the scatter-mode kernel on `device` (the CUDA sorted path under
/// set_deterministic(true)).
void run_scatter_update(const kernels::ScatterDesc& d, const Device& device);
/// Runs the gather-mode kernel on `device`.
void run_gather(const kernels::ScatterDesc& d, const Device& device);

/// For tests: a host stand-in for the CUDA sorted path. While one is set, a CPU
/// scatter update that a GPU would send down the sorted path has its indices
/// checked by the separate min/max pass (as on a GPU) and is then handed to
/// `stand_in` in place of the CPU kernels. The tests set one that runs the
/// sorted path's own steps (kernels/common/scatter_sorted.h) with
/// std::stable_sort in place of CUB's radix sort, so every CPU test that sets
/// deterministic mode also runs the GPU's sorted-path logic
/// (tests/ops/scatter_sorted_stand_in.h). nullptr removes it.
using SortedPathStandIn = void (*)(const kernels::ScatterDesc& d);
STRATA_API void set_sorted_path_stand_in(SortedPathStandIn stand_in);

/// Stores `value` converted to `dtype` into the descriptor's scalar slot.
void set_scalar(kernels::ScatterDesc& d, const Scalar& value, DType dtype);

}  // namespace strata::ops::scatter_detail
