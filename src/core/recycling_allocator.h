// Per-thread recycling of what every small tensor allocates: the shared_ptr
// control blocks of Tensor and Storage handles (RecyclingAllocator) and the
// buffers of their shape vectors (ShapeCache). Each thread keeps a few freed
// ones and hands them back before asking malloc. A 3x3 zeros() makes and frees
// two control blocks and two shape buffers; malloc and free were a third of its
// instructions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

#include "src/core/tls.h"

namespace strata::detail {

/// The calling thread's instance of Cache. The fast path is one initial-exec
/// TLS load: a thread_local object with a destructor needs a guard variable,
/// which GCC reaches through a __tls_get_addr call (it cost more than the
/// malloc a cache saves); a plain pointer needs none. nullptr once the
/// thread's instance is destroyed (objects freed later on this thread, at its
/// exit, go straight to free).
template <typename Cache>
class PerThread {
 public:
  static Cache* get() noexcept {
    Cache* cache = current_;
    if (cache != nullptr) [[likely]] return cache;
    return create();
  }

 private:
  struct Holder {
    Cache cache;
    ~Holder() {
      current_ = nullptr;
      gone_ = true;
    }
  };
  static Cache* create() noexcept {
    if (gone_) return nullptr;
    thread_local Holder holder;  // once per thread
    current_ = &holder.cache;
    return current_;
  }
  // Trivial and constant-initialized: no guard, readable at any time. The
  // caches are small (under 200 bytes each), well within the static TLS
  // surplus that glibc keeps for libraries loaded with dlopen.
  STRATA_TLS_INITIAL_EXEC static inline thread_local Cache* current_ = nullptr;
  STRATA_TLS_INITIAL_EXEC static inline thread_local bool gone_ = false;
};

/// The per-thread cache behind RecyclingAllocator: one stack of freed blocks
/// per size.
template <size_t kBytes>
class BlockCache {
 public:
  static constexpr int kSlots = 16;

  static void* take() noexcept {
    BlockCache* cache = PerThread<BlockCache>::get();
    if (cache == nullptr || cache->count_ == 0) return nullptr;
    return cache->slots_[--cache->count_];
  }
  /// False when the block was not kept (cache full or being destroyed).
  static bool give(void* block) noexcept {
    BlockCache* cache = PerThread<BlockCache>::get();
    if (cache == nullptr || cache->count_ == kSlots) return false;
    cache->slots_[cache->count_++] = block;
    return true;
  }

  ~BlockCache() {
    for (int i = 0; i < count_; ++i) ::operator delete(slots_[i]);
  }

 private:
  void* slots_[kSlots];
  int count_ = 0;
};

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

/// The per-thread spare shape vectors: the sizes and strides buffers of
/// destroyed tensors (Tensor::Impl gives them back), reused by the next tensor
/// this thread makes through take().
class ShapeCache {
 public:
  using Vector = std::vector<int64_t>;
  static constexpr int kSlots = 8;
  static constexpr size_t kMaxCapacity = 16;

  /// A vector of n elements (values unspecified): a recycled buffer when one
  /// is at hand.
  static Vector take(size_t n) {
    ShapeCache* cache = PerThread<ShapeCache>::get();
    if (cache != nullptr && cache->count_ > 0) {
      Vector v = std::move(cache->slots_[--cache->count_]);
      v.resize(n);
      return v;
    }
    return Vector(n);
  }
  /// Keeps v's buffer when it is small and there is room; else v frees it.
  static void give(Vector&& v) noexcept {
    if (v.capacity() == 0 || v.capacity() > kMaxCapacity) return;
    ShapeCache* cache = PerThread<ShapeCache>::get();
    if (cache == nullptr || cache->count_ == kSlots) return;
    cache->slots_[cache->count_++] = std::move(v);
  }

 private:
  Vector slots_[kSlots];
  int count_ = 0;
};

}  // namespace strata::detail
