// The device side of the scatter family's index report (IndexGuard in
// kernels/common/scatter_desc.h): the min/max pass and the one-launch checked
// kernels report the ranges they found (scatter.cu).
//
// Only those kernels carry the report; the update, gather and sorted kernels
// only ask index_guard_passes (bench/results/gpu_h100_2026-11-27.md).
#pragma once

#include <cuda/atomic>

#include "kernels/common/scatter_desc.h"

namespace strata::kernels::cuda {

/// Writes `keys` (IndexGuard::keys' layout) to the guard's report buffer, then
/// its sequence number by a system-scope release store (the host, which reads
/// the number with acquire, then sees the keys); one thread of the grid calls
/// it. Not a fence: measured on an H100 (2026-11-27, micro-benchmarks of the
/// update kernel), the mere presence of __threadfence_system() or
/// __threadfence() in a kernel made its 16 Mi-position loop 313 us instead of
/// 228, where the release store cost nothing measurable.
__device__ __forceinline__ void report_index_keys(const IndexGuard& g, const unsigned long long* keys) {
  for (int k = 0; k < 2 * g.count; ++k) g.report->keys[k] = keys[k];
  ::cuda::atomic_ref<unsigned long long, ::cuda::thread_scope_system>(g.report->sequence)
      .store(g.sequence, ::cuda::memory_order_release);
}

}  // namespace strata::kernels::cuda
