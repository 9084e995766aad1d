// The device side of the scatter family's index guard (IndexGuard in
// kernels/common/scatter_desc.h), shared by the update, gather and sorted
// kernels (scatter.cu, index.cu).
#pragma once

#include "kernels/common/scatter_desc.h"

namespace strata::kernels::cuda {

/// Writes `keys` (IndexGuard::keys' layout) to the guard's report buffer, then
/// its sequence number; one thread of the grid calls it.
__device__ __forceinline__ void report_index_keys(const IndexGuard& g, const unsigned long long* keys) {
  for (int k = 0; k < 2 * g.count; ++k) g.report->keys[k] = keys[k];
  __threadfence_system();  // the keys land before the sequence number
  *reinterpret_cast<volatile unsigned long long*>(&g.report->sequence) = g.sequence;
}

/// The guard of an update or gather kernel (IndexGuard): every thread calls it
/// first; the first thread of the grid also reports the keys to the host.
/// True when the kernel may go on.
///
/// Measured on an H100 (2026-11-27): the report's code costs the update of
/// 16 Mi positions 312 against 227 us even where it does not run (report
/// null); the same check without it (index_guard_passes alone) costs nothing
/// measurable. Reading the keys once per block instead of once per thread
/// changed nothing. Moving the report out of the update kernel is the next step
/// (bench/results/gpu_h100_2026-11-27.md).
__device__ __forceinline__ bool index_guard_check(const IndexGuard& g) {
  if (g.report != nullptr && blockIdx.x == 0 && threadIdx.x == 0) report_index_keys(g, g.keys);
  return index_guard_passes(g);
}

}  // namespace strata::kernels::cuda
