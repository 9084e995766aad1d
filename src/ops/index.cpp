// Front-ends of index_put_ / index_put and index (advanced-index reads).
// Semantics are NumPy's and PyTorch's: index tensors broadcast together, bool
// masks stand for the coordinates of their true elements, negative indices wrap,
// and when the indexed dimensions are not adjacent the broadcast index
// dimensions come first in the result.
#include "src/ops/index.h"

#include <algorithm>
#include <span>

#include "kernels/common/scatter_kernels.h"
#include "kernels/cpu/fill.h"
#include "src/core/check.h"
#include "src/core/recycling_allocator.h"
#include "src/core/scalar_convert.h"
#include "src/ops/elementwise_iter.h"
#include "src/ops/overlap.h"
#include "strata/factories.h"
#include "strata/ops.h"

namespace strata::ops {

using namespace scatter_detail;
using kernels::ScatterDesc;
using kernels::ScatterReduce;

namespace {

/// The coordinates of the non-zero elements of `mask`, one Int64 tensor per
/// mask dimension, on `device` (PyTorch's nonzero; reads the mask on the host).
/// Two passes over the mask bytes (Bool and UInt8 are one byte each): a count
/// (count_selected, the CPU masked_select's), then branch-free writes into
/// tensors of that length (the innermost one a view of a buffer one longer).
std::vector<Tensor> mask_coordinates(const Tensor& mask, const Device& device) {
  const Device cpu(DeviceType::CPU);
  const Tensor host = (mask.is_cpu() ? mask : mask.to(cpu)).contiguous();
  const uint8_t* m = static_cast<const uint8_t*>(host.data_ptr());
  const int64_t n = host.numel();
  const int64_t count = kernels::cpu::count_selected(m, n);
  const Shape sizes = mask.sizes();
  const size_t ndim = sizes.size();
  std::vector<Tensor> out;
  std::vector<int64_t*> coords(ndim);
  for (size_t d = 0; d < ndim; ++d) {
    // The innermost coordinates get a spare slot past the end (see below).
    const int64_t slots = d + 1 == ndim ? count + 1 : count;
    out.push_back(empty({slots}, TensorOptions().dtype(kInt64).device(cpu)));
    coords[d] = static_cast<int64_t*>(out.back().data_ptr());
  }
  // Row by row of the innermost dimension: the outer coordinates are fixed
  // along a row, and filled in after it. Every position is written at slot
  // k, which only a true element keeps (k advances past it): no branch on
  // the mask's values (a branch per element, mispredicted half the time on
  // a random mask, had taken self[row_mask] of 64 Ki rows of 16 float32 from
  // 0.23-0.24 to 0.47-0.48 ms). k never passes count, hence the spare slot.
  const int64_t row = sizes[ndim - 1];
  std::vector<int64_t> outer(ndim, 0);
  int64_t* const last = coords[ndim - 1];
  int64_t k = 0;
  for (int64_t base = 0; base < n && row > 0; base += row) {
    const uint8_t* r = m + base;
    const int64_t row_start = k;
    for (int64_t j = 0; j < row; ++j) {
      last[k] = j;
      k += r[j] != 0;
    }
    for (size_t d = 0; d + 1 < ndim; ++d) std::fill(coords[d] + row_start, coords[d] + k, outer[d]);
    for (size_t d = ndim - 1; d-- > 0;) {
      if (++outer[d] < sizes[d]) break;
      outer[d] = 0;
    }
  }
  out.back() = out.back().narrow(0, 0, count);
  if (device != cpu) {
    for (Tensor& t : out) t = t.to(device);
  }
  return out;
}

}  // namespace

AdvancedIndex make_advanced_index(const Tensor& self, const TensorIndices& indices) {
  const int64_t ndim = self.dim();
  // Borrowed pointers (no copies, no reference-count traffic); tensors made
  // here (mask coordinates, indices moved to self's device) live in `made`.
  constexpr size_t kInline = 16;  // ranks up to this need no allocation here
  const size_t rank = static_cast<size_t>(std::max<int64_t>(ndim, 0));
  const Tensor* inline_per_dim[kInline];  // the first `rank` are cleared below (not all 16: a rep stos per call)
  if (rank <= kInline) std::fill_n(inline_per_dim, rank, nullptr);
  std::vector<const Tensor*> heap_per_dim(rank > kInline ? rank : 0, nullptr);
  const std::span<const Tensor*> per_dim = rank > kInline ? std::span<const Tensor*>(heap_per_dim)
                                                          : std::span<const Tensor*>(inline_per_dim, rank);
  std::vector<Tensor> made;  // reserved before the first push: the pointers above stay valid
  const auto keep = [&](Tensor t) {
    if (made.capacity() == 0) made.reserve(rank);
    made.push_back(std::move(t));
    return &made.back();
  };
  int64_t position = 0;
  const auto too_many = [&](int64_t got) {
    STRATA_FAIL(IndexError, "too many indices for tensor of dimension {} (got {})", ndim, got);
  };
  // PyTorch's order: the number of entries, then every index's dtype, then
  // each mask's shape in turn, then the broadcast.
  if (indices.size() > rank) too_many(static_cast<int64_t>(indices.size()));
  for (const std::optional<Tensor>& entry : indices) {
    if (!entry || !entry->defined()) continue;
    const DType dtype = entry->dtype();
    STRATA_CHECK(dtype == kInt64 || dtype == kInt32 || dtype == kBool || dtype == kUInt8, IndexError,
                 "tensors used as indices must be long, int, byte or bool tensors");
  }
  for (const std::optional<Tensor>& entry : indices) {
    if (!entry || !entry->defined()) {
      ++position;
      continue;
    }
    const Tensor& t = *entry;
    if (t.dtype() == kBool || t.dtype() == kUInt8) {
      STRATA_CHECK(t.dim() > 0, NotSupportedError, "index_put_/index: 0-dim boolean masks are not supported");
      if (position + t.dim() > ndim) too_many(position + t.dim());
      for (int64_t j = 0; j < t.dim(); ++j) {
        STRATA_CHECK(t.size(j) == self.size(position + j), IndexError,
                     "The shape of the mask {} at index {} does not match the shape of the indexed tensor {} at "
                     "index {}",
                     shape_str(t.sizes()), j, shape_str(self.sizes()), position + j);
      }
      std::vector<Tensor> coords = mask_coordinates(t, self.device());
      for (int64_t j = 0; j < t.dim(); ++j) per_dim[static_cast<size_t>(position + j)] = keep(coords[static_cast<size_t>(j)]);
      position += t.dim();
    } else {
      if (position >= ndim) too_many(position + 1);
      if (t.device() != self.device()) {
        STRATA_CHECK(t.is_cpu(), DeviceError,
                     "indices should be either on cpu or on the same device as the indexed tensor ({}), got {}",
                     self.device().str(), t.device().str());
        per_dim[static_cast<size_t>(position)] = keep(t.to(self.device()));
      } else {
        per_dim[static_cast<size_t>(position)] = &t;
      }
      ++position;
    }
  }
  if (position > ndim) too_many(position);

  AdvancedIndex ai;
  ai.index_tensors.reserve(indices.size());
  ai.index_dims = detail::ShapeCache::take(0);  // recycled buffers: no malloc on small calls
  ai.index_dims.reserve(indices.size());
  for (int64_t d = 0; d < ndim; ++d) {
    if (per_dim[static_cast<size_t>(d)] != nullptr) {
      ai.index_tensors.push_back(*per_dim[static_cast<size_t>(d)]);
      ai.index_dims.push_back(d);
    }
  }
  STRATA_CHECK(ai.index_tensors.size() <= static_cast<size_t>(kernels::kMaxIndexOperands), NotSupportedError,
               "index_put_/index: at most {} index tensors are supported, got {}", kernels::kMaxIndexOperands,
               ai.index_tensors.size());

  // Broadcast the index shapes together (aligned from the right).
  Shape broadcast = detail::ShapeCache::take(0);
  if (!ai.index_tensors.empty()) broadcast.assign(ai.index_tensors.front().sizes().begin(), ai.index_tensors.front().sizes().end());
  for (const Tensor& t : ai.index_tensors) {
    const Shape& s = t.sizes();
    if (s == broadcast) continue;  // the usual case: equal shapes, nothing to merge
    Shape merged(std::max(broadcast.size(), s.size()), 1);
    bool ok = true;
    for (size_t i = 0; i < merged.size(); ++i) {
      const int64_t a = i < broadcast.size() ? broadcast[broadcast.size() - 1 - i] : 1;
      const int64_t b = i < s.size() ? s[s.size() - 1 - i] : 1;
      if (a != b && a != 1 && b != 1) ok = false;
      merged[merged.size() - 1 - i] = a == 1 ? b : a;
    }
    if (!ok) {
      std::vector<std::string> shapes;
      for (const Tensor& u : ai.index_tensors) shapes.push_back(shape_str(u.sizes()));
      STRATA_FAIL(IndexError, "shape mismatch: indexing tensors could not be broadcast together with shapes {}",
                  fmt::join(shapes, ", "));
    }
    broadcast = std::move(merged);
  }
  // PyTorch's rule (AdvancedIndex): a dimension of size 0 takes no index, so a
  // non-empty broadcast index shape into one is out of bounds, whatever the
  // values; an empty one indexes nothing. Checked here, before the values.
  if (!ai.index_tensors.empty() && std::find(broadcast.begin(), broadcast.end(), 0) == broadcast.end()) {
    for (const int64_t d : ai.index_dims) {
      STRATA_CHECK(self.sizes()[static_cast<size_t>(d)] != 0, IndexError,
                   "index is out of bounds for dimension with size 0");
    }
  }

  const int64_t element = static_cast<int64_t>(self.element_size());
  const size_t num_indices = ai.index_tensors.size();
  // The broadcast index dimensions, as IterDims (appended where they go).
  const auto append_index_part = [&] {
    for (size_t b = 0; b < broadcast.size(); ++b) {
      IterDim& dim = ai.dims.emplace_back();
      dim.size = broadcast[b];
      for (size_t k = 0; k < num_indices; ++k) {
        const Tensor& t = ai.index_tensors[k];
        const int64_t offset = static_cast<int64_t>(broadcast.size()) - t.dim();
        const int64_t j = static_cast<int64_t>(b) - offset;
        if (j < 0 || t.sizes()[static_cast<size_t>(j)] == 1) continue;  // j is a valid dim: no wrap_dim
        dim.index_strides[k] = t.strides()[static_cast<size_t>(j)] * static_cast<int64_t>(t.element_size());
      }
    }
  };
  const Shape& self_sizes = self.sizes();
  const Shape& self_strides = self.strides();
  const auto slice_dim = [&](int64_t d) {
    IterDim dim;
    dim.size = self_sizes[static_cast<size_t>(d)];
    dim.indexed_stride = self_strides[static_cast<size_t>(d)] * element;
    return dim;
  };
  const bool adjacent = num_indices == 0 ||
                        ai.index_dims.back() - ai.index_dims.front() + 1 == static_cast<int64_t>(num_indices);
  ai.dims.reserve(static_cast<size_t>(ndim) + broadcast.size());
  if (adjacent) {
    const int64_t first = num_indices == 0 ? ndim : ai.index_dims.front();
    const int64_t last = num_indices == 0 ? ndim - 1 : ai.index_dims.back();
    for (int64_t d = 0; d < first; ++d) ai.dims.push_back(slice_dim(d));
    append_index_part();
    for (int64_t d = last + 1; d < ndim; ++d) ai.dims.push_back(slice_dim(d));
  } else {
    append_index_part();
    for (int64_t d = 0; d < ndim; ++d) {
      if (per_dim[static_cast<size_t>(d)] == nullptr) ai.dims.push_back(slice_dim(d));
    }
  }
  ai.result_shape = detail::ShapeCache::take(0);
  ai.result_shape.reserve(ai.dims.size());
  for (const IterDim& d : ai.dims) ai.result_shape.push_back(d.size);
  detail::ShapeCache::give(std::move(broadcast));
  return ai;
}

AdvancedIndex::~AdvancedIndex() {
  detail::ShapeCache::give(std::move(index_dims));
  detail::ShapeCache::give(std::move(result_shape));
}

namespace {

/// The descriptor of self[indices] with everything but the direct operand set.
ScatterDesc advanced_index_desc(const Tensor& self, const AdvancedIndex& ai) {
  ScatterDesc d;
  set_indexed(d, self);
  d.wrap_negative = true;
  d.num_indices = static_cast<int>(ai.index_tensors.size());
  const int64_t element = static_cast<int64_t>(self.element_size());
  const Shape& sizes = self.sizes();
  const Shape& strides = self.strides();
  for (int k = 0; k < d.num_indices; ++k) {
    const Tensor& t = ai.index_tensors[static_cast<size_t>(k)];
    const auto dim = static_cast<size_t>(ai.index_dims[static_cast<size_t>(k)]);
    d.indices[k].data = static_cast<const char*>(t.data_ptr());
    d.indices[k].dtype = t.dtype();
    d.indices[k].dim_size = sizes[dim];
    d.indices[k].target_byte_stride = strides[dim] * element;
  }
  return d;
}

/// The bounds of every index tensor of `ai` (a local array, no allocation: at
/// most kMaxIndexOperands, checked earlier). Returns how many.
size_t advanced_bounds(const Tensor& self, const AdvancedIndex& ai, IndexBound* bounds) {
  const size_t count = std::min<size_t>(ai.index_tensors.size(), kernels::kMaxIndexOperands);
  const Shape& sizes = self.sizes();
  for (size_t k = 0; k < count; ++k) {
    const int64_t dim = ai.index_dims[k];
    bounds[k] = IndexBound{&ai.index_tensors[k], dim, sizes[static_cast<size_t>(dim)]};
  }
  return count;
}


/// PyTorch's masked-fill case of index_put_ (canDispatchToMaskedFill):
/// self[mask] = one value without accumulate, i.e. exactly one bool/uint8 mask
/// on self's device and no other index tensor, the value a Scalar (values
/// null) or a one-element CPU tensor.
bool is_masked_fill(const Tensor& self, const TensorIndices& indices, const Tensor* values, bool accumulate) {
  if (accumulate || (values != nullptr && (values->numel() != 1 || !values->is_cpu()))) return false;
  int masks = 0, others = 0;
  for (const std::optional<Tensor>& entry : indices) {
    if (!entry || !entry->defined()) continue;
    const bool mask = (entry->dtype() == kBool || entry->dtype() == kUInt8) && entry->device() == self.device();
    masks += mask ? 1 : 0;
    others += mask ? 0 : 1;
  }
  return masks == 1 && others == 0;
}

/// self[mask] = value on the CPU for a mask of self's whole shape, the common
/// form (t[t < 0] = 0): one elementwise pass, no coordinates of the true
/// elements are built. False, nothing done, for any other form.
bool masked_fill_in_place(const Tensor& self, const TensorIndices& indices, const Scalar& value) {
  if (indices.size() != 1 || !indices[0] || !indices[0]->defined()) return false;
  const Tensor& mask = *indices[0];
  if (mask.dim() == 0 || mask.sizes() != self.sizes()) return false;
  ops::assert_no_partial_overlap(self, mask);  // b[b] = false is fine, as in PyTorch
  detail::check_scalar_fits(value, self.dtype());
  alignas(8) unsigned char element[8] = {};
  detail::store_scalar(value, self.dtype(), element);
  const StridedOperand inputs[] = {operand_of(mask)};
  kernels::UninitializedDesc<kernels::ElementwiseDesc> storage;
  kernels::ElementwiseDesc& desc = storage.get();
  build_elementwise_desc(desc, operand_of(self), inputs, "index_put_");
  kernels::cpu::masked_fill(desc, element);
  return true;
}

const Tensor& index_put_impl(const Tensor& self, const TensorIndices& given_indices, const Tensor* values,
                             const Scalar* value, bool accumulate) {
  // Index tensors and values that alias self through views the overlap checks
  // cannot classify are read from copies taken now, before anything is
  // written (ops::read_before_writing); otherwise nothing is copied.
  TensorIndices copied;
  for (size_t k = 0; k < given_indices.size(); ++k) {
    const std::optional<Tensor>& entry = given_indices[k];
    if (!entry || !entry->defined()) continue;
    Tensor read = ops::read_before_writing(self, *entry);
    if (read.is_same(*entry)) continue;
    if (copied.empty()) copied = given_indices;
    copied[k] = std::move(read);
  }
  const TensorIndices& indices = copied.empty() ? given_indices : copied;
  Tensor values_read;
  if (values != nullptr) {
    values_read = ops::read_before_writing(self, *values);
    values = &values_read;
  }
  const auto check_value_dtype = [&] {
    STRATA_CHECK(values->dtype() == self.dtype(), DTypeError,
                 "Index put requires the source and destination dtypes match, got {} for the destination and {} "
                 "for the source.",
                 type_name(self.dtype()), type_name(values->dtype()));
  };
  const bool masked_fill = is_masked_fill(self, indices, values, accumulate);
  if (values != nullptr && masked_fill) {
    // PyTorch hands this to masked_fill_(mask, values.item()): the value's
    // dtype and shape do not matter.
    const Scalar item = values->item();
    return index_put_impl(self, indices, nullptr, &item, /*accumulate=*/false);
  }
  if (values == nullptr && masked_fill && self.is_cpu() && masked_fill_in_place(self, indices, *value)) return self;
  if (values != nullptr) {
    if (values->dim() == 0 && values->device() != self.device()) {
      check_value_dtype();
      // PyTorch moves a 0-dim value to self's device; its one element is a
      // scalar argument of the kernel here, so nothing is copied.
      const Scalar value = values->item();
      return index_put_impl(self, indices, nullptr, &value, accumulate);
    }
    check_same_device(self, *values);
  }
  // Overlaps first, in PyTorch's order: the values, then the indices as
  // given (a bool mask becomes fresh coordinate tensors below, but writing
  // through self while reading the mask is still an overlap). One exception,
  // PyTorch's: self[mask] = one value, without accumulate, is masked_fill_,
  // which refuses only a partial overlap (`b[b] = false` works: the
  // coordinates are taken before anything is written).
  if (values != nullptr) ops::assert_no_overlap(self, *values);
  for (const std::optional<Tensor>& entry : indices) {
    if (!entry || !entry->defined()) continue;
    if (masked_fill) {
      ops::assert_no_partial_overlap(self, *entry);
    } else {
      ops::assert_no_overlap(self, *entry);
    }
  }
  AdvancedIndex ai = make_advanced_index(self, indices);
  std::vector<IterDim>& dims = ai.dims;  // ai is ours: the values' strides go straight in
  if (values != nullptr) {
    const Shape& vs = values->sizes();
    const Shape& rs = ai.result_shape;
    bool ok = vs.size() <= rs.size();
    for (size_t i = 0; ok && i < vs.size(); ++i) {
      const int64_t v = vs[vs.size() - 1 - i];
      const int64_t r = rs[rs.size() - 1 - i];
      if (v != r && v != 1) ok = false;
    }
    STRATA_CHECK(ok, ShapeError, "shape mismatch: value tensor of shape {} cannot be broadcast to indexing result of shape {}",
                 shape_str(vs), shape_str(rs));
    check_value_dtype();  // after the shape, in PyTorch's order
    const int64_t element = static_cast<int64_t>(values->element_size());
    for (size_t i = 0; i < vs.size(); ++i) {
      const size_t r = rs.size() - vs.size() + i;
      dims[r].direct_stride = vs[i] == 1 ? 0 : values->stride(static_cast<int64_t>(i)) * element;
    }
  }

  ScatterDesc d = advanced_index_desc(self, ai);
  set_iteration_space(d, dims);
  if (values != nullptr) {
    d.direct = static_cast<char*>(values->data_ptr());
  } else {
    set_scalar(d, *value, self.dtype());
  }
  d.reduce = accumulate ? ScatterReduce::Add : ScatterReduce::Assign;
  // An empty result writes nothing and, as in PyTorch (whose kernel loops over
  // the result), no index value is checked; index() does the same.
  if (d.numel == 0) return self;
  IndexBound bounds[kernels::kMaxIndexOperands];
  run_checked_scatter_update(d, self.device(), bounds, advanced_bounds(self, ai, bounds), /*allow_negative=*/true);
  return self;
}

}  // namespace

}  // namespace strata::ops

namespace strata {

const Tensor& Tensor::index_put_(const TensorIndices& indices, const Tensor& values, bool accumulate) const {
  return ops::index_put_impl(*this, indices, &values, nullptr, accumulate);
}

const Tensor& Tensor::index_put_(const TensorIndices& indices, const Scalar& value, bool accumulate) const {
  // A Scalar argument becomes a value of self's dtype before anything else
  // (PyTorch's t[i] = v converts v first): a value the dtype cannot hold is
  // refused even where an index is bad too. A tensor's element taken as a
  // scalar (masked fill, a 0-dim value on another device) is converted where
  // PyTorch converts it, after the indices are checked (set_scalar).
  detail::check_scalar_fits(value, dtype());
  return ops::index_put_impl(*this, indices, nullptr, &value, accumulate);
}

Tensor Tensor::index_put(const TensorIndices& indices, const Tensor& values, bool accumulate) const {
  Tensor out = clone();
  out.index_put_(indices, values, accumulate);
  return out;
}

Tensor Tensor::index_put(const TensorIndices& indices, const Scalar& value, bool accumulate) const {
  Tensor out = clone();
  out.index_put_(indices, value, accumulate);
  return out;
}

Tensor Tensor::index(const TensorIndices& indices) const {
  // self[mask] with a mask of self's whole shape, both dense on the CPU: the
  // selected elements copied in order (PyTorch's masked_select), no
  // coordinates built.
  if (indices.size() == 1 && indices[0] && indices[0]->defined() && is_cpu()) {
    const Tensor& mask = *indices[0];
    if ((mask.dtype() == kBool || mask.dtype() == kUInt8) && mask.is_cpu() && mask.dim() > 0 &&
        mask.sizes() == sizes() && mask.is_contiguous() && is_contiguous()) {
      const auto* bytes = static_cast<const uint8_t*>(mask.data_ptr());
      Tensor out = empty({kernels::cpu::count_selected(bytes, numel())}, TensorOptions().dtype(dtype()).device(device()));
      kernels::cpu::masked_select(static_cast<const char*>(data_ptr()), bytes, numel(), element_size(),
                                  static_cast<char*>(out.data_ptr()));
      return out;
    }
  }
  ops::AdvancedIndex ai = ops::make_advanced_index(*this, indices);
  Tensor out = empty(ai.result_shape, TensorOptions().dtype(dtype()).device(device()));
  if (out.numel() == 0) return out;
  kernels::ScatterDesc d = ops::advanced_index_desc(*this, ai);
  std::vector<ops::scatter_detail::IterDim> dims = ai.dims;
  const int64_t element = static_cast<int64_t>(element_size());
  for (size_t i = 0; i < dims.size(); ++i) dims[i].direct_stride = out.stride(static_cast<int64_t>(i)) * element;
  ops::scatter_detail::set_iteration_space(d, dims);
  d.direct = static_cast<char*>(out.data_ptr());
  ops::scatter_detail::IndexBound bounds[kernels::kMaxIndexOperands];
  ops::scatter_detail::run_checked_gather(d, device(), bounds, ops::advanced_bounds(*this, ai, bounds),
                                          /*allow_negative=*/true);
  return out;
}

Tensor index_put(const Tensor& self, const TensorIndices& indices, const Tensor& values, bool accumulate) {
  return self.index_put(indices, values, accumulate);
}

Tensor index_put(const Tensor& self, const TensorIndices& indices, const Scalar& value, bool accumulate) {
  return self.index_put(indices, value, accumulate);
}

Tensor index(const Tensor& self, const TensorIndices& indices) { return self.index(indices); }

}  // namespace strata
