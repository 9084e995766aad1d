// The deterministic CUDA path of the scatter family (set_deterministic(true)):
// every position's destination becomes a sort key, a stable radix sort (CUB)
// groups positions by destination while keeping index order inside a group, and
// one thread per destination applies that group's updates serially, rounding to
// the element type after every step exactly as the CPU loop does. The result
// is the same bits run after run, and the same bits as the CPU kernel: for
// scatter_/index_put_ the last duplicate in index order wins. The key and the
// apply step are kernels/common/scatter_sorted.h's, which the CPU tests also
// run (with std::stable_sort in place of the radix sort).
//
// This is the only translation unit that includes CUB. Temporary buffers (keys,
// positions, CUB's scratch) come from the device's caching allocator on the
// op's stream.
#include <cuda_runtime.h>

#include <cstdint>

#include <cub/device/device_radix_sort.cuh>

#include "kernels/common/dispatch.h"
#include "kernels/common/scatter_kernels.h"
#include "kernels/common/scatter_sorted.h"
#include "kernels/cuda/loops.cuh"
#include "src/runtime/cuda_check.h"
#include "strata/memory.h"

namespace strata::kernels::cuda {
namespace {

/// Memory from the caching allocator, returned when the scope ends. Work queued
/// on `stream` before the return may still use it: the pool reuses a block on
/// the same stream only in stream order.
class ScratchBuffer {
 public:
  ScratchBuffer(CachingAllocator& allocator, size_t bytes, void* stream)
      : allocator_(allocator), ptr_(allocator.allocate(bytes, stream)) {}
  ~ScratchBuffer() { allocator_.deallocate(ptr_); }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  template <typename T> T* as() const { return static_cast<T*>(ptr_); }

 private:
  CachingAllocator& allocator_;
  void* ptr_;
};

/// Key: the destination element's index (32 bits when every destination fits);
/// Pos: the position (32 bits below 2^31 positions). Narrow pairs halve what
/// the radix sort moves on every pass.
template <typename Key, typename Pos>
__global__ void destination_keys_kernel(ScatterDesc d, int64_t element, Key* keys, Pos* positions) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < d.numel; i += step) {
    keys[i] = static_cast<Key>(sorted_destination(d, i, element));
    positions[i] = static_cast<Pos>(i);
  }
}

template <typename T, typename Key, typename Pos>
__global__ void apply_sorted_kernel(ScatterDesc d, int64_t element, const Key* keys, const Pos* positions,
                                    int64_t n) {
  if (!index_guard_passes(d.guard)) return;  // a bad index: the keys mean nothing, nothing is written
  T scalar;
  memcpy(&scalar, d.scalar, sizeof(T));
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    apply_sorted_at<T, Key, Pos>(d, scalar, element, keys, positions, i, n);
  }
}

/// The sort and the apply with keys of type Key and positions of type Pos.
template <typename Key, typename Pos>
void sort_and_apply(const ScatterDesc& d, int end_bit, CachingAllocator& allocator, void* stream) {
  const auto cuda_stream = static_cast<cudaStream_t>(stream);
  const int64_t n = d.numel;
  const int64_t element = static_cast<int64_t>(ElementwiseDesc::dtype_size(d.dtype));
  ScratchBuffer keys_in(allocator, sizeof(Key) * static_cast<size_t>(n), stream);
  ScratchBuffer keys_out(allocator, sizeof(Key) * static_cast<size_t>(n), stream);
  ScratchBuffer positions_in(allocator, sizeof(Pos) * static_cast<size_t>(n), stream);
  ScratchBuffer positions_out(allocator, sizeof(Pos) * static_cast<size_t>(n), stream);

  destination_keys_kernel<Key, Pos><<<grid_blocks(n, kScatterMaxBlocks), kBlockThreads, 0, cuda_stream>>>(
      d, element, keys_in.as<Key>(), positions_in.as<Pos>());
  STRATA_CUDA_CHECK_LAUNCH();

  // The count in Pos, which holds every position: CUB picks its offset type
  // from the count's, so the 32-bit pairs also get 32-bit offsets.
  const Pos count = static_cast<Pos>(n);
  size_t scratch_bytes = 0;
  STRATA_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, scratch_bytes, keys_in.as<Key>(), keys_out.as<Key>(),
                                                    positions_in.as<Pos>(), positions_out.as<Pos>(), count, 0,
                                                    end_bit, cuda_stream));
  ScratchBuffer scratch(allocator, scratch_bytes, stream);
  STRATA_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(scratch.as<void>(), scratch_bytes, keys_in.as<Key>(),
                                                    keys_out.as<Key>(), positions_in.as<Pos>(),
                                                    positions_out.as<Pos>(), count, 0, end_bit, cuda_stream));

  dispatch_dtype(d.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    apply_sorted_kernel<T, Key, Pos><<<grid_blocks(n, kScatterMaxBlocks), kBlockThreads, 0, cuda_stream>>>(
        d, element, keys_out.as<Key>(), positions_out.as<Pos>(), n);
  });
  STRATA_CUDA_CHECK_LAUNCH();
}

}  // namespace

void scatter_update_sorted(const ScatterDesc& d, void* stream, int device) {
  if (d.numel == 0) return;
  detail::CudaDeviceScope scope(device);
  CachingAllocator& allocator = memory::allocator(Device(DeviceType::CUDA, device));
  // Sort only the bits a destination index can use.
  const int end_bit = sorted_end_bit(d);
  if (sorted_pairs_fit_32_bits(d, end_bit)) {
    sort_and_apply<uint32_t, int32_t>(d, end_bit, allocator, stream);
  } else {
    sort_and_apply<unsigned long long, int64_t>(d, end_bit, allocator, stream);
  }
}

}  // namespace strata::kernels::cuda
