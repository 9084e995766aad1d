// CUDA kernels of the scatter family: the fast (atomic) scatter path, gather,
// and the index validation pass. The deterministic sorted path is in index.cu,
// the only file that includes CUB.
//
// Template instantiations are kept few: assignment and gather move bytes and are
// instantiated per element size (4); reductions per dtype (10), with the reduce
// op a runtime switch that is uniform across the grid.
#include <cuda_runtime.h>

#include <climits>
#include <cstdint>
#include <type_traits>

#include "kernels/common/dispatch.h"
#include "kernels/common/scatter_kernels.h"
#include "kernels/common/scatter_reduce.h"
#include "kernels/cuda/loops.cuh"
#include "src/runtime/cuda_check.h"
#include "strata/errors.h"
#include "strata/memory.h"

namespace strata::kernels::cuda {
namespace {

// ---- atomics --------------------------------------------------------------------------

/// dst = combine(dst, v) by compare-and-swap. 4- and 8-byte types swap the
/// element itself; 1- and 2-byte types (bool, int8, Half, BFloat16...) swap the
/// aligned 32-bit word that holds them.
template <ScatterReduce R, typename T>
__device__ void atomic_combine_cas(T* dst, T v, const ScatterDesc& d) {
  if constexpr (sizeof(T) == 4 || sizeof(T) == 8) {
    using U = std::conditional_t<sizeof(T) == 4, unsigned int, unsigned long long>;
    U* word = reinterpret_cast<U*>(dst);
    U old = *word;
    U assumed;
    do {
      assumed = old;
      T current;
      memcpy(&current, &assumed, sizeof(T));
      const T next = scatter_combine<R, T>(current, v, d.alpha);
      U next_bits;
      memcpy(&next_bits, &next, sizeof(T));
      if (next_bits == assumed) return;
      old = atomicCAS(word, assumed, next_bits);
    } while (old != assumed);
  } else {
    const uintptr_t address = reinterpret_cast<uintptr_t>(dst);
    unsigned int* word = reinterpret_cast<unsigned int*>(address & ~uintptr_t{3});
    const unsigned int shift = static_cast<unsigned int>(address & 3) * 8;
    const unsigned int low_mask = sizeof(T) == 1 ? 0xffu : 0xffffu;
    unsigned int old = *word;
    unsigned int assumed;
    do {
      assumed = old;
      const unsigned int bits = (assumed >> shift) & low_mask;
      T current;
      if constexpr (sizeof(T) == 1) {
        const uint8_t b = static_cast<uint8_t>(bits);
        memcpy(&current, &b, 1);
      } else {
        const uint16_t b = static_cast<uint16_t>(bits);
        memcpy(&current, &b, 2);
      }
      const T next = scatter_combine<R, T>(current, v, d.alpha);
      unsigned int next_bits = 0;
      if constexpr (sizeof(T) == 1) {
        uint8_t b;
        memcpy(&b, &next, 1);
        next_bits = b;
      } else {
        uint16_t b;
        memcpy(&b, &next, 2);
        next_bits = b;
      }
      const unsigned int next_word = (assumed & ~(low_mask << shift)) | (next_bits << shift);
      if (next_word == assumed) return;
      old = atomicCAS(word, assumed, next_word);
    } while (old != assumed);
  }
}

template <typename T>
__device__ void atomic_add(T* dst, T v, const ScatterDesc& d) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int32_t>) {
    if (d.alpha.enabled) {
      if constexpr (std::is_integral_v<T>) {
        v = static_cast<T>(static_cast<T>(d.alpha.as_int) * v);
      } else {
        v = static_cast<T>(static_cast<T>(d.alpha.as_float) * v);
      }
    }
    atomicAdd(dst, v);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (d.alpha.enabled) v = d.alpha.as_int * v;
    // Two's complement: unsigned addition gives the signed sum.
    atomicAdd(reinterpret_cast<unsigned long long*>(dst), static_cast<unsigned long long>(v));
  } else {
    atomic_combine_cas<ScatterReduce::Add, T>(dst, v, d);
  }
}

template <ScatterReduce R, typename T>
__device__ void atomic_extreme(T* dst, T v, const ScatterDesc& d) {
  if constexpr (std::is_same_v<T, int32_t>) {
    R == ScatterReduce::Max ? atomicMax(dst, v) : atomicMin(dst, v);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    auto* p = reinterpret_cast<long long*>(dst);
    R == ScatterReduce::Max ? atomicMax(p, static_cast<long long>(v)) : atomicMin(p, static_cast<long long>(v));
  } else {
    atomic_combine_cas<R, T>(dst, v, d);
  }
}

// ---- kernels ------------------------------------------------------------------------------

/// The grid-stride loop of the update kernels: apply(dst, v) for every position,
/// with dst the indexed element and v the direct operand's element (or the scalar).
template <typename T, typename Apply>
__device__ __forceinline__ void for_each_update(const ScatterDesc& d, Apply apply) {
  T scalar;
  memcpy(&scalar, d.scalar, sizeof(T));
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < d.numel; i += step) {
    int64_t indexed_offset, direct_offset;
    scatter_offsets(d, i, indexed_offset, direct_offset);
    apply(reinterpret_cast<T*>(d.indexed + indexed_offset),
          d.direct_is_scalar ? scalar : *reinterpret_cast<const T*>(d.direct + direct_offset));
  }
}

template <typename Bits>
__global__ void scatter_assign_kernel(ScatterDesc d) {
  for_each_update<Bits>(d, [](Bits* dst, Bits v) { *dst = v; });
}

template <typename T>
__global__ void scatter_reduce_kernel(ScatterDesc d) {
  for_each_update<T>(d, [&d](T* dst, T v) {
    switch (d.reduce) {
      case ScatterReduce::Add: atomic_add<T>(dst, v, d); break;
      case ScatterReduce::Multiply: atomic_combine_cas<ScatterReduce::Multiply, T>(dst, v, d); break;
      case ScatterReduce::Max: atomic_extreme<ScatterReduce::Max, T>(dst, v, d); break;
      case ScatterReduce::Min: atomic_extreme<ScatterReduce::Min, T>(dst, v, d); break;
      // No indices: every position owns its element.
      case ScatterReduce::MeanDivide: *dst = scatter_combine<ScatterReduce::MeanDivide, T>(*dst, v, d.alpha); break;
      case ScatterReduce::Assign: *dst = v; break;
    }
  });
}

template <typename Bits>
__global__ void gather_kernel(ScatterDesc d) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < d.numel; i += step) {
    int64_t indexed_offset, direct_offset;
    scatter_offsets(d, i, indexed_offset, direct_offset);
    *reinterpret_cast<Bits*>(d.direct + direct_offset) = *reinterpret_cast<const Bits*>(d.indexed + indexed_offset);
  }
}

__global__ void min_max_init_kernel(long long* out, int count) {
  const int i = static_cast<int>(threadIdx.x);
  if (i < count) {
    out[2 * i] = LLONG_MAX;
    out[2 * i + 1] = LLONG_MIN;
  }
}

__global__ void min_max_kernel(IndexTensorDesc t, bool contiguous, long long* out) {
  long long lo = LLONG_MAX;
  long long hi = LLONG_MIN;
  const int64_t element = t.dtype == DType::Int64 ? 8 : 4;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < t.numel; i += step) {
    int64_t offset = 0;
    if (contiguous) {
      offset = i * element;
    } else {
      int64_t rest = i;
      for (int dim = t.ndim - 1; dim >= 0; --dim) {
        int64_t coord = rest;
        if (dim > 0) {
          coord = rest % t.sizes[dim];
          rest /= t.sizes[dim];
        }
        offset += coord * t.byte_strides[dim];
      }
    }
    const long long v = load_index(t.data + offset, t.dtype);
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  for (int shift = 16; shift > 0; shift >>= 1) {
    const long long other_lo = __shfl_down_sync(0xffffffffu, lo, shift);
    const long long other_hi = __shfl_down_sync(0xffffffffu, hi, shift);
    lo = other_lo < lo ? other_lo : lo;
    hi = other_hi > hi ? other_hi : hi;
  }
  __shared__ long long warp_lo[kBlockThreads / 32];
  __shared__ long long warp_hi[kBlockThreads / 32];
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  if (lane == 0) {
    warp_lo[warp] = lo;
    warp_hi[warp] = hi;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kBlockThreads / 32; ++w) {
      lo = warp_lo[w] < lo ? warp_lo[w] : lo;
      hi = warp_hi[w] > hi ? warp_hi[w] : hi;
    }
    atomicMin(out, lo);
    atomicMax(out + 1, hi);
  }
}

}  // namespace

void scatter_update(const ScatterDesc& d, void* stream, int device) {
  if (d.numel == 0) return;
  detail::CudaDeviceScope scope(device);
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  const unsigned int blocks = grid_blocks(d.numel, kScatterMaxBlocks);
  if (d.reduce == ScatterReduce::Assign) {
    dispatch_bits(ElementwiseDesc::dtype_size(d.dtype), [&](auto tag) {
      using Bits = typename decltype(tag)::type;
      scatter_assign_kernel<Bits><<<blocks, kBlockThreads, 0, cuda_stream>>>(d);
    });
  } else {
    dispatch_dtype(d.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      scatter_reduce_kernel<T><<<blocks, kBlockThreads, 0, cuda_stream>>>(d);
    });
  }
  STRATA_CUDA_CHECK_LAUNCH();
}

void gather(const ScatterDesc& d, void* stream, int device) {
  if (d.numel == 0) return;
  detail::CudaDeviceScope scope(device);
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  dispatch_bits(ElementwiseDesc::dtype_size(d.dtype), [&](auto tag) {
    using Bits = typename decltype(tag)::type;
    gather_kernel<Bits><<<grid_blocks(d.numel, kScatterMaxBlocks), kBlockThreads, 0, cuda_stream>>>(d);
  });
  STRATA_CUDA_CHECK_LAUNCH();
}

void index_min_max(const IndexTensorDesc* tensors, int count, IndexRange* out, void* stream, int device) {
  if (count <= 0) return;
  if (count > kMaxIndexOperands) throw DeviceError("index_min_max: too many index tensors");
  detail::CudaDeviceScope scope(device);
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  CachingAllocator& allocator = memory::allocator(Device(DeviceType::CUDA, device));
  const size_t bytes = sizeof(long long) * 2 * static_cast<size_t>(count);
  auto* results = static_cast<long long*>(allocator.allocate(bytes, stream));
  long long host[2 * kMaxIndexOperands];
  try {
    min_max_init_kernel<<<1, 2 * kMaxIndexOperands, 0, cuda_stream>>>(results, count);
    STRATA_CUDA_CHECK_LAUNCH();
    for (int i = 0; i < count; ++i) {
      min_max_kernel<<<grid_blocks(tensors[i].numel, kScatterMaxBlocks), kBlockThreads, 0, cuda_stream>>>(
          tensors[i], tensors[i].is_contiguous(), results + 2 * i);
      STRATA_CUDA_CHECK_LAUNCH();
    }
    // The one read-back: a bad index is reported before any kernel writes.
    STRATA_CUDA_CHECK(cudaMemcpyAsync(host, results, bytes, cudaMemcpyDeviceToHost, cuda_stream));
    STRATA_CUDA_CHECK(cudaStreamSynchronize(cuda_stream));
  } catch (...) {
    allocator.deallocate(results);
    throw;
  }
  allocator.deallocate(results);
  for (int i = 0; i < count; ++i) out[i] = IndexRange{host[2 * i], host[2 * i + 1]};
}

}  // namespace strata::kernels::cuda
