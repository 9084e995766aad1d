// The per-element combine step of the scatter family, shared by the CPU loop,
// the CUDA atomics (as the compare-and-swap body) and the CUDA sorted path.
// Arithmetic happens in opmath (float for Half/BFloat16) and is rounded back to
// T after every step, so a serial CPU run and the CUDA sorted path, which apply
// the updates of one destination in the same order, give the same bits.
#pragma once

#include <type_traits>

#include "kernels/common/binary_functors.h"
#include "kernels/common/convert.h"
#include "kernels/common/scatter_desc.h"

namespace strata::kernels {

template <typename T>
STRATA_INLINE bool scatter_is_nan(T v) {
  if constexpr (std::is_integral_v<T>) {
    return false;
  } else {
    return v != v;
  }
}

/// Floor division for integers (PyTorch's "floor" rounding mode).
template <typename M>
STRATA_INLINE M scatter_floor_divide(M a, M b) {
  M q = a / b;
  if constexpr (std::is_signed_v<M>) {
    if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
  }
  return q;
}

/// The new value of the destination after combining `src` into `dst`.
template <ScatterReduce R, typename T>
STRATA_INLINE T scatter_combine(T dst, T src, const ScatterAlpha& alpha) {
  using M = opmath_t<T>;
  if constexpr (R == ScatterReduce::Assign) {
    return src;
  } else if constexpr (std::is_same_v<T, bool>) {
    // Booleans: sum is "or", product is "and", max is "or", min is "and".
    // alpha counts as a Bool (PyTorch casts it): zero adds nothing.
    if constexpr (R == ScatterReduce::Add) return dst || (src && (!alpha.enabled || alpha.as_float != 0.0));
    if constexpr (R == ScatterReduce::Max) return dst || src;
    if constexpr (R == ScatterReduce::Multiply || R == ScatterReduce::Min) return dst && src;
    return dst;
  } else {
    const M a = static_cast<M>(dst);
    const M b = static_cast<M>(src);
    // Integers wrap (add_plain, add_scale: two's complement, never a signed
    // overflow), as PyTorch's results and the CUDA atomics do.
    if constexpr (R == ScatterReduce::Add) {
      if (!alpha.enabled) return convert<T>(add_plain(a, b));
      if constexpr (std::is_integral_v<M>) {
        return convert<T>(add_plain(a, add_scale(static_cast<M>(alpha.as_int), b)));
      } else if constexpr (!std::is_same_v<M, T>) {
        // Float16/BFloat16: PyTorch's index_add_ (its CPU loop and its CUDA
        // kernel alike) rounds alpha * src to T before the add (alpha itself
        // already holds a T: the front-end converts it to self's dtype).
        return convert<T>(add_plain(a, static_cast<M>(convert<T>(add_scale(static_cast<M>(alpha.as_float), b)))));
      } else {
        // alpha * src rounded, then the sum rounded: never one fused
        // multiply-add, so that every path gives the same bits (the CUDA
        // atomics can only add a finished product) whatever the compiler or
        // its flags (add_'s rule, binary_functors.h).
        return convert<T>(add_plain(a, add_scale(static_cast<M>(alpha.as_float), b)));
      }
    } else if constexpr (R == ScatterReduce::Multiply) {
      return convert<T>(add_scale(a, b));  // a * b, rounded once; integers wrap
    } else if constexpr (R == ScatterReduce::Max) {
      return (scatter_is_nan(b) || b > a) ? src : dst;
    } else if constexpr (R == ScatterReduce::Min) {
      return (scatter_is_nan(b) || b < a) ? src : dst;
    } else {  // MeanDivide: src is the count
      if (b == M(0)) return dst;
      if constexpr (std::is_integral_v<M>) {
        return convert<T>(scatter_floor_divide<M>(a, b));
      } else {
        return convert<T>(static_cast<M>(a / b));
      }
    }
  }
}

/// Runtime reduce → compile-time reduce.
template <typename Fn>
decltype(auto) dispatch_scatter_reduce(ScatterReduce r, Fn&& fn) {
  switch (r) {
    case ScatterReduce::Assign: return fn(std::integral_constant<ScatterReduce, ScatterReduce::Assign>{});
    case ScatterReduce::Add: return fn(std::integral_constant<ScatterReduce, ScatterReduce::Add>{});
    case ScatterReduce::Multiply: return fn(std::integral_constant<ScatterReduce, ScatterReduce::Multiply>{});
    case ScatterReduce::Max: return fn(std::integral_constant<ScatterReduce, ScatterReduce::Max>{});
    case ScatterReduce::Min: return fn(std::integral_constant<ScatterReduce, ScatterReduce::Min>{});
    case ScatterReduce::MeanDivide: break;
  }
  return fn(std::integral_constant<ScatterReduce, ScatterReduce::MeanDivide>{});
}

}  // namespace strata::kernels
