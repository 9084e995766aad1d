// Factories: new tensors from the device's caching allocator.
#pragma once

#include <initializer_list>
#include <memory>
#include <type_traits>
#include <vector>

#include "strata/tensor.h"

namespace strata {

/// Uninitialized memory of the given shape. Throws ShapeError for a negative size
/// or an element count that overflows int64, OutOfMemoryError, DeviceError.
STRATA_API Tensor empty(const Shape& sizes, const TensorOptions& options = {});
STRATA_API Tensor zeros(const Shape& sizes, const TensorOptions& options = {});
STRATA_API Tensor ones(const Shape& sizes, const TensorOptions& options = {});
STRATA_API Tensor full(const Shape& sizes, const Scalar& value, const TensorOptions& options = {});
/// [start, end) in steps of `step`; Int64 when all arguments are integral and no
/// dtype is given, else Float32.
STRATA_API Tensor arange(const Scalar& end, const TensorOptions& options = {});
STRATA_API Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step = 1,
                         const TensorOptions& options = {});
/// Same shape, dtype and device as `like` unless `options` say otherwise.
STRATA_API Tensor empty_like(const Tensor& like, const TensorOptions& options = {});
STRATA_API Tensor zeros_like(const Tensor& like, const TensorOptions& options = {});
STRATA_API Tensor ones_like(const Tensor& like, const TensorOptions& options = {});
STRATA_API Tensor full_like(const Tensor& like, const Scalar& value, const TensorOptions& options = {});

/// Nested initializer-list data for tensor(): `tensor({{1, 2}, {3, 4}})`.
/// Integers give Int64, floating values Float32 (PyTorch's default dtype), bools
/// Bool. Ragged lists throw ShapeError.
class STRATA_API TensorData {
 public:
  TensorData(bool v) : scalar_(v), is_scalar_(true) {}
  template <typename T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, int> = 0>
  TensorData(T v) : scalar_(v), is_scalar_(true) {}
  TensorData(std::initializer_list<TensorData> items) : items_(items), is_scalar_(false) {}

  bool is_scalar() const noexcept { return is_scalar_; }
  const Scalar& scalar() const noexcept { return scalar_; }
  const std::vector<TensorData>& items() const noexcept { return items_; }

 private:
  Scalar scalar_;
  std::vector<TensorData> items_;
  bool is_scalar_;
};

/// A tensor from nested lists; the dtype is inferred unless options give one.
STRATA_API Tensor tensor(const TensorData& data, const TensorOptions& options = {});

/// A tensor of `shape` holding `values` (row-major); dtype from T unless options
/// give one. Throws ShapeError when the element counts differ.
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions options = {});
/// 1-D tensor of the values.
template <typename T>
Tensor from_vector(const std::vector<T>& values, TensorOptions options = {}) {
  return from_vector(values, Shape{static_cast<int64_t>(values.size())}, options);
}

namespace detail {
STRATA_API Tensor from_host_data(const void* data, DType data_dtype, const Shape& shape,
                                 const TensorOptions& options);
/// Throws ShapeError unless `count` values fill `shape` exactly.
STRATA_API void check_from_vector_count(size_t count, const Shape& shape);
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape, TensorOptions options) {
  detail::check_from_vector_count(values.size(), shape);
  if (!options.has_dtype()) options = options.dtype(dtype_of<T>);
  if constexpr (std::is_same_v<T, bool>) {
    std::vector<uint8_t> bytes(values.begin(), values.end());
    return detail::from_host_data(bytes.data(), kBool, shape, options);
  } else {
    return detail::from_host_data(values.data(), dtype_of<T>, shape, options);
  }
}

}  // namespace strata
