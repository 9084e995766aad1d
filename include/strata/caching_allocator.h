// CachingAllocator: the memory pool every Storage is allocated from.
// (Included by strata/memory.h.)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "strata/memory.h"

namespace strata {

/// Pool configuration, normally parsed from STRATA_ALLOC_CONF, a comma-separated
/// list of `key:value` pairs:
///   max_split_size_mb:N           blocks of N MiB or more are never split (N > 20)
///   max_non_split_rounding_mb:N   an oversize block serves requests up to N MiB
///                                 smaller than itself (default 20)
///   roundup_power2_divisions:D    round sizes up to 1/D steps between powers of
///                                 two (D a power of two, 0 or 1 = off); or a list
///                                 `[256:1,1024:4,>:8]` keyed by size in MiB
///   garbage_collection_threshold:F  in (0, 1): when reserved memory exceeds F of
///                                 the device capacity, free old cached segments
///                                 before asking the device for more
///   caching_enabled:False         bypass the cache (every allocation goes to the
///                                 device and returns at once), for memory checkers
struct STRATA_API AllocatorConfig {
  /// Blocks of this size or more are never split (default: unlimited).
  size_t max_split_size = SIZE_MAX;
  /// An oversize request takes a cached oversize block only when the block is
  /// smaller than request + this.
  size_t max_non_split_rounding = size_t{20} << 20;
  /// Divisions per power-of-two interval, one entry per interval from 1 MiB
  /// (index 0, which also covers smaller sizes) to 32 GiB and above (index 15).
  std::array<size_t, 16> roundup_power2_divisions{};
  /// 0 disables garbage collection.
  double garbage_collection_threshold = 0.0;
  /// false: every allocate goes upstream and every deallocate returns at once
  /// (for debugging with memory checkers).
  bool caching_enabled = true;

  /// Parses "key:value,key:value". Throws ValueError naming a bad key or value.
  static AllocatorConfig parse(const std::string& text);
  /// parse(getenv("STRATA_ALLOC_CONF")), or the defaults when unset. Setting
  /// STRATA_NO_MEMORY_CACHING=1 also turns caching off.
  static AllocatorConfig from_env();
};

/// One statistic in the style of PyTorch's memory_stats: the current value, its
/// peak, and the totals ever added and removed.
struct Stat {
  int64_t current = 0;
  int64_t peak = 0;
  int64_t allocated = 0;
  int64_t freed = 0;
};

/// Index of a StatArray: the whole allocator, or one of its two pools.
enum StatPool : size_t { kAllPools = 0, kSmallPool = 1, kLargePool = 2 };
using StatArray = std::array<Stat, 3>;

/// A snapshot of a CachingAllocator's statistics. Byte counts are of rounded
/// block sizes except `requested_bytes` (what callers asked for).
struct MemoryStats {
  StatArray allocation;            ///< blocks handed out and not yet freed
  StatArray segment;               ///< upstream allocations held
  StatArray active;                ///< allocated blocks plus freed ones awaiting events
  StatArray inactive_split;        ///< free blocks inside partly used segments
  StatArray allocated_bytes;
  StatArray reserved_bytes;        ///< bytes held from the upstream
  StatArray active_bytes;
  StatArray inactive_split_bytes;
  StatArray requested_bytes;
  Stat oversize_allocations;       ///< allocations of max_split_size or more
  Stat oversize_segments;
  int64_t num_alloc_retries = 0;   ///< full cache flushes after an upstream failure
  int64_t num_ooms = 0;            ///< OutOfMemoryError thrown
  int64_t num_sync_all_streams = 0;
  int64_t num_device_alloc = 0;    ///< upstream allocate calls that succeeded
  int64_t num_device_free = 0;     ///< upstream deallocate calls
  int64_t num_cache_hits = 0;      ///< allocations served from cached blocks
  int64_t num_cache_misses = 0;    ///< allocations that needed a new segment
  size_t max_split_size = SIZE_MAX;
};

/// One block of a segment in a snapshot.
struct BlockInfo {
  uintptr_t address = 0;
  size_t size = 0;
  size_t requested_size = 0;  ///< 0 unless allocated
  bool allocated = false;
  /// Allocated, or freed but waiting for events on the streams that used it.
  bool active = false;
  StreamHandle stream = nullptr;
};

/// One upstream allocation and the blocks it is split into, in address order.
struct SegmentInfo {
  uintptr_t address = 0;
  size_t total_size = 0;
  size_t allocated_size = 0;
  size_t active_size = 0;
  size_t requested_size = 0;
  StreamHandle stream = nullptr;
  bool is_small = false;  ///< from the small (≤ 1 MiB) pool
  std::vector<BlockInfo> blocks;
};

/// A caching pool over an upstream MemoryResource, in the manner of PyTorch's
/// CUDA caching allocator. Sizes round up to 512 B. Requests up to 1 MiB are
/// carved from 2 MiB segments (the small pool); larger ones come from the large
/// pool (20 MiB segments for requests under 10 MiB, else the size rounded up to
/// 2 MiB). Free blocks are found by best fit among those of the same stream,
/// split when the remainder is worth keeping and merged with free neighbours when
/// freed. A freed block is reused at once on its stream, and on no other one;
/// after record_stream() it returns to the pool only when events recorded on
/// every using stream have completed (polled on allocate, never waited for).
/// When the upstream is out of memory the pool frees cached segments and retries
/// before throwing OutOfMemoryError. Thread-safe: one mutex per allocator.
class STRATA_API CachingAllocator {
 public:
  explicit CachingAllocator(std::shared_ptr<MemoryResource> upstream,
                            AllocatorConfig config = AllocatorConfig::from_env());
  /// Returns every segment upstream (outstanding allocations become invalid).
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  /// Memory for `bytes` (rounded up to 512 B) usable on `stream`; 0 bytes gives
  /// nullptr. Throws OutOfMemoryError when the upstream fails even after the
  /// cache has been freed, DeviceError when the upstream fails otherwise.
  void* allocate(size_t bytes, StreamHandle stream = nullptr);
  /// Returns a pointer from allocate() to the pool (nullptr is ignored).
  void deallocate(void* ptr) noexcept;
  /// Marks a use of the block holding `ptr` on `stream`: after deallocate the
  /// block is reused only once the work queued on `stream` so far completed.
  /// Throws ValueError for a pointer this allocator did not hand out.
  void record_stream(void* ptr, StreamHandle stream);
  /// Waits for the events of freed blocks, then returns every cached, wholly
  /// free segment upstream.
  void empty_cache();

  /// A copy of the statistics.
  MemoryStats stats() const;
  /// Sets every peak to its current value.
  void reset_peak_stats();
  /// Zeroes the allocated/freed totals and the counters.
  void reset_accumulated_stats();
  /// Every segment and its blocks, in address order.
  std::vector<SegmentInfo> snapshot() const;
  /// A readable table of the statistics.
  std::string summary() const;

  const AllocatorConfig& config() const noexcept;
  MemoryResource& upstream() const noexcept;
  Device device() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

namespace memory {

/// Statistics of `device`'s allocator. Throws DeviceError for an unusable device.
STRATA_API MemoryStats stats(const Device& device);
/// Returns the unused cached segments of `device`'s allocator upstream.
STRATA_API void empty_cache(const Device& device);
/// A readable table of `device`'s allocator statistics.
STRATA_API std::string summary(const Device& device);
/// Every segment of `device`'s allocator and its blocks.
STRATA_API std::vector<SegmentInfo> snapshot(const Device& device);
STRATA_API void reset_peak_stats(const Device& device);
STRATA_API void reset_accumulated_stats(const Device& device);
/// "512 bytes", "1.50 KiB", "20.00 MiB", "1.00 PiB": the unit the summary and
/// the out-of-memory message use.
STRATA_API std::string format_bytes(uint64_t bytes);

}  // namespace memory

}  // namespace strata
