// The element logic of add (out = a + alpha * b), written once for the CPU loops
// and the CUDA kernels, and the descriptor the add front-end hands to both.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/common/convert.h"
#include "kernels/common/descriptor.h"

namespace strata::kernels {

/// A value passed to a kernel by value (never through device memory): up to 8
/// bytes holding one element of a known C++ type.
struct ScalarArg {
  alignas(8) unsigned char bytes[8] = {};

  template <typename T>
  static STRATA_INLINE ScalarArg of(T value) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>);
    ScalarArg s;
    std::memcpy(s.bytes, &value, sizeof(T));
    return s;
  }
  template <typename T>
  STRATA_INLINE T as() const {
    T value;
    std::memcpy(&value, bytes, sizeof(T));
    return value;
  }
};

/// add / add_ / add_out after the front-end: shapes broadcast, dims in the
/// output's memory order and coalesced, operands 0 = out, 1 = a, 2 = b. Inputs are
/// read as compute_dtype (their own dtype converted, as PyTorch's promoted
/// computation) and the arithmetic runs in opmath_t of it (float for Half and
/// BFloat16); the result is converted to the output's dtype.
struct AddDesc {
  ElementwiseDesc iter;
  DType compute_dtype = DType::Float32;
  /// alpha as opmath_t<compute type>.
  ScalarArg alpha;
  /// True when alpha is one (the multiply is skipped; the result is the same).
  bool alpha_is_one = true;
  /// 1 or 2 when that input is a host value instead of memory (a Scalar, or a
  /// 0-dim CPU tensor): its operand's data pointer is unused, its strides are 0,
  /// and its value is `scalar` as opmath_t<compute type>, already rounded through
  /// the compute type. 0 when both inputs are memory.
  int scalar_input = 0;
  ScalarArg scalar;
};

/// The integer type integer arithmetic wraps in: unsigned (defined overflow, as
/// PyTorch's two's-complement results) and at least 32 bits (so that small types
/// are not promoted to a signed int before multiplying).
template <typename T>
using WrapInt = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;

/// alpha * b, rounded once (never fused with the add: the CPU and the GPU then
/// give the same bits for every split of the work).
template <typename M>
STRATA_INLINE M add_scale(M alpha, M b) {
  if constexpr (std::is_same_v<M, bool>) {
    return alpha && b;
  } else if constexpr (std::is_integral_v<M>) {
    return static_cast<M>(static_cast<WrapInt<M>>(alpha) * static_cast<WrapInt<M>>(b));
  } else {
#if defined(__CUDA_ARCH__)
    if constexpr (std::is_same_v<M, float>) return __fmul_rn(alpha, b);
    else return __dmul_rn(alpha, b);
#else
    return alpha * b;
#endif
  }
}

/// a + b with PyTorch's results: integers wrap, Bool is logical or.
template <typename M>
STRATA_INLINE M add_plain(M a, M b) {
  if constexpr (std::is_same_v<M, bool>) {
    return a || b;
  } else if constexpr (std::is_integral_v<M>) {
    return static_cast<M>(static_cast<WrapInt<M>>(a) + static_cast<WrapInt<M>>(b));
  } else {
#if defined(__CUDA_ARCH__)
    if constexpr (std::is_same_v<M, float>) return __fadd_rn(a, b);
    else return __dadd_rn(a, b);
#else
    return a + b;
#endif
  }
}

/// The add element functor over the math type M = opmath_t<compute type>.
/// kAlphaOne skips the multiply, which gives the same value (1 * b == b).
template <typename M, bool kAlphaOne>
struct AddFunctor {
  M alpha;
  STRATA_INLINE M operator()(M a, M b) const {
    if constexpr (kAlphaOne) {
      return add_plain(a, b);
    } else {
      return add_plain(a, add_scale(alpha, b));
    }
  }
};

/// Reads element `p` of dtype `dtype` as PyTorch's promoted computation does:
/// converted to the compute type T first, then widened to its math type.
template <typename T>
STRATA_INLINE opmath_t<T> load_compute(const void* p, DType dtype) {
  return static_cast<opmath_t<T>>(load_as<T>(p, dtype));
}

}  // namespace strata::kernels
