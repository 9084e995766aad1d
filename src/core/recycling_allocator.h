// A std::allocator replacement for the shared_ptr control blocks of Tensor and
// Storage handles: each thread keeps up to kSlots freed blocks per block size
// and hands them back before asking malloc. A 3x3 zeros() makes and frees two
// of them; malloc and free were a third of its instructions.
#pragma once

#include <cstddef>
#include <new>

#if defined(__GNUC__)
#define STRATA_TLS_INITIAL_EXEC __attribute__((tls_model("initial-exec")))
#else
#define STRATA_TLS_INITIAL_EXEC
#endif

namespace strata::detail {

/// The per-thread cache behind RecyclingAllocator: one stack of freed blocks
/// per size.
template <size_t kBytes>
class BlockCache {
 public:
  static constexpr int kSlots = 16;

  static void* take() noexcept {
    BlockCache* cache = instance();
    if (cache == nullptr || cache->count_ == 0) return nullptr;
    return cache->slots_[--cache->count_];
  }
  /// False when the block was not kept (cache full or being destroyed).
  static bool give(void* block) noexcept {
    BlockCache* cache = instance();
    if (cache == nullptr || cache->count_ == kSlots) return false;
    cache->slots_[cache->count_++] = block;
    return true;
  }

  ~BlockCache() {
    gone_ = true;  // handles destroyed later on this thread free their blocks directly
    for (int i = 0; i < count_; ++i) ::operator delete(slots_[i]);
  }

 private:
  static BlockCache* instance() noexcept {
    if (gone_) return nullptr;
    // initial-exec: a direct %fs-relative access instead of a __tls_get_addr
    // call per use (which cost more than the malloc it saves). The cache is
    // small (under 150 bytes a size), well within the static TLS surplus that
    // glibc keeps for libraries loaded with dlopen.
    STRATA_TLS_INITIAL_EXEC thread_local BlockCache cache;
    return &cache;
  }

  void* slots_[kSlots];
  int count_ = 0;
  // Trivially destructible, so still readable while thread-local objects are
  // being destroyed.
  STRATA_TLS_INITIAL_EXEC static thread_local bool gone_;
};

template <size_t kBytes>
STRATA_TLS_INITIAL_EXEC thread_local bool BlockCache<kBytes>::gone_ = false;

template <typename T>
struct RecyclingAllocator {
  using value_type = T;
  RecyclingAllocator() noexcept = default;
  template <typename U>
  RecyclingAllocator(const RecyclingAllocator<U>&) noexcept {}  // NOLINT: rebinding

  T* allocate(size_t n) {
    if (n == 1) {
      if (void* block = BlockCache<sizeof(T)>::take()) return static_cast<T*>(block);
    }
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n == 1 && BlockCache<sizeof(T)>::give(p)) return;
    ::operator delete(p);
  }
  template <typename U>
  bool operator==(const RecyclingAllocator<U>&) const noexcept { return true; }
};

}  // namespace strata::detail
