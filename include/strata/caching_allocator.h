// CachingAllocator: the memory pool every Storage is allocated from.
// (Included by strata/memory.h.)
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "strata/memory.h"

namespace strata {

/// Pool configuration, normally parsed from STRATA_ALLOC_CONF.
struct STRATA_API AllocatorConfig {
  /// Blocks of this size or more are never split (default: unlimited).
  size_t max_split_size = SIZE_MAX;
  /// false: every allocate goes upstream and every deallocate returns at once
  /// (for debugging with memory checkers).
  bool caching_enabled = true;

  /// Parses "key:value,key:value". Throws ValueError naming a bad key or value.
  static AllocatorConfig parse(const std::string& text);
  /// parse(getenv("STRATA_ALLOC_CONF")), or the defaults when unset.
  static AllocatorConfig from_env();
};

/// A caching pool over an upstream MemoryResource. Thread-safe.
class STRATA_API CachingAllocator {
 public:
  explicit CachingAllocator(std::shared_ptr<MemoryResource> upstream,
                            AllocatorConfig config = AllocatorConfig::from_env());
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  /// Memory for `bytes` (rounded up to 512 B) usable on `stream`; 0 bytes gives
  /// nullptr. Throws OutOfMemoryError when the upstream fails even after the
  /// cache has been freed.
  void* allocate(size_t bytes, StreamHandle stream = nullptr);
  /// Returns a pointer from allocate() to the pool (nullptr is ignored).
  void deallocate(void* ptr) noexcept;
  /// Marks a use of the block holding `ptr` on `stream`: after deallocate the
  /// block is reused only once the work queued on `stream` so far completed.
  void record_stream(void* ptr, StreamHandle stream);
  /// Returns every cached, wholly free segment upstream.
  void empty_cache();

  MemoryResource& upstream() const noexcept;
  Device device() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strata
