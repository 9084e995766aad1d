// CUDA add kernels: declared here for the front-end, defined in binary.cu (only
// compiled when CUDA is on).
#pragma once

#include "kernels/common/binary_functors.h"

namespace strata::kernels::cuda {

/// out = a + alpha * b over the descriptor (memory of CUDA device `device`),
/// queued on `stream` (a cudaStream_t); never synchronizes. Throws DeviceError
/// when a launch fails.
void add(const AddDesc& desc, int device, void* stream);

}  // namespace strata::kernels::cuda
