// STRATA_CUDA_CHECK(call): throws DeviceError naming the failed call, after
// clearing CUDA's sticky last-error state. Usable from .cpp and .cu files (it
// does not need fmt). Only in CUDA builds.
#pragma once

#if STRATA_WITH_CUDA
#include <cuda_runtime_api.h>

#include "strata/export.h"

namespace strata::detail {
[[noreturn]] STRATA_API void throw_cuda_error(int code, const char* call, const char* file, int line);
}  // namespace strata::detail

#define STRATA_CUDA_CHECK(call)                                                              \
  do {                                                                                       \
    const cudaError_t strata_cuda_status_ = (call);                                          \
    if (strata_cuda_status_ != cudaSuccess) {                                                \
      (void)cudaGetLastError();                                                              \
      ::strata::detail::throw_cuda_error(static_cast<int>(strata_cuda_status_), #call,       \
                                         __FILE__, __LINE__);                                \
    }                                                                                        \
  } while (0)

/// After every <<<>>> launch: reports launch-configuration errors at once.
#define STRATA_CUDA_CHECK_LAUNCH() STRATA_CUDA_CHECK(cudaGetLastError())

namespace strata::detail {

/// cudaStreamQuery and cudaEventQuery answer cudaErrorNotReady while work is
/// pending. That is an answer, not a failure, so it is cleared from CUDA's
/// last-error state, where the next STRATA_CUDA_CHECK_LAUNCH would find it.
/// Returns whether `status` was that answer.
inline bool cuda_not_ready(cudaError_t status) {
  if (status != cudaErrorNotReady) return false;
  (void)cudaGetLastError();
  return true;
}

/// Makes `device` the current CUDA device for a scope (kernels launch and memory
/// is allocated on the current device) and restores the previous one after. The
/// restore never throws.
class CudaDeviceScope {
 public:
  explicit CudaDeviceScope(int device) {
    STRATA_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device) STRATA_CUDA_CHECK(cudaSetDevice(device));
  }
  ~CudaDeviceScope() {
    int current = previous_;
    if (cudaGetDevice(&current) == cudaSuccess && current != previous_) (void)cudaSetDevice(previous_);
  }
  CudaDeviceScope(const CudaDeviceScope&) = delete;
  CudaDeviceScope& operator=(const CudaDeviceScope&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace strata::detail
#endif
