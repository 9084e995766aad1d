// CUDA add. Three kernels over the same element functor (kernels/common):
//  - vectorized: every memory operand contiguous, of the compute type and 16-byte
//    aligned; each thread moves kVectorsPerThread 16-byte vectors per operand,
//    all loads issued before any store so that several are in flight;
//  - strided: any layout (broadcast, transposed, sliced) of compute-type
//    operands, with 32-bit offsets from multiply-shift division;
//  - casting: like strided, converting each operand's dtype in the kernel.
// Index arithmetic is 32-bit: the launcher splits iteration spaces whose element
// count or byte offsets reach 2^31. A host scalar (a Scalar, or a 0-dim CPU
// tensor) arrives as a kernel argument, never through memory.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>

#include "kernels/common/binary_functors.h"
#include "kernels/common/dispatch.h"
#include "kernels/common/fast_divmod.h"
#include "kernels/cuda/binary.h"
#include "kernels/cuda/loops.cuh"

namespace strata::kernels::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kVectorsPerThread = 4;
constexpr int kElementsPerThread = 4;  // strided and casting kernels
constexpr int64_t kMax32 = INT32_MAX;

template <typename T>
struct alignas(16) Pack {
  static constexpr int kSize = 16 / static_cast<int>(sizeof(T));
  T v[kSize];
};

// Element i of input `which` (1 = a, 2 = b): memory, or the host scalar.
template <typename T>
__device__ __forceinline__ opmath_t<T> load_input(const T* p, uint32_t i, int which, int scalar_input,
                                                  opmath_t<T> scalar) {
  return which == scalar_input ? scalar : static_cast<opmath_t<T>>(p[i]);
}

template <typename T, bool kAlphaOne>
__global__ void __launch_bounds__(kThreads) add_vectorized_kernel(T* out, const T* a, const T* b,
                                                                  opmath_t<T> alpha, int scalar_input,
                                                                  opmath_t<T> scalar, uint32_t n) {
  using M = opmath_t<T>;
  using P = Pack<T>;
  const AddFunctor<M, kAlphaOne> op{alpha};
  const uint32_t num_packs = n / P::kSize;
  const uint32_t tile = blockIdx.x * (kThreads * kVectorsPerThread);
  P a_pack[kVectorsPerThread];
  P b_pack[kVectorsPerThread];
#pragma unroll
  for (int j = 0; j < kVectorsPerThread; ++j) {
    const uint32_t p = tile + j * kThreads + threadIdx.x;
    if (p < num_packs) {
      if (scalar_input != 1) a_pack[j] = reinterpret_cast<const P*>(a)[p];
      if (scalar_input != 2) b_pack[j] = reinterpret_cast<const P*>(b)[p];
    }
  }
#pragma unroll
  for (int j = 0; j < kVectorsPerThread; ++j) {
    const uint32_t p = tile + j * kThreads + threadIdx.x;
    if (p < num_packs) {
      P r;
#pragma unroll
      for (int e = 0; e < P::kSize; ++e) {
        const M x = scalar_input == 1 ? scalar : static_cast<M>(a_pack[j].v[e]);
        const M y = scalar_input == 2 ? scalar : static_cast<M>(b_pack[j].v[e]);
        r.v[e] = static_cast<T>(op(x, y));
      }
      reinterpret_cast<P*>(out)[p] = r;
    }
  }
  // The last n % kSize elements, one per thread of the first block.
  const uint32_t tail = n - num_packs * P::kSize;
  if (blockIdx.x == 0 && threadIdx.x < tail) {
    const uint32_t i = num_packs * P::kSize + threadIdx.x;
    out[i] = static_cast<T>(op(load_input(a, i, 1, scalar_input, scalar), load_input(b, i, 2, scalar_input, scalar)));
  }
}

template <typename T, bool kAlphaOne>
__global__ void __launch_bounds__(kThreads) add_strided_kernel(OffsetCalculator32<3> calc, char* out,
                                                               const char* a, const char* b, opmath_t<T> alpha,
                                                               int scalar_input, opmath_t<T> scalar, uint32_t n) {
  using M = opmath_t<T>;
  const AddFunctor<M, kAlphaOne> op{alpha};
  const uint32_t base = blockIdx.x * (kThreads * kElementsPerThread) + threadIdx.x;
  M x[kElementsPerThread];
  M y[kElementsPerThread];
  uint32_t out_offset[kElementsPerThread];
#pragma unroll
  for (int j = 0; j < kElementsPerThread; ++j) {
    const uint32_t i = base + j * kThreads;
    if (i < n) {
      uint32_t offsets[3];
      calc.get(i, offsets);
      out_offset[j] = offsets[0];
      x[j] = scalar_input == 1 ? scalar : static_cast<M>(*reinterpret_cast<const T*>(a + offsets[1]));
      y[j] = scalar_input == 2 ? scalar : static_cast<M>(*reinterpret_cast<const T*>(b + offsets[2]));
    }
  }
#pragma unroll
  for (int j = 0; j < kElementsPerThread; ++j) {
    if (base + j * kThreads < n) *reinterpret_cast<T*>(out + out_offset[j]) = static_cast<T>(op(x[j], y[j]));
  }
}

// Operands of other dtypes convert to T on load; the result rounds to T, then
// converts to the output's dtype (as PyTorch's promoted computation).
template <typename T, bool kAlphaOne>
__global__ void __launch_bounds__(kThreads) add_casting_kernel(OffsetCalculator32<3> calc, char* out,
                                                               const char* a, const char* b, DType out_dtype,
                                                               DType a_dtype, DType b_dtype, opmath_t<T> alpha,
                                                               int scalar_input, opmath_t<T> scalar, uint32_t n) {
  using M = opmath_t<T>;
  const AddFunctor<M, kAlphaOne> op{alpha};
  const uint32_t base = blockIdx.x * (kThreads * kElementsPerThread) + threadIdx.x;
#pragma unroll
  for (int j = 0; j < kElementsPerThread; ++j) {
    const uint32_t i = base + j * kThreads;
    if (i < n) {
      uint32_t offsets[3];
      calc.get(i, offsets);
      const M x = scalar_input == 1 ? scalar : load_compute<T>(a + offsets[1], a_dtype);
      const M y = scalar_input == 2 ? scalar : load_compute<T>(b + offsets[2], b_dtype);
      store_as<T>(out + offsets[0], out_dtype, static_cast<T>(op(x, y)));
    }
  }
}

unsigned int blocks_for(int64_t n, int64_t per_block) { return static_cast<unsigned int>((n + per_block - 1) / per_block); }

// Whether every offset of the iteration space, and its element count, fit the
// kernels' 32-bit arithmetic.
bool fits_32bit(const AddDesc& desc) {
  const ElementwiseDesc& it = desc.iter;
  if (it.numel > kMax32) return false;
  for (int k = 0; k < it.num_operands; ++k) {
    if (k == desc.scalar_input) continue;
    int64_t last = 0;
    for (int d = 0; d < it.ndim; ++d) last += (it.sizes[d] - 1) * it.operands[k].byte_strides[d];
    if (last + 16 > kMax32) return false;
  }
  return true;
}

template <typename T, bool kAlphaOne>
void launch_32bit(const AddDesc& desc, cudaStream_t stream) {
  using M = opmath_t<T>;
  const ElementwiseDesc& it = desc.iter;
  const M alpha = desc.alpha.as<M>();
  const M scalar = desc.scalar.as<M>();
  const int s = desc.scalar_input;
  const uint32_t n = static_cast<uint32_t>(it.numel);
  constexpr DType kCompute = dtype_of<T>;
  const Operand& out = it.operands[0];
  const Operand& a = it.operands[1];
  const Operand& b = it.operands[2];
  const bool same_dtype = out.dtype == kCompute && (s == 1 || a.dtype == kCompute) && (s == 2 || b.dtype == kCompute);

  if (same_dtype) {
    constexpr int64_t kItem = sizeof(T);
    auto dense_aligned = [&](const Operand& op, int k) {
      if (k == s) return true;
      return it.ndim == 1 && op.byte_strides[0] == kItem && reinterpret_cast<uintptr_t>(op.data) % 16 == 0;
    };
    if (dense_aligned(out, 0) && dense_aligned(a, 1) && dense_aligned(b, 2)) {
      constexpr int64_t kPerBlock = int64_t{kThreads} * kVectorsPerThread * Pack<T>::kSize;
      add_vectorized_kernel<T, kAlphaOne><<<blocks_for(std::max<int64_t>(n, 1), kPerBlock), kThreads, 0, stream>>>(
          reinterpret_cast<T*>(out.data), reinterpret_cast<const T*>(a.data), reinterpret_cast<const T*>(b.data),
          alpha, s, scalar, n);
      STRATA_CUDA_CHECK_LAUNCH();
      return;
    }
  }
  const bool ignored[3] = {false, s == 1, s == 2};
  const OffsetCalculator32<3> calc(it, ignored);
  const unsigned int blocks = blocks_for(n, int64_t{kThreads} * kElementsPerThread);
  if (same_dtype) {
    add_strided_kernel<T, kAlphaOne><<<blocks, kThreads, 0, stream>>>(calc, out.data, a.data, b.data, alpha, s,
                                                                      scalar, n);
  } else {
    add_casting_kernel<T, kAlphaOne><<<blocks, kThreads, 0, stream>>>(calc, out.data, a.data, b.data, out.dtype,
                                                                      a.dtype, b.dtype, alpha, s, scalar, n);
  }
  STRATA_CUDA_CHECK_LAUNCH();
}

// Splits the widest dimension in two until each part fits 32-bit indexing.
template <typename Launch>
void for_each_32bit_part(const AddDesc& desc, const Launch& launch) {
  if (fits_32bit(desc)) {
    launch(desc);
    return;
  }
  const ElementwiseDesc& it = desc.iter;
  int split_dim = 0;
  int64_t widest = -1;
  for (int d = 0; d < it.ndim; ++d) {
    if (it.sizes[d] < 2) continue;
    int64_t extent = it.sizes[d];
    for (int k = 0; k < it.num_operands; ++k) {
      if (k != desc.scalar_input) extent = std::max(extent, it.sizes[d] * it.operands[k].byte_strides[d]);
    }
    if (extent > widest) {
      widest = extent;
      split_dim = d;
    }
  }
  const int64_t half = it.sizes[split_dim] / 2;
  AddDesc low = desc;
  AddDesc high = desc;
  low.iter.sizes[split_dim] = half;
  high.iter.sizes[split_dim] = it.sizes[split_dim] - half;
  for (int k = 0; k < it.num_operands; ++k) {
    if (k != desc.scalar_input) high.iter.operands[k].data += half * it.operands[k].byte_strides[split_dim];
  }
  low.iter.numel = it.numel / it.sizes[split_dim] * low.iter.sizes[split_dim];
  high.iter.numel = it.numel / it.sizes[split_dim] * high.iter.sizes[split_dim];
  for_each_32bit_part(low, launch);
  for_each_32bit_part(high, launch);
}

}  // namespace

void add(const AddDesc& desc, int device, void* stream) {
  if (desc.iter.numel == 0) return;
  DeviceScope scope(device);
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  dispatch_dtype(desc.compute_dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    for_each_32bit_part(desc, [&](const AddDesc& part) {
      if (part.alpha_is_one) {
        launch_32bit<T, true>(part, cuda_stream);
      } else {
        launch_32bit<T, false>(part, cuda_stream);
      }
    });
  });
}

}  // namespace strata::kernels::cuda
