// 32-bit index arithmetic for the CUDA strided loops: division by a runtime
// constant as a multiply-high and a shift (Granlund & Montgomery, "Division by
// invariant integers using multiplication"), and per-operand byte offsets of an
// element from its linear index. Host+device so that the CPU tests check the
// exact arithmetic the GPU runs.
#pragma once

#include <cstdint>

#include "kernels/common/descriptor.h"

namespace strata::kernels {

/// n / d and n % d for 0 <= n < 2^31 and 1 <= d < 2^31.
struct FastDivmod {
  uint32_t divisor = 1;
  uint32_t multiplier = 0;
  uint32_t shift = 0;

  FastDivmod() = default;
  explicit FastDivmod(uint32_t d) : divisor(d) {
    while (shift < 32 && (uint64_t{1} << shift) < d) ++shift;
    // m = floor(2^32 * (2^shift - d) / d) + 1, so that n / d = (mulhi(n, m) + n) >> shift.
    const uint64_t m = ((uint64_t{1} << 32) * ((uint64_t{1} << shift) - d)) / d + 1;
    multiplier = static_cast<uint32_t>(m);
  }

  STRATA_INLINE uint32_t div(uint32_t n) const {
#if defined(__CUDA_ARCH__)
    const uint32_t high = __umulhi(n, multiplier);
#else
    const uint32_t high = static_cast<uint32_t>((static_cast<uint64_t>(n) * multiplier) >> 32);
#endif
    return (high + n) >> shift;  // no overflow: n < 2^31 and high <= n
  }
};

/// Byte offsets of element `linear` for N operands, all below 2^31 (the
/// launcher splits larger iteration spaces first). Dimension 0 is innermost;
/// the outermost dimension needs no division.
template <int N>
struct OffsetCalculator32 {
  int ndim = 0;
  FastDivmod sizes[kMaxDims];
  uint32_t strides[N][kMaxDims] = {};

  OffsetCalculator32() = default;
  OffsetCalculator32(const ElementwiseDesc& desc, const bool (&ignored)[N]) : ndim(desc.ndim) {
    for (int d = 0; d < desc.ndim; ++d) {
      sizes[d] = FastDivmod(static_cast<uint32_t>(desc.sizes[d]));
      for (int k = 0; k < N; ++k) {
        strides[k][d] = ignored[k] ? 0u : static_cast<uint32_t>(desc.operands[k].byte_strides[d]);
      }
    }
  }

  STRATA_INLINE void get(uint32_t linear, uint32_t (&offsets)[N]) const {
    for (int k = 0; k < N; ++k) offsets[k] = 0;
    for (int d = 0; d < ndim; ++d) {
      uint32_t index = linear;
      if (d + 1 < ndim) {
        const uint32_t quotient = sizes[d].div(linear);
        index = linear - quotient * sizes[d].divisor;
        linear = quotient;
      }
      for (int k = 0; k < N; ++k) offsets[k] += index * strides[k][d];
    }
  }
};

}  // namespace strata::kernels
