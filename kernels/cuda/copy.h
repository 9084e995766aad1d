// CUDA copy with dtype conversion (host-callable declaration; no CUDA headers).
#pragma once

#include "kernels/common/descriptor.h"

namespace strata::kernels::cuda {

/// operand 0 = operand 1 converted to operand 0's dtype, both in memory of CUDA
/// device `device`; queued on `stream` (a cudaStream_t), asynchronous.
void copy(const ElementwiseDesc& desc, int device, void* stream);

}  // namespace strata::kernels::cuda
