// Shared CUDA launch helpers for the elementwise and scatter kernels: grid sizing
// and a scope that makes a stream's device current for the launch.
#pragma once

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>

#include "src/runtime/cuda_check.h"

namespace strata::kernels::cuda {

inline constexpr int kBlockThreads = 256;

/// Blocks for a grid-stride loop over n elements (capped: each thread loops).
inline unsigned int grid_blocks(int64_t n, int64_t max_blocks = int64_t{1} << 20) {
  const int64_t blocks = (n + kBlockThreads - 1) / kBlockThreads;
  return static_cast<unsigned int>(std::clamp<int64_t>(blocks, 1, max_blocks));
}

/// The scatter family's grids stop lower (its kernels loop over the rest).
inline constexpr int64_t kScatterMaxBlocks = 65536;

/// The device scope every CUDA launcher opens (shared with the runtime).
using DeviceScope = ::strata::detail::CudaDeviceScope;

}  // namespace strata::kernels::cuda
