// Factories: new tensors from the device's caching allocator.
#include "strata/factories.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/copy.h"
#include "src/core/check.h"
#include "src/core/scalar_convert.h"
#include "src/core/shape_util.h"
#include "src/core/tensor_impl.h"
#include "src/ops/elementwise_iter.h"

namespace strata {

namespace {

DType dtype_or(const TensorOptions& options, DType fallback) {
  return options.has_dtype() ? options.dtype() : fallback;
}

Device device_or(const TensorOptions& options, const Device& fallback) {
  return options.has_device() ? options.device() : fallback;
}

}  // namespace

Tensor empty(const Shape& sizes, const TensorOptions& options) {
  const int64_t numel = detail::checked_numel(sizes);
  const DType dtype = options.dtype();
  int64_t nbytes = 0;
  STRATA_CHECK(!__builtin_mul_overflow(numel, static_cast<int64_t>(element_size(dtype)), &nbytes), ShapeError,
               "Trying to create tensor with shape {} and dtype {}: the size in bytes overflows int64",
               detail::shape_str(sizes), to_string(dtype));
  Storage storage = Storage::allocate(static_cast<size_t>(nbytes), options.device());
  Shape shape = detail::ShapeCache::take(sizes.size());
  std::copy(sizes.begin(), sizes.end(), shape.begin());
  Shape strides = detail::ShapeCache::take(sizes.size());
  detail::fill_contiguous_strides(sizes, strides);
  return TensorAccess::make_unchecked(std::move(storage), std::move(shape), std::move(strides), 0, dtype);
}

Tensor zeros(const Shape& sizes, const TensorOptions& options) {
  Tensor t = empty(sizes, options);
  t.zero_();
  return t;
}

Tensor ones(const Shape& sizes, const TensorOptions& options) {
  // Float32 unless options say otherwise (unlike full, whose value picks the dtype).
  Tensor t = empty(sizes, options);
  t.fill_(1);
  return t;
}

Tensor full(const Shape& sizes, const Scalar& value, const TensorOptions& options) {
  // As torch.full: without a dtype, the value's kind decides (bool, int64, float32).
  Tensor t = empty(sizes, options.dtype(dtype_or(options, value.dtype())));
  t.fill_(value);
  return t;
}

Tensor arange(const Scalar& end, const TensorOptions& options) { return arange(0, end, 1, options); }

Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, const TensorOptions& options) {
  const bool all_integral = !start.is_floating_point() && !end.is_floating_point() && !step.is_floating_point();
  const DType dtype = dtype_or(options, all_integral ? kInt64 : kFloat32);
  const double start_value = start.to_double();
  const double end_value = end.to_double();
  const double step_value = step.to_double();
  STRATA_CHECK(std::isfinite(start_value) && std::isfinite(end_value), ValueError,
               "unsupported range: {} -> {}", start_value, end_value);
  STRATA_CHECK(step_value != 0.0, ValueError, "step must be nonzero");
  STRATA_CHECK((step_value > 0 && end_value >= start_value) || (step_value < 0 && end_value <= start_value),
               ValueError, "upper bound and larger bound inconsistent with step sign");
  // In 128 bits (integral) or checked before the cast (floating): b - a + s - 1
  // overflows int64 for wide ranges or huge steps.
  int64_t length = 0;
  if (all_integral) {
    const __int128 a = start.to_int64(), b = end.to_int64(), s = step.to_int64();
    const __int128 count = s > 0 ? (b - a + s - 1) / s : (a - b - s - 1) / (-s);
    STRATA_CHECK(count <= std::numeric_limits<int64_t>::max(), ValueError, "invalid size, possible overflow?");
    length = static_cast<int64_t>(count);
  } else {
    const double count = std::ceil((end_value - start_value) / step_value);
    STRATA_CHECK(count >= 0 && count < 0x1p63, ValueError, "invalid size, possible overflow?");
    length = static_cast<int64_t>(count);
  }
  // Values are computed on the host in int64 (integral arguments) or double,
  // then converted to the dtype.
  if (all_integral) {
    std::vector<int64_t> values(static_cast<size_t>(length));
    // i * step alone may leave int64 (a range across zero); the sum never does.
    const uint64_t first = static_cast<uint64_t>(start.to_int64()), stride = static_cast<uint64_t>(step.to_int64());
    for (int64_t i = 0; i < length; ++i) values[i] = static_cast<int64_t>(first + static_cast<uint64_t>(i) * stride);
    return detail::from_host_data(values.data(), kInt64, {length}, options.dtype(dtype));
  }
  std::vector<double> values(static_cast<size_t>(length));
  for (int64_t i = 0; i < length; ++i) values[i] = start_value + static_cast<double>(i) * step_value;
  return detail::from_host_data(values.data(), kFloat64, {length}, options.dtype(dtype));
}

Tensor empty_like(const Tensor& like, const TensorOptions& options) {
  return empty(like.sizes(), TensorOptions().dtype(dtype_or(options, like.dtype())).device(device_or(options, like.device())));
}

Tensor zeros_like(const Tensor& like, const TensorOptions& options) {
  Tensor t = empty_like(like, options);
  t.zero_();
  return t;
}

Tensor ones_like(const Tensor& like, const TensorOptions& options) { return full_like(like, 1, options); }

Tensor full_like(const Tensor& like, const Scalar& value, const TensorOptions& options) {
  Tensor t = empty_like(like, options);
  t.fill_(value);
  return t;
}

namespace {

void infer_shape(const TensorData& data, size_t depth, Shape& shape) {
  if (data.is_scalar()) return;
  shape.push_back(static_cast<int64_t>(data.items().size()));
  if (!data.items().empty()) infer_shape(data.items().front(), depth + 1, shape);
}

// Collects the scalars in row-major order, checking that the lists are not ragged.
void flatten_data(const TensorData& data, const Shape& shape, size_t depth, std::vector<Scalar>& out) {
  if (depth == shape.size()) {
    STRATA_CHECK(data.is_scalar(), ShapeError, "expected a number at dim {} but got a sequence", depth);
    out.push_back(data.scalar());
    return;
  }
  STRATA_CHECK(!data.is_scalar(), ShapeError, "expected sequence of length {} at dim {} (got a number)", shape[depth],
               depth);
  STRATA_CHECK(static_cast<int64_t>(data.items().size()) == shape[depth], ShapeError,
               "expected sequence of length {} at dim {} (got {})", shape[depth], depth, data.items().size());
  for (const TensorData& item : data.items()) flatten_data(item, shape, depth + 1, out);
}

}  // namespace

Tensor tensor(const TensorData& data, const TensorOptions& options) {
  Shape shape;
  infer_shape(data, 0, shape);
  std::vector<Scalar> scalars;
  flatten_data(data, shape, 0, scalars);
  // As torch.tensor: any float makes Float32, else any int makes Int64, else Bool.
  DType inferred = scalars.empty() ? kFloat32 : kBool;
  for (const Scalar& s : scalars) {
    if (s.is_floating_point()) {
      inferred = kFloat32;
      break;
    }
    if (s.is_integral()) inferred = kInt64;
  }
  const DType dtype = dtype_or(options, inferred);
  std::vector<unsigned char> bytes(scalars.size() * element_size(dtype));
  for (size_t i = 0; i < scalars.size(); ++i) detail::store_scalar(scalars[i], dtype, bytes.data() + i * element_size(dtype));
  return detail::from_host_data(bytes.data(), dtype, shape, options.dtype(dtype));
}

namespace detail {

void check_from_vector_count(size_t count, const Shape& shape) {
  const int64_t numel = checked_numel(shape);
  STRATA_CHECK(static_cast<int64_t>(count) == numel, ShapeError, "from_vector: {} values cannot fill a tensor of shape {}",
               count, shape_str(shape));
}

Tensor from_host_data(const void* data, DType data_dtype, const Shape& shape, const TensorOptions& options) {
  const int64_t numel = checked_numel(shape);
  const Device device = options.device();
  check_device_usable(device);
  const DType dtype = dtype_or(options, data_dtype);
  Tensor host = empty(shape, TensorOptions().dtype(dtype).device(kCPU));
  if (numel > 0) {
    const Shape strides = contiguous_strides(shape);
    const ops::StridedOperand in{static_cast<char*>(const_cast<void*>(data)), data_dtype, shape, strides};
    const kernels::ElementwiseDesc desc = ops::make_elementwise_desc(ops::operand_of(host), {&in, 1});
    kernels::cpu::copy(desc);
  }
  return device.is_cpu() ? host : host.to(device);
}

}  // namespace detail

}  // namespace strata
