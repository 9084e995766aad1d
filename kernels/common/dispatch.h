// Runtime dtype → compile-time type dispatch, used by the backends' launchers.
#pragma once

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

}  // namespace strata::kernels
