// Entry points of the scatter-family kernels (CPU in kernels/cpu/{scatter,index}.cpp,
// CUDA in kernels/cuda/{scatter,index}.cu). All take plain descriptors.
#pragma once

#include "kernels/common/scatter_desc.h"

namespace strata::kernels {

namespace cpu {

/// Scatter mode: applies d.reduce at every position. Each destination receives
/// its updates in index order (row-major over the iteration space) whatever the
/// thread count, so results are deterministic and "last in index order wins"
/// for Assign.
void scatter_update(const ScatterDesc& d);
/// What scatter_update_checked did.
enum class FusedCheck {
  NotTaken,    // nothing: validate the indices, then call scatter_update
  Applied,     // every index was in range and the update is done
  OutOfRange,  // some index is out of range; nothing was written
};
/// The routes that validate the indices in the pass that reads them (the
/// parts of many additions or assignments into a small dense target, each
/// applied to a private copy; flat updates into
/// a target beyond the last-level cache, bucketed by destination across
/// threads, on the CPU): every index of
/// `d` is checked against [0, dim_size) ([-dim_size, dim_size) with
/// wrap_negative) before anything of the indexed tensor is written. For every
/// other `d`, NotTaken. Used by the front-ends in place of a separate
/// validation pass.
FusedCheck scatter_update_checked(const ScatterDesc& d);
/// Gather mode: direct[pos] = indexed[offset(pos)].
void gather(const ScatterDesc& d);
/// The gather with its indices validated in the loop that reads them (one
/// Int64 index operand): Applied, or OutOfRange when some index was out of
/// range (the direct operand, the caller's fresh output, then holds partial
/// results and is discarded; self is only read); NotTaken for other `d`
/// (validate, then call gather). Spares the separate validation read.
FusedCheck gather_checked(const ScatterDesc& d);
/// out[i] = {min, max} of tensors[i]. Tensors must be non-empty.
void index_min_max(const IndexTensorDesc* tensors, int count, IndexRange* out);

}  // namespace cpu

namespace cuda {

/// Scatter mode on `stream` (a cudaStream_t). Assign: plain stores, one of
/// several duplicates wins. Reductions: atomics.
void scatter_update(const ScatterDesc& d, void* stream, int device);
/// Deterministic scatter mode (kernels/cuda/index.cu): radix-sorts positions by
/// destination (stable, so index order is kept within a destination) and applies
/// each destination's updates serially in that order: the same bits as the CPU
/// kernel, run after run. Temporary memory comes from the device's caching
/// allocator.
void scatter_update_sorted(const ScatterDesc& d, void* stream, int device);
/// Gather mode on `stream`.
void gather(const ScatterDesc& d, void* stream, int device);
/// Validation and update in one cooperative launch on `stream`: the grid first
/// folds the min/max of the `count` index tensors (as index_min_max_launch
/// does; the guard's lowest/size/count describe them), meets at one grid-wide
/// barrier, reports the ranges through the guard (begin_index_report) and,
/// only when every index is in range, runs scatter_update's loop. One launch
/// instead of a memset, the min/max pass and the guarded update, taken from
/// 256 to 64 Ki positions (where it was measured faster). False (nothing
/// queued) outside that window, where the device cannot launch
/// cooperatively, or when STRATA_CUDA_SEPARATE_INDEX_CHECK is set: then take
/// the separate path.
bool scatter_update_checked(const ScatterDesc& d, const IndexTensorDesc* tensors, int count, void* stream,
                            int device);
/// The same for gather.
bool gather_checked(const ScatterDesc& d, const IndexTensorDesc* tensors, int count, void* stream, int device);
/// The device words a min/max pass over `count` index tensors writes: the
/// 2 * count keys, then the count of blocks that have finished (used when it
/// reports).
inline size_t index_keys_words(int count) { return 2 * static_cast<size_t>(count) + 1; }
/// Queues the min/max pass over `count` (<= kMaxIndexOperands) non-empty index
/// tensors on `stream`, without waiting: `keys` (index_keys_words(count),
/// device memory) receives the ranges as IndexGuard reads them. Given a guard
/// whose report begin_index_report set, the pass also reports the ranges to the
/// host once it has them (see wait_index_report). Update and gather kernels
/// given the guard do nothing when an index is out of range.
void index_min_max_launch(const IndexTensorDesc* tensors, int count, unsigned long long* keys, void* stream,
                          int device, const IndexGuard* report = nullptr);
/// Copies the `count` ranges in `keys` back and synchronizes the stream: the one
/// read-back of a checked op. No device-side asserts anywhere.
void index_ranges_read_back(const unsigned long long* keys, int count, IndexRange* out, void* stream, int device);
/// Makes the guard report its keys to the calling thread's pinned, mapped
/// report buffer under a fresh sequence number (see IndexGuard).
void begin_index_report(IndexGuard& guard, int device);
/// After begin_index_report, when the op fails before wait_index_report:
/// waits for what is queued on `stream` (its errors ignored), so that the
/// pending report lands before any later op's report can be written.
void abandon_index_report(void* stream, int device) noexcept;
/// Waits until the min/max pass or one-launch checked kernel queued after
/// begin_index_report has reported (the end of the pass or the kernel's grid
/// barrier, not the end of the update: that runs on asynchronously) and
/// returns the ranges. Throws DeviceError if the stream fails first.
void wait_index_report(const IndexGuard& guard, IndexRange* out, void* stream, int device);
/// Both, with scratch keys from the device's caching allocator.
void index_min_max(const IndexTensorDesc* tensors, int count, IndexRange* out, void* stream,
                   int device);

}  // namespace cuda

}  // namespace strata::kernels
