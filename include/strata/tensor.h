// Tensor: a handle to sizes, strides, a storage offset, a dtype and a Storage.
// Copying a Tensor shares the tensor (as in libtorch); views share the storage.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "strata/device.h"
#include "strata/dtype.h"
#include "strata/export.h"
#include "strata/scalar.h"
#include "strata/storage.h"
#include "strata/tensor_options.h"

namespace strata {

namespace cuda {
class Stream;
}

/// Sizes or strides, in elements.
using Shape = std::vector<int64_t>;

class Tensor;
/// Index tensors for index/index_put_: one entry per leading dimension of self;
/// std::nullopt takes the whole dimension (PyTorch's None / ':').
using TensorIndices = std::vector<std::optional<Tensor>>;

/// A strided view of a Storage. In-place methods (ending in '_') are const
/// because they change the data, not the handle; they never move the storage.
/// Methods that take another tensor require it on the same device (DeviceError).
class STRATA_API Tensor {
 public:
  /// An undefined tensor (defined() is false).
  Tensor();
  Tensor(const Tensor&);
  Tensor(Tensor&&) noexcept;
  Tensor& operator=(const Tensor&);
  Tensor& operator=(Tensor&&) noexcept;
  ~Tensor();

  /// A tensor over `storage` with the given geometry. Throws ShapeError when the
  /// view does not fit in the storage or a size or stride is negative.
  Tensor(Storage storage, Shape sizes, Shape strides, int64_t storage_offset, DType dtype);

  // ---- accessors ---------------------------------------------------------------
  bool defined() const noexcept { return impl_ != nullptr; }
  const Shape& sizes() const;
  const Shape& strides() const;
  /// Size and stride of one dimension; negative dims count from the end.
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int64_t dim() const;
  int64_t numel() const;
  DType dtype() const;
  Device device() const;
  int64_t storage_offset() const;
  size_t element_size() const;
  /// numel() * element_size().
  size_t nbytes() const;
  const Storage& storage() const;
  /// Address of the first element (storage data + offset * element size).
  void* data_ptr() const;
  /// Typed address; throws DTypeError when T is not the tensor's dtype.
  template <typename T> T* data_ptr() const {
    check_dtype_for_access(dtype_of<std::remove_cv_t<T>>, "data_ptr");
    return static_cast<T*>(data_ptr());
  }
  /// True for row-major dense layout (size-1 dimensions may have any stride).
  bool is_contiguous() const;
  bool is_cuda() const { return device().is_cuda(); }
  bool is_cpu() const { return device().is_cpu(); }
  /// Whether two handles refer to the same tensor (not merely the same storage).
  bool is_same(const Tensor& other) const noexcept { return impl_ == other.impl_; }

  // ---- views (share storage; throw ShapeError / IndexError on bad arguments) ----
  /// Same data, new shape; one size may be -1. Requires compatible strides.
  Tensor view(Shape shape) const;
  /// A view when the strides allow, otherwise a contiguous copy.
  Tensor reshape(Shape shape) const;
  /// Removes dimension `dim`, taking entry `index` (negative wraps).
  Tensor select(int64_t dim, int64_t index) const;
  /// Entries start, start+step, ... < end along `dim`; start/end clamp like Python.
  Tensor slice(int64_t dim, int64_t start = 0,
               int64_t end = std::numeric_limits<int64_t>::max(), int64_t step = 1) const;
  /// `length` entries from `start` along `dim` (must be in range).
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  /// transpose(0, 1) for a tensor of at most 2 dims.
  Tensor t() const;
  Tensor permute(Shape dims) const;
  /// Broadcasts size-1 dimensions to `sizes` (stride 0); -1 keeps a size.
  Tensor expand(Shape sizes) const;
  /// expand(other.sizes()).
  Tensor expand_as(const Tensor& other) const;
  Tensor unsqueeze(int64_t dim) const;
  /// Removes all size-1 dimensions, or only `dim` when it has size 1.
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  /// Merges dims start_dim..end_dim (a view when possible, else a copy).
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  /// Any geometry over this tensor's storage; must stay within the storage.
  Tensor as_strided(Shape sizes, Shape strides, std::optional<int64_t> storage_offset = std::nullopt) const;

  // ---- copies and conversions --------------------------------------------------
  /// This tensor if already contiguous, else a contiguous copy.
  Tensor contiguous() const;
  /// A new contiguous tensor with the same values.
  Tensor clone() const;
  /// A copy on `device` (this tensor itself when already there). CPU→CUDA and
  /// CUDA→CPU copies run on the current stream; a copy to the CPU synchronizes.
  Tensor to(Device device) const;
  /// A copy converted to `dtype` (this tensor itself when already that type).
  Tensor to(DType dtype) const;
  Tensor to(Device device, DType dtype) const;
  /// Copies src into this tensor in place, broadcasting src and converting
  /// between any dtypes and devices. Returns *this.
  const Tensor& copy_(const Tensor& src) const;
  /// The elements in row-major order, converted to T, on the host.
  template <typename T> std::vector<T> to_vector() const {
    if constexpr (std::is_same_v<T, bool>) {  // std::vector<bool> has no data()
      std::vector<uint8_t> bytes(static_cast<size_t>(numel()));
      copy_to_host(bytes.data(), dtype_of<bool>);
      return std::vector<bool>(bytes.begin(), bytes.end());
    } else {
      std::vector<T> out(static_cast<size_t>(numel()));
      copy_to_host(out.data(), dtype_of<T>);
      return out;
    }
  }
  /// The single element (numel() must be 1, else ShapeError).
  Scalar item() const;
  template <typename T> T item() const { return item().to<T>(); }

  // ---- fill and add (zeros, broadcasting add, in-place add_) --------------------
  const Tensor& zero_() const;
  const Tensor& fill_(const Scalar& value) const;
  /// self + alpha * other, broadcast, in the promoted dtype.
  Tensor add(const Tensor& other, const Scalar& alpha = 1) const;
  Tensor add(const Scalar& other, const Scalar& alpha = 1) const;
  /// self += alpha * other. Self is never broadcast; the promoted type must be
  /// castable to self's dtype. data_ptr() and storage() stay the same.
  const Tensor& add_(const Tensor& other, const Scalar& alpha = 1) const;
  const Tensor& add_(const Scalar& other, const Scalar& alpha = 1) const;
  const Tensor& operator+=(const Tensor& other) const;
  const Tensor& operator+=(const Scalar& other) const;

  // ---- scatter family (indices are checked before anything is written) ----------
  const Tensor& scatter_(int64_t dim, const Tensor& index, const Tensor& src) const;
  const Tensor& scatter_(int64_t dim, const Tensor& index, const Scalar& value) const;
  const Tensor& scatter_add_(int64_t dim, const Tensor& index, const Tensor& src) const;
  /// reduce: "sum", "prod", "mean", "amax" or "amin".
  const Tensor& scatter_reduce_(int64_t dim, const Tensor& index, const Tensor& src,
                                std::string_view reduce, bool include_self = true) const;
  Tensor gather(int64_t dim, const Tensor& index) const;
  /// self[indices] = values (or += with accumulate).
  const Tensor& index_put_(const TensorIndices& indices, const Tensor& values,
                           bool accumulate = false) const;
  const Tensor& index_put_(const TensorIndices& indices, const Scalar& value,
                           bool accumulate = false) const;
  /// Advanced-index read: self[indices].
  Tensor index(const TensorIndices& indices) const;
  /// self.select(dim, index[i]) += alpha * source.select(dim, i).
  const Tensor& index_add_(int64_t dim, const Tensor& index, const Tensor& source,
                           const Scalar& alpha = 1) const;

  Tensor scatter(int64_t dim, const Tensor& index, const Tensor& src) const;
  Tensor scatter(int64_t dim, const Tensor& index, const Scalar& value) const;
  Tensor scatter_add(int64_t dim, const Tensor& index, const Tensor& src) const;
  Tensor scatter_reduce(int64_t dim, const Tensor& index, const Tensor& src,
                        std::string_view reduce, bool include_self = true) const;
  Tensor index_put(const TensorIndices& indices, const Tensor& values, bool accumulate = false) const;
  Tensor index_put(const TensorIndices& indices, const Scalar& value, bool accumulate = false) const;
  Tensor index_add(int64_t dim, const Tensor& index, const Tensor& source,
                   const Scalar& alpha = 1) const;

  // ---- streams -----------------------------------------------------------------
  /// Marks that `stream` uses this tensor's memory: when the storage is freed,
  /// the pool reuses it only after the work queued on `stream` has completed.
  void record_stream(const cuda::Stream& stream) const;

  /// PyTorch-style text: `tensor([[1., 2.], [3., 4.]], device='cuda:0')`.
  std::string to_string() const;

 private:
  struct Impl;
  explicit Tensor(std::shared_ptr<Impl> impl);
  void check_dtype_for_access(DType requested, const char* what) const;
  void copy_to_host(void* out, DType out_dtype) const;
  const Impl& impl() const;
  std::shared_ptr<Impl> impl_;
  friend struct TensorAccess;
};

STRATA_API std::ostream& operator<<(std::ostream& os, const Tensor& t);

STRATA_API Tensor operator+(const Tensor& a, const Tensor& b);
STRATA_API Tensor operator+(const Tensor& a, const Scalar& b);
STRATA_API Tensor operator+(const Scalar& a, const Tensor& b);

}  // namespace strata
