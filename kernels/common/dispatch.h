// Runtime dtype → compile-time type dispatch, used by the backends' launchers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "strata/dtype.h"

namespace strata::kernels {

template <typename T> struct TypeTag { using type = T; };

/// Calls fn(TypeTag<T>{}) with T the C++ type of `dtype`.
template <typename Fn>
decltype(auto) dispatch_dtype(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Bool: return fn(TypeTag<bool>{});
    case DType::UInt8: return fn(TypeTag<uint8_t>{});
    case DType::Int8: return fn(TypeTag<int8_t>{});
    case DType::Int16: return fn(TypeTag<int16_t>{});
    case DType::Int32: return fn(TypeTag<int32_t>{});
    case DType::Int64: return fn(TypeTag<int64_t>{});
    case DType::Float16: return fn(TypeTag<Half>{});
    case DType::BFloat16: return fn(TypeTag<BFloat16>{});
    case DType::Float32: return fn(TypeTag<float>{});
    case DType::Float64: break;
  }
  return fn(TypeTag<double>{});
}

/// Calls fn(TypeTag<B>{}) with B the unsigned integer of `size` bytes (1, 2, 4,
/// else 8): kernels that only move elements (assignment, gather) need one
/// instantiation per element size, not per dtype.
template <typename Fn>
decltype(auto) dispatch_bits(size_t size, Fn&& fn) {
  switch (size) {
    case 1: return fn(TypeTag<uint8_t>{});
    case 2: return fn(TypeTag<uint16_t>{});
    case 4: return fn(TypeTag<uint32_t>{});
    default: break;
  }
  return fn(TypeTag<uint64_t>{});
}

}  // namespace strata::kernels
