// Byte offsets of element `linear` (row-major over the descriptor's dims, dim 0
// fastest) for every operand. Host+device: the CUDA strided loops use it and the
// CPU tests check it.
#pragma once

#include <cstdint>

#include "kernels/common/descriptor.h"

namespace strata::kernels {

template <int NumOperands>
STRATA_INLINE void element_offsets(const ElementwiseDesc& desc, int64_t linear, int64_t (&offsets)[NumOperands]) {
  for (int k = 0; k < NumOperands; ++k) offsets[k] = 0;
  for (int d = 0; d < desc.ndim; ++d) {
    const int64_t size = desc.sizes[d];
    const int64_t index = linear % size;
    linear /= size;
    for (int k = 0; k < NumOperands; ++k) offsets[k] += index * desc.operands[k].byte_strides[d];
  }
}

}  // namespace strata::kernels
