// Tensor: the handle, its accessors, and conversions built on copy_.
#include "strata/tensor.h"

#include <ostream>

#include "src/core/check.h"
#include "src/core/recycling_allocator.h"
#include "src/core/scalar_convert.h"
#include "src/core/shape_util.h"
#include "src/core/tensor_impl.h"
#include "src/ops/elementwise_iter.h"
#include "kernels/cpu/copy.h"
#include "strata/cuda.h"
#include "strata/factories.h"
#include "strata/memory.h"

namespace strata {

namespace {

// Every geometry that reaches a Tensor passes through here: sizes and strides
// agree, nothing is negative and the last element lies inside the storage.
void check_geometry(const Storage& storage, const Shape& sizes, const Shape& strides, int64_t offset,
                    DType dtype) {
  STRATA_CHECK(storage.defined(), ValueError, "Tensor: storage is undefined");
  STRATA_CHECK(sizes.size() == strides.size(), ShapeError,
               "mismatch in length of strides and shape");
  const int64_t numel = detail::checked_numel(sizes);
  for (const int64_t stride : strides) {
    STRATA_CHECK(stride >= 0, ShapeError, "as_strided: Negative strides are not supported at the moment, got strides: {}",
                 detail::shape_str(strides));
  }
  STRATA_CHECK(offset >= 0, ShapeError, "Tensor: invalid storage offset {}", offset);
  if (numel == 0) return;
  // Bytes needed: (offset + largest element offset + 1) * itemsize, checked for overflow.
  int64_t last = offset;
  bool overflow = false;
  for (size_t i = 0; i < sizes.size(); ++i) {
    int64_t span = 0;
    overflow = __builtin_mul_overflow(sizes[i] - 1, strides[i], &span) || overflow;
    overflow = __builtin_add_overflow(last, span, &last) || overflow;
  }
  int64_t required = 0;
  overflow = __builtin_add_overflow(last, int64_t{1}, &last) || overflow;
  overflow = __builtin_mul_overflow(last, static_cast<int64_t>(element_size(dtype)), &required) || overflow;
  STRATA_CHECK(!overflow && static_cast<uint64_t>(required) <= storage.nbytes(), ShapeError,
               "setStorage: sizes {}, strides {}, storage offset {}, and itemsize {} requiring a storage size of "
               "{} are out of bounds for storage of size {}",
               detail::shape_str(sizes), detail::shape_str(strides), offset, element_size(dtype),
               overflow ? std::string("more than 2^63") : std::to_string(required), storage.nbytes());
}

}  // namespace

Tensor::Tensor() = default;
Tensor::Tensor(const Tensor&) = default;
Tensor::Tensor(Tensor&&) noexcept = default;
Tensor& Tensor::operator=(const Tensor&) = default;
Tensor& Tensor::operator=(Tensor&&) noexcept = default;
Tensor::~Tensor() = default;

Tensor::Tensor(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Tensor::Tensor(Storage storage, Shape sizes, Shape strides, int64_t storage_offset, DType dtype) {
  check_geometry(storage, sizes, strides, storage_offset, dtype);
  auto impl = std::allocate_shared<Impl>(detail::RecyclingAllocator<Impl>());
  impl->numel = detail::numel_of(sizes);
  impl->storage = std::move(storage);
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->storage_offset = storage_offset;
  impl->dtype = dtype;
  impl_ = std::move(impl);
}

Tensor TensorAccess::make(Storage storage, Shape sizes, Shape strides, int64_t offset, DType dtype) {
  return Tensor(std::move(storage), std::move(sizes), std::move(strides), offset, dtype);
}

Tensor TensorAccess::make_unchecked(Storage storage, Shape sizes, Shape strides, int64_t offset, DType dtype) {
  auto impl = std::allocate_shared<Tensor::Impl>(detail::RecyclingAllocator<Tensor::Impl>());
  impl->numel = detail::numel_of(sizes);
  impl->storage = std::move(storage);
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->storage_offset = offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

const Tensor::Impl& Tensor::impl() const {
  STRATA_CHECK(impl_ != nullptr, ValueError, "the tensor is undefined");
  return *impl_;
}

const Shape& Tensor::sizes() const { return impl().sizes; }
const Shape& Tensor::strides() const { return impl().strides; }

int64_t Tensor::size(int64_t dim) const {
  const Impl& i = impl();
  return i.sizes[detail::wrap_dim(dim, static_cast<int64_t>(i.sizes.size()), /*wrap_scalar=*/false)];
}

int64_t Tensor::stride(int64_t dim) const {
  const Impl& i = impl();
  return i.strides[detail::wrap_dim(dim, static_cast<int64_t>(i.sizes.size()), /*wrap_scalar=*/false)];
}

int64_t Tensor::dim() const { return static_cast<int64_t>(impl().sizes.size()); }
int64_t Tensor::numel() const { return impl().numel; }
DType Tensor::dtype() const { return impl().dtype; }
Device Tensor::device() const { return impl().storage.device(); }
int64_t Tensor::storage_offset() const { return impl().storage_offset; }
size_t Tensor::element_size() const { return strata::element_size(impl().dtype); }
size_t Tensor::nbytes() const { return static_cast<size_t>(impl().numel) * element_size(); }
const Storage& Tensor::storage() const { return impl().storage; }

void* Tensor::data_ptr() const {
  const Impl& i = impl();
  char* base = static_cast<char*>(i.storage.data());
  if (base == nullptr) return nullptr;
  return base + i.storage_offset * static_cast<int64_t>(strata::element_size(i.dtype));
}

bool Tensor::is_contiguous() const {
  const Impl& i = impl();
  return detail::is_contiguous_layout(i.sizes, i.strides);
}

void Tensor::check_dtype_for_access(DType requested, const char* what) const {
  STRATA_CHECK(requested == dtype(), DTypeError, "{}: expected scalar type {} but found {}", what,
               type_name(requested), type_name(dtype()));
}

Scalar Tensor::item() const {
  STRATA_CHECK(numel() == 1, ShapeError, "a Tensor with {} elements cannot be converted to Scalar", numel());
  alignas(8) unsigned char element[8] = {};
  copy_to_host(element, dtype());
  return detail::load_scalar(element, dtype());
}

void Tensor::copy_to_host(void* out, DType out_dtype) const {
  if (numel() == 0) return;
  // A CUDA tensor comes over in its own dtype (synchronizing); the conversion
  // and the gather into row-major order happen on the host.
  const Tensor host = is_cpu() ? *this : to(kCPU);
  const Shape out_strides = detail::contiguous_strides(host.sizes());
  const ops::StridedOperand out_operand{static_cast<char*>(out), out_dtype, host.sizes(), out_strides};
  const ops::StridedOperand in_operand = ops::operand_of(host);
  const kernels::ElementwiseDesc desc = ops::make_elementwise_desc(out_operand, {&in_operand, 1});
  kernels::cpu::copy(desc);
}

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  Tensor out = empty(sizes(), TensorOptions().dtype(dtype()).device(device()));
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(Device device) const { return to(device, dtype()); }
Tensor Tensor::to(DType dtype) const { return to(device(), dtype); }

Tensor Tensor::to(Device device, DType dtype) const {
  if (device == this->device() && dtype == this->dtype()) return *this;
  Tensor out = empty(sizes(), TensorOptions().dtype(dtype).device(device));
  out.copy_(*this);
  return out;
}

void Tensor::record_stream(const cuda::Stream& stream) const {
  const Storage& s = storage();
  STRATA_CHECK(device() == stream.device(), DeviceError,
               "record_stream: the tensor is on {} but the stream is on {}", device().str(), stream.device().str());
  if (s.allocator() == nullptr || s.data() == nullptr) return;
  s.allocator()->record_stream(s.data(), stream.handle());
}

}  // namespace strata
