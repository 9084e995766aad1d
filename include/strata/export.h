// Symbol visibility and host/device annotations shared by the public headers.
#pragma once

// libstrata.so is built with hidden visibility; only what is marked STRATA_API
// is part of the shared library's interface.
#if defined(_WIN32)
#define STRATA_API
#else
#define STRATA_API __attribute__((visibility("default")))
#endif

// Marks functions that run both on the host and in CUDA kernels (element
// functors, dtype conversions). Plain inline functions in a host-only build.
#if defined(__CUDACC__)
#define STRATA_HOST_DEVICE __host__ __device__
#define STRATA_INLINE __host__ __device__ __forceinline__
#else
#define STRATA_HOST_DEVICE
#define STRATA_INLINE inline
#endif
