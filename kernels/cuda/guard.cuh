// The device side of the scatter family's index guard (IndexGuard in
// kernels/common/scatter_desc.h), shared by the update, gather and sorted
// kernels (scatter.cu, index.cu).
#pragma once

#include "kernels/common/scatter_desc.h"

namespace strata::kernels::cuda {

/// The guard of an update or gather kernel (IndexGuard): every thread calls it
/// first; the first thread of the grid also reports the keys to the host.
/// True when the kernel may go on.
__device__ __forceinline__ bool index_guard_check(const IndexGuard& g) {
  if (g.report != nullptr && blockIdx.x == 0 && threadIdx.x == 0) {
    for (int k = 0; k < 2 * g.count; ++k) g.report->keys[k] = g.keys[k];
    __threadfence_system();  // the keys land before the sequence number
    *reinterpret_cast<volatile unsigned long long*>(&g.report->sequence) = g.sequence;
  }
  return index_guard_passes(g);
}

}  // namespace strata::kernels::cuda
