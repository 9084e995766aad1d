// CUDA kernels of the scatter family: the fast (atomic) scatter path, gather,
// and the index validation pass (a min/max reduction whose result the update
// and gather kernels check before they touch memory: IndexGuard). The
// deterministic sorted path is in index.cu, the only file that includes CUB.
//
// Template instantiations are kept few: assignment and gather move bytes and are
// instantiated per element size (4); reductions per dtype (10), with the reduce
// op a runtime switch that is uniform across the grid.
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/common/dispatch.h"
#include "kernels/common/scatter_kernels.h"
#include "kernels/common/scatter_reduce.h"
#include "kernels/cuda/guard.cuh"
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
    // alpha * v as scatter_combine forms it: one rounding, integers wrap.
    if (d.alpha.enabled) {
      if constexpr (std::is_integral_v<T>) {
        v = add_scale(static_cast<T>(d.alpha.as_int), v);
      } else {
        v = add_scale(static_cast<T>(d.alpha.as_float), v);
      }
    }
    atomicAdd(dst, v);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    if (d.alpha.enabled) v = add_scale(d.alpha.as_int, v);
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

/// Positions each thread of an update or gather kernel takes per step: the
/// loads of all of them (index, then value) are issued before the first
/// store or atomic, so a thread keeps several memory requests in flight.
inline constexpr int kScatterUnroll = 4;

/// The grid-stride walk of the update and gather kernels over `n` items,
/// kScatterUnroll per step: `offsets(i, indexed_offset, direct_offset)` places
/// item i, `load(indexed_offset, direct_offset)` reads its value (a V) and
/// `store(indexed_offset, direct_offset, value)` writes it; every load of a
/// step comes before its first store. The caller has checked the indices.
template <typename V, typename Offsets, typename Load, typename Store>
__device__ __forceinline__ void walk_items(int64_t n, Offsets offsets, Load load, Store store) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  for (; i + (kScatterUnroll - 1) * step < n; i += kScatterUnroll * step) {
    int64_t indexed[kScatterUnroll], direct[kScatterUnroll];
    V v[kScatterUnroll];
#pragma unroll
    for (int u = 0; u < kScatterUnroll; ++u) {
      offsets(i + u * step, indexed[u], direct[u]);
      v[u] = load(indexed[u], direct[u]);
    }
#pragma unroll
    for (int u = 0; u < kScatterUnroll; ++u) store(indexed[u], direct[u], v[u]);
  }
  for (; i < n; i += step) {
    int64_t indexed, direct;
    offsets(i, indexed, direct);
    store(indexed, direct, load(indexed, direct));
  }
}

/// walk_items over the iteration space's positions (scatter_offsets).
template <typename T, typename Load, typename Store>
__device__ __forceinline__ void walk_positions(const ScatterDesc& d, Load load, Store store) {
  walk_items<T>(
      d.numel, [&d](int64_t i, int64_t& indexed, int64_t& direct) { scatter_offsets(d, i, indexed, direct); }, load,
      store);
}

/// The update kernels' loop: apply(dst, v) for every position, with dst the
/// indexed element and v the direct operand's element (or the scalar).
template <typename T, typename Apply>
__device__ __forceinline__ void update_positions(const ScatterDesc& d, Apply apply) {
  T scalar;
  memcpy(&scalar, d.scalar, sizeof(T));
  walk_positions<T>(
      d,
      [&](int64_t, int64_t direct) {
        return d.direct_is_scalar ? scalar : *reinterpret_cast<const T*>(d.direct + direct);
      },
      [&](int64_t indexed, int64_t, T v) { apply(reinterpret_cast<T*>(d.indexed + indexed), v); });
}

/// dst = reduce(dst, v) for d.reduce, by atomics where positions can share a
/// destination.
template <typename T>
__device__ __forceinline__ void reduce_into(const ScatterDesc& d, T* dst, T v) {
  switch (d.reduce) {
    case ScatterReduce::Add: atomic_add<T>(dst, v, d); break;
    case ScatterReduce::Multiply: atomic_combine_cas<ScatterReduce::Multiply, T>(dst, v, d); break;
    case ScatterReduce::Max: atomic_extreme<ScatterReduce::Max, T>(dst, v, d); break;
    case ScatterReduce::Min: atomic_extreme<ScatterReduce::Min, T>(dst, v, d); break;
    // No indices: every position owns its element.
    case ScatterReduce::MeanDivide: *dst = scatter_combine<ScatterReduce::MeanDivide, T>(*dst, v, d.alpha); break;
    case ScatterReduce::Assign: *dst = v; break;
  }
}

/// The gather kernels' loop: direct[pos] = indexed[offset(pos)].
template <typename Bits>
__device__ __forceinline__ void gather_positions(const ScatterDesc& d) {
  walk_positions<Bits>(
      d, [&](int64_t indexed, int64_t) { return *reinterpret_cast<const Bits*>(d.indexed + indexed); },
      [&](int64_t, int64_t direct, Bits v) { *reinterpret_cast<Bits*>(d.direct + direct) = v; });
}

/// Blocks of an update or gather launch: one position per thread up to 1 Mi
/// positions (small launches fill the GPU), kScatterUnroll per thread beyond.
unsigned int scatter_blocks(int64_t n) {
  return grid_blocks(n >= (int64_t{1} << 20) ? (n + kScatterUnroll - 1) / kScatterUnroll : n, kScatterMaxBlocks);
}

// The guarded kernels. The guard comes first: asking it after each thread's
// first loads (so that its read of the validation result waited alongside
// them) left the update of 16 Mi positions at 311 us on an H100 and made
// index_add_ of rows 27 % slower. They never carry the report code (see
// guard.cuh): the min/max pass before them reports.
template <typename Bits>
__global__ void scatter_assign_kernel(ScatterDesc d) {
  if (!index_guard_passes(d.guard)) return;  // a bad index: nothing is written
  update_positions<Bits>(d, [](Bits* dst, Bits v) { *dst = v; });
}

template <typename T>
__global__ void scatter_reduce_kernel(ScatterDesc d) {
  if (!index_guard_passes(d.guard)) return;
  update_positions<T>(d, [&d](T* dst, T v) { reduce_into<T>(d, dst, v); });
}

template <typename Bits>
__global__ void gather_kernel(ScatterDesc d) {
  if (!index_guard_passes(d.guard)) return;
  gather_positions<Bits>(d);
}

/// Adds float32 rows four floats at a time (adds_float_quads): per quad one
/// index load, a 16-byte load of the source and, on sm_90, one vector atomic
/// (four element-wise atomic adds in one request); elsewhere four scalar ones.
/// The walk of every update kernel (walk_items), over quads. The caller has
/// checked the indices.
__device__ __forceinline__ void add_float_quads(const ScatterDesc& d) {
  const float alpha = d.alpha.enabled ? static_cast<float>(d.alpha.as_float) : 1.0f;
  walk_items<float4>(
      d.numel / 4, [&d](int64_t q, int64_t& indexed, int64_t& direct) { quad_offsets(d, q, indexed, direct); },
      [&d](int64_t, int64_t direct) { return __ldg(reinterpret_cast<const float4*>(d.direct + direct)); },
      [&](int64_t indexed, int64_t, float4 v) {
        if (d.alpha.enabled) v = make_float4(alpha * v.x, alpha * v.y, alpha * v.z, alpha * v.w);
        float4* dst = reinterpret_cast<float4*>(d.indexed + indexed);
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
        atomicAdd(dst, v);
#else
        atomicAdd(&dst->x, v.x);
        atomicAdd(&dst->y, v.y);
        atomicAdd(&dst->z, v.z);
        atomicAdd(&dst->w, v.w);
#endif
      });
}

__global__ void add_float_quads_kernel(ScatterDesc d) {
  if (!index_guard_passes(d.guard)) return;  // a bad index: nothing is written
  add_float_quads(d);
}

/// The index tensors of one min/max launch.
struct MinMaxArgs {
  IndexTensorDesc tensors[kMaxIndexOperands];
  bool contiguous[kMaxIndexOperands];
};

/// Folds the values of the elements [first, n) step apart into lo/hi, four
/// loads in flight per thread.
template <typename V, typename Fold>
__device__ __forceinline__ void fold_vectors(const V* p, int64_t first, int64_t n, int64_t step, Fold fold) {
  int64_t i = first;
  for (; i + 3 * step < n; i += 4 * step) {
    const V a = __ldg(p + i), b = __ldg(p + i + step), c = __ldg(p + i + 2 * step), e = __ldg(p + i + 3 * step);
    fold(a);
    fold(b);
    fold(c);
    fold(e);
  }
  for (; i < n; i += step) fold(__ldg(p + i));
}

/// Folds one thread's share of tensor t (the elements first, first + step, ...)
/// into lo/hi.
__device__ __forceinline__ void fold_index_share(const IndexTensorDesc& t, bool contiguous, int64_t first,
                                                 int64_t step, long long& lo, long long& hi) {
  auto take = [&](long long v) {
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  };
  const bool vectorized = contiguous && (reinterpret_cast<uintptr_t>(t.data) & 15) == 0;
  if (vectorized && t.dtype == DType::Int64) {
    const int64_t vectors = t.numel / 2;
    fold_vectors(reinterpret_cast<const longlong2*>(t.data), first, vectors, step, [&](const longlong2& v) {
      take(v.x);
      take(v.y);
    });
    if (first == 0 && (t.numel & 1)) take(reinterpret_cast<const long long*>(t.data)[t.numel - 1]);
  } else if (vectorized) {
    const int64_t vectors = t.numel / 4;
    fold_vectors(reinterpret_cast<const int4*>(t.data), first, vectors, step, [&](const int4& v) {
      take(v.x);
      take(v.y);
      take(v.z);
      take(v.w);
    });
    if (first < t.numel % 4) take(reinterpret_cast<const int*>(t.data)[4 * vectors + first]);
  } else {
    for (int64_t i = first; i < t.numel; i += step) {
      int64_t offset = 0;
      int64_t rest = i;
      for (int dim = t.ndim - 1; dim >= 0; --dim) {
        int64_t coord = rest;
        if (dim > 0) {
          coord = rest % t.sizes[dim];
          rest /= t.sizes[dim];
        }
        offset += coord * t.byte_strides[dim];
      }
      take(load_index(t.data + offset, t.dtype));
    }
  }
}

/// Reduces lo/hi over the block: thread 0 ends with the block's min and max.
/// Lo and hi fold separately: a thread that saw no value holds the identities
/// (LLONG_MAX, LLONG_MIN), which must not reach the other side. Every thread
/// of the block calls it (it synchronizes the block, also before returning, so
/// that it can be called again at once).
__device__ __forceinline__ void block_min_max(long long& lo, long long& hi) {
  auto fold = [&](long long other_lo, long long other_hi) {
    lo = other_lo < lo ? other_lo : lo;
    hi = other_hi > hi ? other_hi : hi;
  };
  for (int shift = 16; shift > 0; shift >>= 1) {
    const long long other_lo = __shfl_down_sync(0xffffffffu, lo, shift);
    const long long other_hi = __shfl_down_sync(0xffffffffu, hi, shift);
    fold(other_lo, other_hi);
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
    for (int w = 1; w < kBlockThreads / 32; ++w) fold(warp_lo[w], warp_hi[w]);
  }
  __syncthreads();
}

/// Min/max of the `count` index tensors: tensor k by the blocks with
/// blockIdx.y == k % gridDim.y, over the grid's x dimension. One block (grid
/// 1 x 1, small tensors): it writes the keys. Several: they reduce into keys
/// that a memset of 0xff bytes initialized (see IndexGuard), and count their
/// arrivals in keys[2 * count] (set to all-ones by the same memset, so that
/// the i-th arrival reads i - 2); the last to arrive has the final keys. The
/// block with the final keys reports them when the guard has a report buffer.
__global__ void min_max_kernel(MinMaxArgs args, int count, unsigned long long* keys, IndexGuard guard) {
  for (int k = blockIdx.y; k < count; k += gridDim.y) {
    long long lo = LLONG_MAX;
    long long hi = LLONG_MIN;
    fold_index_share(args.tensors[k], args.contiguous[k], static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x,
                     static_cast<int64_t>(gridDim.x) * blockDim.x, lo, hi);
    block_min_max(lo, hi);
    if (threadIdx.x == 0) {
      unsigned long long* out = keys + 2 * k;
      if (gridDim.x == 1) {
        out[0] = index_order_key(lo);
        out[1] = ~index_order_key(hi);
      } else {
        atomicMin(out, index_order_key(lo));
        atomicMin(out + 1, ~index_order_key(hi));
      }
    }
  }
  if (guard.report == nullptr || threadIdx.x != 0) return;
  const unsigned long long blocks = static_cast<unsigned long long>(gridDim.x) * gridDim.y;
  using DeviceWord = ::cuda::atomic_ref<unsigned long long, ::cuda::thread_scope_device>;
  // Acquire-release arrival (no fence: see report_index_keys): this thread's
  // atomics on the keys come before its arrival, and the last to arrive sees
  // every block's.
  if (blocks > 1 && DeviceWord(keys[2 * count]).fetch_add(1, ::cuda::memory_order_acq_rel) + 2 != blocks) return;
  unsigned long long final_keys[2 * kMaxIndexOperands];
  for (int k = 0; k < 2 * count; ++k) final_keys[k] = DeviceWord(keys[k]).load(::cuda::memory_order_relaxed);
  report_index_keys(guard, final_keys);
}

/// The validation half of a checked kernel (one cooperative launch that
/// validates, then updates or gathers): the index tensors, and scratch for
/// every block's partial ranges (2 * count values per block).
struct CheckedArgs {
  MinMaxArgs index;
  long long* partials = nullptr;
};

/// Every block folds its share of each index tensor into `partials`; after one
/// grid-wide barrier every block folds all blocks' partials into the keys in
/// shared memory (so no block waits on another a second time), and the grid's
/// first thread reports them. True when every index is in range: the same
/// answer in every block. Every thread of the grid calls it.
__device__ __forceinline__ bool validate_in_grid(const CheckedArgs& c, const IndexGuard& guard) {
  __shared__ unsigned long long keys[2 * kMaxIndexOperands];
  const int count = guard.count;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int k = 0; k < count; ++k) {
    long long lo = LLONG_MAX;
    long long hi = LLONG_MIN;
    fold_index_share(c.index.tensors[k], c.index.contiguous[k], first, step, lo, hi);
    block_min_max(lo, hi);
    if (threadIdx.x == 0) {
      c.partials[2 * (static_cast<int64_t>(blockIdx.x) * count + k)] = lo;
      c.partials[2 * (static_cast<int64_t>(blockIdx.x) * count + k) + 1] = hi;
    }
  }
  cooperative_groups::this_grid().sync();  // a memory fence too: every partial is visible
  for (int k = 0; k < count; ++k) {
    long long lo = LLONG_MAX;
    long long hi = LLONG_MIN;
    for (unsigned int b = threadIdx.x; b < gridDim.x; b += blockDim.x) {
      // Written in this launch: read through L2 (__ldcg), never a stale L1 line.
      const long long other_lo = __ldcg(c.partials + 2 * (static_cast<int64_t>(b) * count + k));
      const long long other_hi = __ldcg(c.partials + 2 * (static_cast<int64_t>(b) * count + k) + 1);
      lo = other_lo < lo ? other_lo : lo;
      hi = other_hi > hi ? other_hi : hi;
    }
    block_min_max(lo, hi);
    if (threadIdx.x == 0) {
      keys[2 * k] = index_order_key(lo);
      keys[2 * k + 1] = ~index_order_key(hi);
    }
  }
  __syncthreads();
  if (guard.report != nullptr && blockIdx.x == 0 && threadIdx.x == 0) report_index_keys(guard, keys);
  return index_guard_passes(guard, keys);
}

template <typename Bits>
__global__ void checked_assign_kernel(ScatterDesc d, CheckedArgs c) {
  if (!validate_in_grid(c, d.guard)) return;  // a bad index: nothing is written
  update_positions<Bits>(d, [](Bits* dst, Bits v) { *dst = v; });
}

template <typename T>
__global__ void checked_reduce_kernel(ScatterDesc d, CheckedArgs c) {
  if (!validate_in_grid(c, d.guard)) return;
  update_positions<T>(d, [&d](T* dst, T v) { reduce_into<T>(d, dst, v); });
}

template <typename Bits>
__global__ void checked_gather_kernel(ScatterDesc d, CheckedArgs c) {
  if (!validate_in_grid(c, d.guard)) return;
  gather_positions<Bits>(d);
}

__global__ void checked_add_float_quads_kernel(ScatterDesc d, CheckedArgs c) {
  if (!validate_in_grid(c, d.guard)) return;
  add_float_quads(d);
}

/// The calling thread's report buffer: pinned, mapped host memory (its device
/// alias goes into IndexGuard::report), also the target of index_ranges_read_back.
struct ReportBuffer {
  IndexReport* host = nullptr;
  IndexReport* device = nullptr;
  ~ReportBuffer() {
    if (host != nullptr) (void)cudaFreeHost(host);  // at exit the runtime may be gone: nothing to do
  }
};

ReportBuffer& report_buffer() {
  thread_local ReportBuffer buffer;
  if (buffer.host == nullptr) {
    void* host = nullptr;
    STRATA_CUDA_CHECK(cudaHostAlloc(&host, sizeof(IndexReport), cudaHostAllocMapped | cudaHostAllocPortable));
    void* device = nullptr;
    const cudaError_t status = cudaHostGetDevicePointer(&device, host, 0);
    if (status != cudaSuccess) (void)cudaFreeHost(host);
    STRATA_CUDA_CHECK(status);
    // cudaHostAlloc does not clear what it hands out (it may be a buffer a
    // finished thread freed): a sequence number left in it could pass for a
    // report not yet written.
    std::memset(host, 0, sizeof(IndexReport));
    buffer.host = static_cast<IndexReport*>(host);
    buffer.device = static_cast<IndexReport*>(device);
  }
  return buffer;
}

/// Sequence numbers of reports, from 1, never reused in the process: a report
/// still pending from an earlier op (or a buffer reused from another thread)
/// can never carry the number a later op waits for.
std::atomic<unsigned long long> next_report_sequence{0};

IndexRange decode_range(const unsigned long long* keys, int k) {
  return IndexRange{index_from_order_key(keys[2 * k]), index_from_order_key(~keys[2 * k + 1])};
}

}  // namespace

void scatter_update(const ScatterDesc& d, void* stream, int device) {
  if (d.numel == 0) return;
  detail::CudaDeviceScope scope(device);
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  if (adds_float_quads(d)) {
    add_float_quads_kernel<<<scatter_blocks(d.numel / 4), kBlockThreads, 0, cuda_stream>>>(d);
    STRATA_CUDA_CHECK_LAUNCH();
    return;
  }
  const unsigned int blocks = scatter_blocks(d.numel);
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
    gather_kernel<Bits><<<scatter_blocks(d.numel), kBlockThreads, 0, cuda_stream>>>(d);
  });
  STRATA_CUDA_CHECK_LAUNCH();
}

namespace {

/// Fills `args` with the `count` index tensors and returns the blocks a
/// min/max pass over them takes: about 16 values per thread, at most 1024
/// blocks per tensor.
unsigned int fill_min_max_args(MinMaxArgs& args, const IndexTensorDesc* tensors, int count) {
  int64_t largest = 0;
  for (int i = 0; i < count; ++i) {
    args.tensors[i] = tensors[i];
    args.contiguous[i] = tensors[i].is_contiguous();
    largest = tensors[i].numel > largest ? tensors[i].numel : largest;
  }
  return grid_blocks((largest + 15) / 16, 1024);
}

/// The most blocks of `kernel` the device runs at once, which a cooperative
/// launch may not exceed; 0 where the device cannot launch cooperatively.
/// The device is current. Cached per thread.
struct CoresidentCache {
  struct Entry {
    const void* kernel;
    int device;
    int blocks;
  };
  // One entry per checked kernel and device (about 20 kernels a device): a
  // short list, every refusal recorded however many devices there are.
  std::vector<Entry> entries;
  Entry* find(const void* kernel, int device) {
    for (Entry& entry : entries) {
      if (entry.kernel == kernel && entry.device == device) return &entry;
    }
    return nullptr;
  }
};

CoresidentCache& coresident_cache() {
  thread_local CoresidentCache cache;
  return cache;
}

int coresident_blocks(const void* kernel, int device) {
  CoresidentCache& cache = coresident_cache();
  if (const CoresidentCache::Entry* entry = cache.find(kernel, device)) return entry->blocks;
  int cooperative = 0;
  int processors = 0;
  int per_processor = 0;
  STRATA_CUDA_CHECK(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, device));
  STRATA_CUDA_CHECK(cudaDeviceGetAttribute(&processors, cudaDevAttrMultiProcessorCount, device));
  STRATA_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_processor, kernel, kBlockThreads, 0));
  const int blocks = cooperative != 0 ? processors * per_processor : 0;
  cache.entries.push_back(CoresidentCache::Entry{kernel, device, blocks});
  return blocks;
}

/// After the device refused a cooperative launch of `kernel` as too large (fewer
/// SMs usable than it has: MPS with an active-thread percentage, green
/// contexts): that kernel takes the separate path on this device from now on.
void refuse_cooperative(const void* kernel, int device) {
  CoresidentCache& cache = coresident_cache();
  if (CoresidentCache::Entry* entry = cache.find(kernel, device)) entry->blocks = 0;
}

/// The updates and gathers that take one launch: from 256 to 64 Ki positions.
/// Measured on an H100 (2026-11-27, host time per op of back-to-back
/// scatter_add_, index_put_ and index_add_): one launch saved 2-4 us of 14-19
/// from 256 to 64 Ki positions; at 256 Ki and more its grid (only the blocks
/// the device holds at once, four 64-register blocks per SM) made index_put_
/// and index_add_ slower than the separate update kernel, and at 3 positions
/// the cooperative launch cost index_put_ 1-3 us more than two plain ones.
inline constexpr int64_t kOneLaunchMinPositions = 256;
inline constexpr int64_t kOneLaunchMaxPositions = int64_t{1} << 16;

/// The largest update or gather that takes one launch: kOneLaunchMaxPositions;
/// STRATA_CUDA_ONE_LAUNCH_MAX (positions) moves it, for measuring the window
/// (scripts/gpu_check.sh runs the benchmarks with it at 16 Mi), and
/// STRATA_CUDA_SEPARATE_INDEX_CHECK=1 closes it: the validation then keeps its
/// own launch before the update (the path of deterministic mode), for comparison.
int64_t one_launch_max_positions() {
  static const int64_t largest = [] {
    const char* separate = std::getenv("STRATA_CUDA_SEPARATE_INDEX_CHECK");
    if (separate != nullptr && *separate != '\0' && *separate != '0') return int64_t{0};
    const char* env = std::getenv("STRATA_CUDA_ONE_LAUNCH_MAX");
    if (env == nullptr || *env == '\0') return kOneLaunchMaxPositions;
    char* end = nullptr;
    const long long value = std::strtoll(env, &end, 10);
    return *end == '\0' && value >= 0 ? static_cast<int64_t>(value) : kOneLaunchMaxPositions;
  }();
  return largest;
}

/// One cooperative launch of a checked kernel over at most the blocks the
/// device holds at once: as many as the update or the min/max pass would take
/// alone. False (nothing queued) where the device cannot launch cooperatively.
bool launch_checked(void (*kernel)(ScatterDesc, CheckedArgs), ScatterDesc d, const IndexTensorDesc* tensors,
                    int count, void* stream, int device) {
  if (d.numel < kOneLaunchMinPositions || d.numel > one_launch_max_positions() || count <= 0 ||
      count > kMaxIndexOperands) {
    return false;
  }
  detail::CudaDeviceScope scope(device);
  const int resident = coresident_blocks(reinterpret_cast<const void*>(kernel), device);
  if (resident <= 0) return false;
  CheckedArgs c;
  const int64_t wanted = std::max<int64_t>(scatter_blocks(d.numel), fill_min_max_args(c.index, tensors, count));
  const auto blocks = static_cast<unsigned int>(std::min<int64_t>(wanted, resident));
  CachingAllocator& allocator = memory::allocator(Device(DeviceType::CUDA, device));
  void* partials = allocator.allocate(2 * sizeof(long long) * static_cast<size_t>(count) * blocks, stream);
  c.partials = static_cast<long long*>(partials);
  void* args[] = {&d, &c};
  const cudaError_t status = cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(kernel), dim3(blocks),
                                                         dim3(kBlockThreads), args, 0,
                                                         static_cast<cudaStream_t>(stream));
  allocator.deallocate(partials);  // reused on this stream only after the kernel (stream order)
  if (status == cudaErrorCooperativeLaunchTooLarge || status == cudaErrorNotSupported) {
    (void)cudaGetLastError();  // nothing was queued: the separate path runs instead
    refuse_cooperative(reinterpret_cast<const void*>(kernel), device);
    return false;
  }
  STRATA_CUDA_CHECK(status);
  return true;
}

}  // namespace

bool scatter_update_checked(const ScatterDesc& d, const IndexTensorDesc* tensors, int count, void* stream,
                            int device) {
  bool launched = false;
  if (adds_float_quads(d)) {
    launched = launch_checked(checked_add_float_quads_kernel, d, tensors, count, stream, device);
  } else if (d.reduce == ScatterReduce::Assign) {
    dispatch_bits(ElementwiseDesc::dtype_size(d.dtype), [&](auto tag) {
      using Bits = typename decltype(tag)::type;
      launched = launch_checked(checked_assign_kernel<Bits>, d, tensors, count, stream, device);
    });
  } else {
    dispatch_dtype(d.dtype, [&](auto tag) {
      using T = typename decltype(tag)::type;
      launched = launch_checked(checked_reduce_kernel<T>, d, tensors, count, stream, device);
    });
  }
  return launched;
}

bool gather_checked(const ScatterDesc& d, const IndexTensorDesc* tensors, int count, void* stream, int device) {
  bool launched = false;
  dispatch_bits(ElementwiseDesc::dtype_size(d.dtype), [&](auto tag) {
    using Bits = typename decltype(tag)::type;
    launched = launch_checked(checked_gather_kernel<Bits>, d, tensors, count, stream, device);
  });
  return launched;
}

void index_min_max_launch(const IndexTensorDesc* tensors, int count, unsigned long long* keys, void* stream,
                          int device, const IndexGuard* report) {
  if (count <= 0) return;
  if (count > kMaxIndexOperands) throw DeviceError("index_min_max: too many index tensors");
  detail::CudaDeviceScope scope(device);
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  MinMaxArgs args;
  // Small tensors take one block for all of them, which writes the keys
  // without atomics, a memset or an arrival count.
  const unsigned int blocks = fill_min_max_args(args, tensors, count);
  const unsigned int tensor_rows = blocks > 1 ? static_cast<unsigned int>(count) : 1u;
  if (blocks > 1) {
    const size_t bytes = index_keys_words(count) * sizeof(unsigned long long);
    STRATA_CUDA_CHECK(cudaMemsetAsync(keys, 0xff, bytes, cuda_stream));
  }
  IndexGuard guard;
  if (report != nullptr) guard = *report;
  guard.count = count;
  min_max_kernel<<<dim3(blocks, tensor_rows), kBlockThreads, 0, cuda_stream>>>(args, count, keys, guard);
  STRATA_CUDA_CHECK_LAUNCH();
}

void index_ranges_read_back(const unsigned long long* keys, int count, IndexRange* out, void* stream, int device) {
  if (count <= 0) return;
  detail::CudaDeviceScope scope(device);
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  unsigned long long* host = report_buffer().host->keys;
  STRATA_CUDA_CHECK(cudaMemcpyAsync(host, keys, 2 * sizeof(unsigned long long) * count, cudaMemcpyDeviceToHost,
                                    cuda_stream));
  STRATA_CUDA_CHECK(cudaStreamSynchronize(cuda_stream));
  for (int i = 0; i < count; ++i) out[i] = decode_range(host, i);
}

void begin_index_report(IndexGuard& guard, int device) {
  detail::CudaDeviceScope scope(device);
  ReportBuffer& buffer = report_buffer();
  guard.report = buffer.device;
  guard.sequence = next_report_sequence.fetch_add(1, std::memory_order_relaxed) + 1;
}

void abandon_index_report(void* stream, int device) noexcept {
  // The report may still be pending: let it land before another op's report
  // can be written to the same buffer. The op is failing already: its error
  // is the one to throw, so the stream's own error is only cleared here.
  try {
    detail::CudaDeviceScope scope(device);
    (void)cudaStreamSynchronize(static_cast<cudaStream_t>(stream));
  } catch (...) {  // the device could not be made current: nothing was queued there by this thread
  }
  (void)cudaGetLastError();
}

void wait_index_report(const IndexGuard& guard, IndexRange* out, void* stream, int device) {
  const IndexReport* report = report_buffer().host;
  // Acquire loads (the device wrote the keys before the sequence number; this
  // file is C++17, without std::atomic_ref).
  const auto sequence = [&] { return __atomic_load_n(&report->sequence, __ATOMIC_ACQUIRE); };
  for (unsigned int spin = 1; sequence() != guard.sequence; ++spin) {
    if (spin % 1024 != 0) continue;
    // Now and then: has the stream failed, or finished without a report?
    detail::CudaDeviceScope scope(device);
    const cudaError_t status = cudaStreamQuery(static_cast<cudaStream_t>(stream));
    if (detail::cuda_not_ready(status)) continue;
    STRATA_CUDA_CHECK(status);
    if (sequence() != guard.sequence) {
      throw DeviceError("internal: the index check finished without its report");
    }
  }
  for (int i = 0; i < guard.count; ++i) out[i] = decode_range(report->keys, i);
}

void index_min_max(const IndexTensorDesc* tensors, int count, IndexRange* out, void* stream, int device) {
  if (count <= 0) return;
  CachingAllocator& allocator = memory::allocator(Device(DeviceType::CUDA, device));
  const size_t bytes = index_keys_words(count) * sizeof(unsigned long long);
  auto* keys = static_cast<unsigned long long*>(allocator.allocate(bytes, stream));
  try {
    index_min_max_launch(tensors, count, keys, stream, device);
    index_ranges_read_back(keys, count, out, stream, device);
  } catch (...) {
    allocator.deallocate(keys);
    throw;
  }
  allocator.deallocate(keys);
}

}  // namespace strata::kernels::cuda
