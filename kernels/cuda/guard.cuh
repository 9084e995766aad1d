// The device side of the scatter family's index report (IndexGuard in
// kernels/common/scatter_desc.h): the min/max pass and the one-launch checked
// kernels report the ranges they found (scatter.cu).
//
// Only those kernels carry the report. Measured on an H100 (2026-11-27): the
// report's code in the update kernel cost the update of 16 Mi positions 312
// against 227 us even where it never ran (report null), while the check alone
// (index_guard_passes) cost nothing measurable; so the update, gather and
// sorted kernels only ask index_guard_passes
// (bench/results/gpu_h100_2026-11-27.md).
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

}  // namespace strata::kernels::cuda
