// The state behind a Tensor handle, and internal access to it for src/ops.
#pragma once

#include <memory>

#include "src/core/recycling_allocator.h"
#include "strata/tensor.h"

namespace strata {

struct Tensor::Impl {
  Storage storage;
  Shape sizes;
  Shape strides;
  int64_t storage_offset = 0;
  int64_t numel = 0;
  DType dtype = kFloat32;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  /// The shape buffers go to this thread's ShapeCache for the next tensor.
  ~Impl() {
    detail::ShapeCache::give(std::move(sizes));
    detail::ShapeCache::give(std::move(strides));
  }
};

/// Internal constructor and accessors for the front-ends (not part of the API).
struct TensorAccess {
  /// A tensor with the given geometry, checked like the public constructor
  /// (ShapeError when it does not fit in the storage).
  static Tensor make(Storage storage, Shape sizes, Shape strides, int64_t offset, DType dtype);
  /// The same without checks, for geometry already known to be valid (views).
  static Tensor make_unchecked(Storage storage, Shape sizes, Shape strides, int64_t offset, DType dtype);
  static const Tensor::Impl& impl(const Tensor& t) { return t.impl(); }
};

}  // namespace strata
