// Free-function forms of the ops, as in libtorch's namespace torch.
#pragma once

#include <string_view>

#include "strata/tensor.h"

namespace strata {

/// a + alpha * b, broadcast, in the promoted dtype (see Tensor::add).
STRATA_API Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha = 1);
STRATA_API Tensor add(const Tensor& a, const Scalar& b, const Scalar& alpha = 1);
/// Writes a + alpha * b into `out`, which must have the broadcast shape (it is
/// never resized) and a dtype the result can be cast to. Returns out.
STRATA_API const Tensor& add_out(const Tensor& out, const Tensor& a, const Tensor& b,
                                 const Scalar& alpha = 1);

STRATA_API Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
STRATA_API Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Scalar& value);
STRATA_API Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
STRATA_API Tensor scatter_reduce(const Tensor& self, int64_t dim, const Tensor& index,
                                 const Tensor& src, std::string_view reduce, bool include_self = true);
STRATA_API Tensor gather(const Tensor& self, int64_t dim, const Tensor& index);
STRATA_API Tensor index_put(const Tensor& self, const TensorIndices& indices, const Tensor& values,
                            bool accumulate = false);
STRATA_API Tensor index_put(const Tensor& self, const TensorIndices& indices, const Scalar& value,
                            bool accumulate = false);
STRATA_API Tensor index(const Tensor& self, const TensorIndices& indices);
STRATA_API Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index,
                            const Tensor& source, const Scalar& alpha = 1);

/// The broadcast of two shapes (aligned from the right). Throws ShapeError with
/// PyTorch's text when they are incompatible.
STRATA_API Shape broadcast_shapes(const Shape& a, const Shape& b);
/// The dtype add(a, b) computes in, by PyTorch's promotion rules.
STRATA_API DType result_type(const Tensor& a, const Tensor& b);
STRATA_API DType result_type(const Tensor& a, const Scalar& b);

}  // namespace strata
