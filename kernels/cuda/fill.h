// CUDA fill (host-callable declaration; no CUDA headers).
#pragma once

#include "kernels/common/descriptor.h"

namespace strata::kernels::cuda {

/// Sets every element of operand 0 (memory of CUDA device `device`) to the
/// element at the host address `value` (one element of its dtype); queued on
/// `stream` (a cudaStream_t), asynchronous. `value` is read before returning.
void fill(const ElementwiseDesc& desc, const void* value, int device, void* stream);

}  // namespace strata::kernels::cuda
