// CachingAllocator: a best-fit, splitting and coalescing pool over an upstream
// MemoryResource, with stream-ordered reuse. The design follows PyTorch's CUDA
// caching allocator (sizes, pools, oversize rule, OOM retry order, stats); the
// code is our own.
#include "strata/caching_allocator.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "src/core/check.h"
#include "src/memory/memory_internal.h"
#include "strata/cuda.h"

namespace strata {

namespace {

using memory::detail::kMiB;

constexpr size_t kMinBlockSize = 512;                // every size is a multiple of this
constexpr size_t kSmallSize = 1 * kMiB;              // largest request of the small pool
constexpr size_t kSmallBuffer = 2 * kMiB;            // segment size of the small pool
constexpr size_t kMinLargeAlloc = 10 * kMiB;         // below this, large requests share...
constexpr size_t kLargeBuffer = 20 * kMiB;           // ...20 MiB segments
constexpr size_t kRoundLarge = 2 * kMiB;             // larger segments round to this
constexpr size_t kMaxRequest = size_t{1} << 60;      // 1 EiB: refused outright
constexpr size_t kRoundupStart = 1 * kMiB;           // first roundup_power2_divisions interval

size_t log2_floor(size_t value) { return 63 - static_cast<size_t>(__builtin_clzll(value)); }

size_t round_up(size_t value, size_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// ---- bookkeeping containers that do not touch the heap on a cache hit ------------

struct Block;


// Free blocks ordered by (stream, size, address): a lower_bound on (stream, size)
// is the best fit on that stream.
struct BlockOrder {
  using is_transparent = void;
  struct Key {
    StreamHandle stream;
    size_t size;
  };
  static uintptr_t id(StreamHandle s) { return reinterpret_cast<uintptr_t>(s); }
  bool operator()(const Block* a, const Block* b) const noexcept;
  // The key sorts before every block of equal stream and size.
  bool operator()(const Block* a, const Key& k) const noexcept;
  bool operator()(const Key& k, const Block* b) const noexcept;
};

// A free list of tree nodes shared by the two pools' sets. One node is added per
// Block ever created, so inserting a free block never allocates (deallocate is
// noexcept and a cache hit stays off the heap).
class NodeFreeList {
 public:
  NodeFreeList() = default;
  NodeFreeList(const NodeFreeList&) = delete;
  NodeFreeList& operator=(const NodeFreeList&) = delete;
  ~NodeFreeList() {
    while (head_ != nullptr) {
      void* next = *static_cast<void**>(head_);
      ::operator delete(head_);
      head_ = next;
    }
  }
  void* take(size_t node_size) {
    if (node_size_ == 0) node_size_ = node_size;
    if (head_ == nullptr || node_size != node_size_) return ::operator new(node_size);
    void* node = head_;
    head_ = *static_cast<void**>(node);
    return node;
  }
  void give(void* node, size_t node_size) noexcept {
    if (node_size != node_size_) {
      ::operator delete(node);
      return;
    }
    *static_cast<void**>(node) = head_;
    head_ = node;
  }
  // Adds one node to the list once the node size is known (after the first take).
  void add_spare() {
    if (node_size_ != 0) give(::operator new(node_size_), node_size_);
  }

 private:
  void* head_ = nullptr;
  size_t node_size_ = 0;
};

template <typename T>
class PooledNodeAllocator {
 public:
  using value_type = T;
  explicit PooledNodeAllocator(NodeFreeList* list) noexcept : list_(list) {}
  template <typename U>
  PooledNodeAllocator(const PooledNodeAllocator<U>& other) noexcept : list_(other.list()) {}
  T* allocate(size_t n) {
    if (n != 1) return static_cast<T*>(::operator new(n * sizeof(T)));
    return static_cast<T*>(list_->take(sizeof(T)));
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n != 1) {
      ::operator delete(p);
      return;
    }
    list_->give(p, sizeof(T));
  }
  NodeFreeList* list() const noexcept { return list_; }
  template <typename U>
  bool operator==(const PooledNodeAllocator<U>& other) const noexcept { return list_ == other.list(); }

 private:
  NodeFreeList* list_;
};

using FreeBlockSet = std::set<Block*, BlockOrder, PooledNodeAllocator<Block*>>;

struct Block {
  char* ptr = nullptr;
  size_t size = 0;
  size_t requested = 0;          // what the caller asked for, while allocated
  StreamHandle stream = nullptr; // the stream the segment belongs to
  Block* prev = nullptr;         // address-order neighbours inside the segment
  Block* next = nullptr;
  uint64_t freed_at = 0;         // free sequence number when it entered the pool (GC age)
  int event_count = 0;           // events still pending before it may be reused
  bool small = false;
  bool allocated = false;
  std::vector<StreamHandle> stream_uses;  // other streams that used it (record_stream)
  // Its node in the free set while there: erasing a known block needs no search.
  FreeBlockSet::iterator pool_position;

  bool is_split() const noexcept { return prev != nullptr || next != nullptr; }
  bool in_pool() const noexcept { return !allocated && event_count == 0; }
};

inline bool BlockOrder::operator()(const Block* a, const Block* b) const noexcept {
  if (a->stream != b->stream) return id(a->stream) < id(b->stream);
  if (a->size != b->size) return a->size < b->size;
  return a->ptr < b->ptr;
}
inline bool BlockOrder::operator()(const Block* a, const Key& k) const noexcept {
  if (a->stream != k.stream) return id(a->stream) < id(k.stream);
  return a->size < k.size;
}
inline bool BlockOrder::operator()(const Key& k, const Block* b) const noexcept {
  if (k.stream != b->stream) return id(k.stream) < id(b->stream);
  return k.size <= b->size;
}

struct SegmentOrder {
  bool operator()(const Block* a, const Block* b) const noexcept { return a->ptr < b->ptr; }
};

// Pointer → allocated Block: open addressing with linear probing and
// backward-shift deletion, so lookups and removals never allocate.
class PointerMap {
 public:
  PointerMap() { rehash(1024); }

  // Makes room for one more insert (the only call here that may allocate).
  void reserve_one() {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);
  }
  void insert(void* key, Block* value) noexcept {
    size_t i = home(key);
    while (slots_[i].key != nullptr) i = (i + 1) & mask_;
    slots_[i] = {key, value};
    ++size_;
  }
  Block* find(void* key) const noexcept {
    for (size_t i = home(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return slots_[i].value;
      if (slots_[i].key == nullptr) return nullptr;
    }
  }
  Block* take(void* key) noexcept {
    size_t i = home(key);
    while (slots_[i].key != key) {
      if (slots_[i].key == nullptr) return nullptr;
      i = (i + 1) & mask_;
    }
    Block* value = slots_[i].value;
    // Shift later members of the probe run back so that no lookup stops early.
    for (size_t j = (i + 1) & mask_; slots_[j].key != nullptr; j = (j + 1) & mask_) {
      size_t h = home(slots_[j].key);
      bool stays = (j > i) ? (h > i && h <= j) : (h > i || h <= j);
      if (!stays) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = {};
    --size_;
    return value;
  }
  size_t size() const noexcept { return size_; }

 private:
  struct Slot {
    void* key = nullptr;
    Block* value = nullptr;
  };
  size_t home(void* key) const noexcept {
    // Blocks are 512-byte aligned; Fibonacci hashing spreads the remaining bits.
    return static_cast<size_t>((reinterpret_cast<uintptr_t>(key) >> 9) * 0x9E3779B97F4A7C15ull >>
                               shift_);
  }
  void rehash(size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    shift_ = 64 - static_cast<int>(log2_floor(capacity));
    size_ = 0;
    for (const Slot& slot : old) {
      if (slot.key != nullptr) insert(slot.key, slot.value);
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  int shift_ = 0;
  size_t size_ = 0;
};

struct PendingEvent {
  EventHandle event;
  Block* block;
};

// Events of one stream complete in the order they were recorded, so polling
// stops at the first one that has not.
struct PendingStream {
  StreamHandle stream;
  std::deque<PendingEvent> events;
};

[[gnu::always_inline]] inline void update_stat(Stat& stat, int64_t delta) noexcept {
  stat.current += delta;
  if (delta > 0) {
    stat.allocated += delta;
    stat.peak = std::max(stat.peak, stat.current);
  } else {
    stat.freed -= delta;
  }
}

template <typename F>
void for_each_stat(MemoryStats& stats, F&& f) {
  for (StatArray* array : {&stats.allocation, &stats.segment, &stats.active, &stats.inactive_split,
                           &stats.allocated_bytes, &stats.reserved_bytes, &stats.active_bytes,
                           &stats.inactive_split_bytes, &stats.requested_bytes}) {
    for (Stat& stat : *array) f(stat);
  }
  f(stats.oversize_allocations);
  f(stats.oversize_segments);
}

}  // namespace

struct CachingAllocator::Impl {
  Impl(std::shared_ptr<MemoryResource> upstream_resource, AllocatorConfig allocator_config)
      : upstream(std::move(upstream_resource)), config(allocator_config) {
    STRATA_CHECK(upstream != nullptr, ValueError, "CachingAllocator: the upstream resource is null");
    stats.max_split_size = config.max_split_size;
    // Teach the node list the node size (one insert) so that add_spare() works.
    Block probe;
    small_blocks.insert(&probe);
    small_blocks.erase(&probe);
  }

  ~Impl();

  std::shared_ptr<MemoryResource> upstream;
  AllocatorConfig config;
  mutable std::mutex mutex;

  NodeFreeList nodes;  // before the sets: they return their nodes to it
  FreeBlockSet small_blocks{BlockOrder{}, PooledNodeAllocator<Block*>(&nodes)};
  FreeBlockSet large_blocks{BlockOrder{}, PooledNodeAllocator<Block*>(&nodes)};
  PointerMap allocated;
  std::vector<Block*> spare_blocks;
  std::set<Block*, SegmentOrder> segments;  // segment heads; a head stays the head
  size_t block_count = 0;                  // Block objects ever created
  std::vector<PendingStream> pending;
  std::vector<EventHandle> spare_events;
  MemoryStats stats;
  uint64_t free_sequence = 0;

  FreeBlockSet& pool_of(const Block* block) { return block->small ? small_blocks : large_blocks; }
  static size_t pool_index(bool small) { return small ? kSmallPool : kLargePool; }

  bool is_oversize(size_t size) const { return size >= config.max_split_size; }

  [[gnu::always_inline]] void update(StatArray& array, bool small, int64_t delta) noexcept {
    update_stat(array[kAllPools], delta);
    update_stat(array[pool_index(small)], delta);
  }

  // ---- sizes ----------------------------------------------------------------------

  size_t round_size(size_t bytes) const {
    if (bytes < kMinBlockSize) return kMinBlockSize;
    size_t interval = bytes < kRoundupStart ? 0 : log2_floor(bytes) - log2_floor(kRoundupStart);
    size_t divisions = config.roundup_power2_divisions[std::min<size_t>(interval, 15)];
    if (divisions > 1 && bytes > kMinBlockSize * divisions) {
      size_t floor_power = size_t{1} << log2_floor(bytes);
      if (floor_power == bytes) return bytes;
      size_t step = floor_power / divisions;
      return floor_power + round_up(bytes - floor_power, step);
    }
    return round_up(bytes, kMinBlockSize);
  }

  size_t segment_size(size_t size) const {
    if (!config.caching_enabled) return size;
    if (size <= kSmallSize) return kSmallBuffer;
    if (size < kMinLargeAlloc) return kLargeBuffer;
    return round_up(size, kRoundLarge);
  }

  bool should_split(const Block* block, size_t size) const {
    if (!config.caching_enabled) return false;
    size_t remaining = block->size - size;
    if (block->small) return remaining >= kMinBlockSize;
    return !is_oversize(block->size) && remaining > kSmallSize;
  }

  // ---- Block objects ----------------------------------------------------------------

  // Reserves everything allocate() may need after it has taken memory, so that
  // nothing past that point can throw and leak it.
  void reserve_bookkeeping() {
    allocated.reserve_one();
    while (spare_blocks.size() < 2) {
      // recycle() pushes back without reallocating: capacity ≥ every Block.
      spare_blocks.reserve(block_count + 1);
      nodes.add_spare();  // one tree node per Block: pool inserts never allocate
      spare_blocks.push_back(new Block());
      ++block_count;
    }
  }

  Block* new_block() noexcept {
    Block* block = spare_blocks.back();
    spare_blocks.pop_back();
    return block;
  }

  void recycle(Block* block) noexcept {
    block->stream_uses.clear();
    block->prev = block->next = nullptr;
    block->event_count = 0;
    block->allocated = false;
    block->requested = 0;
    spare_blocks.push_back(block);  // capacity reserved: never reallocates
  }

  // ---- the pools ----------------------------------------------------------------------

  [[gnu::always_inline]] void insert_free(Block* block) noexcept {
    block->freed_at = ++free_sequence;
    block->pool_position = pool_of(block).insert(block).first;
    count_inactive_split(block, +1);
  }

  [[gnu::always_inline]] void erase_free(Block* block) noexcept {
    pool_of(block).erase(block->pool_position);
    count_inactive_split(block, -1);
  }

  // The part of inactive_split a pooled block accounts for (it counts while it
  // shares its segment with other blocks).
  [[gnu::always_inline]] void count_inactive_split(const Block* block, int sign) noexcept {
    if (!block->is_split()) return;
    update(stats.inactive_split, block->small, sign);
    update(stats.inactive_split_bytes, block->small, sign * static_cast<int64_t>(block->size));
  }

  // Restores the pool order after a pooled block's size changed. When the block
  // still sorts between its neighbours (the usual case) nothing moves; otherwise
  // its node is re-linked, never reallocated.
  [[gnu::always_inline]] void resort(Block* block) noexcept {
    FreeBlockSet& pool = pool_of(block);
    if (pool.size() == 1) return;
    auto it = block->pool_position;
    BlockOrder less;
    bool after_prev = it == pool.begin() || less(*std::prev(it), block);
    bool before_next = std::next(it) == pool.end() || less(block, *std::next(it));
    if (after_prev && before_next) return;
    auto node = pool.extract(it);
    block->pool_position = pool.insert(std::move(node)).position;
  }

  // Carves `size` bytes off the top of a pooled free block, which stays in the
  // pool (keeping its node) with the lower remainder. Allocating from the top
  // keeps a segment's head block at its start and makes the common
  // alloc/free cycle re-sort nothing.
  [[gnu::always_inline]] Block* carve(Block* free_block, size_t size) noexcept {
    // Before: counted when split; after: always split (it has the carved block).
    if (free_block->is_split()) {
      update(stats.inactive_split_bytes, free_block->small, -static_cast<int64_t>(size));
    } else {
      update(stats.inactive_split, free_block->small, 1);
      update(stats.inactive_split_bytes, free_block->small, static_cast<int64_t>(free_block->size - size));
    }
    Block* carved = new_block();
    free_block->size -= size;
    carved->ptr = free_block->ptr + free_block->size;
    carved->size = size;
    carved->stream = free_block->stream;
    carved->small = free_block->small;
    carved->prev = free_block;
    carved->next = free_block->next;
    if (free_block->next != nullptr) free_block->next->prev = carved;
    free_block->next = carved;
    resort(free_block);
    return carved;
  }

  // Best fit on `stream`, split when worth it; nullptr when nothing fits.
  [[gnu::always_inline]] Block* take_free_block(bool small, StreamHandle stream, size_t size) {
    FreeBlockSet& pool = small ? small_blocks : large_blocks;
    auto it = pool.lower_bound(BlockOrder::Key{stream, size});
    if (it == pool.end() || (*it)->stream != stream) return nullptr;
    Block* block = *it;
    // Oversize blocks are never split: a normal request must not take one, and an
    // oversize request only one close to its size.
    if (!is_oversize(size) && is_oversize(block->size)) return nullptr;
    if (is_oversize(size) && block->size - size >= config.max_non_split_rounding) return nullptr;
    if (should_split(block, size)) return carve(block, size);
    pool.erase(it);
    count_inactive_split(block, -1);
    return block;
  }

  // Returns a block that is neither allocated nor waiting for events to the pool,
  // merged with its free neighbours.
  [[gnu::always_inline]] void free_block(Block* block) noexcept {
    update(stats.active, block->small, -1);
    update(stats.active_bytes, block->small, -static_cast<int64_t>(block->size));
    if (!config.caching_enabled) {
      release_segment(block);
      return;
    }
    Block* prev = block->prev;
    Block* next = block->next;
    bool merge_prev = prev != nullptr && prev->in_pool();
    bool merge_next = next != nullptr && next->in_pool();
    if (merge_next) {
      erase_free(next);
      block->size += next->size;
      block->next = next->next;
      if (next->next != nullptr) next->next->prev = block;
      recycle(next);
    }
    if (merge_prev) {
      // The pooled predecessor grows in place. It was counted as inactive split
      // (`block` was its neighbour); it stays so unless it now fills its segment.
      size_t old_size = prev->size;
      prev->size += block->size;
      prev->next = block->next;
      if (block->next != nullptr) block->next->prev = prev;
      recycle(block);
      prev->freed_at = ++free_sequence;
      if (prev->is_split()) {
        update(stats.inactive_split_bytes, prev->small, static_cast<int64_t>(prev->size - old_size));
      } else {
        update(stats.inactive_split, prev->small, -1);
        update(stats.inactive_split_bytes, prev->small, -static_cast<int64_t>(old_size));
      }
      resort(prev);
      return;
    }
    insert_free(block);
  }

  // ---- upstream -----------------------------------------------------------------------

  Block* allocate_segment(size_t size, bool small, StreamHandle stream, size_t requested) {
    size_t bytes = segment_size(size);
    if (config.garbage_collection_threshold > 0.0) collect_garbage();
    void* ptr = upstream->allocate(bytes, stream);
    if (ptr == nullptr && release_oversize_blocks()) ptr = upstream->allocate(bytes, stream);
    if (ptr == nullptr) {
      ++stats.num_alloc_retries;
      synchronize_and_process_events();
      release_cached_blocks();
      ptr = upstream->allocate(bytes, stream);
    }
    if (ptr == nullptr) {
      ++stats.num_ooms;
      throw_out_of_memory(requested);
    }
    Block* block = new_block();
    block->ptr = static_cast<char*>(ptr);
    block->size = bytes;
    block->stream = stream;
    block->small = small;
    try {
      segments.insert(block);
    } catch (...) {
      upstream->deallocate(ptr, bytes, stream);
      recycle(block);
      throw;
    }
    ++stats.num_device_alloc;
    update(stats.segment, small, 1);
    update(stats.reserved_bytes, small, static_cast<int64_t>(bytes));
    if (is_oversize(bytes)) update_stat(stats.oversize_segments, 1);
    return block;
  }

  // Hands a whole segment (not in a pool) back upstream.
  void release_segment(Block* block) noexcept {
    upstream->deallocate(block->ptr, block->size, block->stream);
    segments.erase(block);
    ++stats.num_device_free;
    update(stats.segment, block->small, -1);
    update(stats.reserved_bytes, block->small, -static_cast<int64_t>(block->size));
    if (is_oversize(block->size)) update_stat(stats.oversize_segments, -1);
    recycle(block);
  }

  void release_free_block(Block* block) noexcept {
    erase_free(block);
    release_segment(block);
  }

  // Frees every cached oversize block (never split, so each is a whole segment).
  bool release_oversize_blocks() {
    if (config.max_split_size == SIZE_MAX) return false;
    std::vector<Block*> victims;
    for (Block* block : large_blocks) {
      if (is_oversize(block->size) && !block->is_split()) victims.push_back(block);
    }
    for (Block* block : victims) release_free_block(block);
    return !victims.empty();
  }

  // Frees every cached segment that is wholly free.
  void release_cached_blocks() noexcept {
    for (FreeBlockSet* pool : {&small_blocks, &large_blocks}) {
      for (auto it = pool->begin(); it != pool->end();) {
        Block* block = *it;
        ++it;
        if (!block->is_split()) release_free_block(block);
      }
    }
  }

  // When reserved memory passes the threshold of the capacity, frees the oldest
  // unsplit large blocks until it is back under it. Never synchronizes.
  void collect_garbage() {
    size_t capacity = upstream->capacity();
    if (capacity == 0) return;
    auto limit = static_cast<int64_t>(config.garbage_collection_threshold * static_cast<double>(capacity));
    int64_t excess = stats.reserved_bytes[kAllPools].current - limit;
    if (excess <= 0) return;
    std::vector<Block*> candidates;
    for (Block* block : large_blocks) {
      if (!block->is_split()) candidates.push_back(block);
    }
    std::sort(candidates.begin(), candidates.end(),
              [](const Block* a, const Block* b) { return a->freed_at < b->freed_at; });
    for (Block* block : candidates) {
      if (excess <= 0) break;
      excess -= static_cast<int64_t>(block->size);
      release_free_block(block);
    }
  }

  [[noreturn]] void throw_out_of_memory(size_t requested) const {
    using memory::format_bytes;
    Device device = upstream->device();
    size_t capacity = upstream->capacity();
    int64_t allocated_bytes = stats.allocated_bytes[kAllPools].current;
    int64_t reserved_unallocated = stats.reserved_bytes[kAllPools].current - allocated_bytes;
    std::string capacity_text =
        capacity != 0 ? fmt::format("has a total capacity of {} ({} bytes)", format_bytes(capacity), capacity)
                      : std::string("has an unknown total capacity");
    STRATA_FAIL(OutOfMemoryError,
                "{} out of memory. Tried to allocate {} ({} bytes). Device {} {}. Of the allocated "
                "memory {} is allocated by strata, and {} is reserved by strata but unallocated. If "
                "reserved but unallocated memory is large try setting "
                "STRATA_ALLOC_CONF=max_split_size_mb:<MiB> to avoid fragmentation.",
                device.is_cuda() ? "CUDA" : "CPU", format_bytes(requested), requested, device.str(),
                capacity_text, format_bytes(static_cast<uint64_t>(allocated_bytes)),
                format_bytes(static_cast<uint64_t>(reserved_unallocated)));
  }

  // ---- events -------------------------------------------------------------------------

  EventHandle take_event() {
    if (spare_events.empty()) return upstream->create_event();
    EventHandle event = spare_events.back();
    spare_events.pop_back();
    return event;
  }

  void finish_event(const PendingEvent& pending_event) noexcept {
    try {
      spare_events.push_back(pending_event.event);
    } catch (...) {
      upstream->destroy_event(pending_event.event);
    }
    if (--pending_event.block->event_count == 0) free_block(pending_event.block);
  }

  // A block freed after uses on other streams waits for an event on each.
  void record_events(Block* block) {
    for (StreamHandle stream : block->stream_uses) {
      auto it = std::find_if(pending.begin(), pending.end(),
                             [&](const PendingStream& p) { return p.stream == stream; });
      if (it == pending.end()) {
        pending.push_back(PendingStream{stream, {}});
        it = pending.end() - 1;
      }
      EventHandle event = take_event();
      try {
        upstream->record_event(event, stream);
        it->events.push_back(PendingEvent{event, block});
      } catch (...) {
        spare_events.push_back(event);
        throw;
      }
      ++block->event_count;
    }
    block->stream_uses.clear();
  }

  // Polls the oldest event of each stream; never blocks.
  void process_events() {
    for (PendingStream& stream : pending) {
      while (!stream.events.empty() && upstream->event_completed(stream.events.front().event)) {
        PendingEvent done = stream.events.front();
        stream.events.pop_front();
        finish_event(done);
      }
    }
    std::erase_if(pending, [](const PendingStream& p) { return p.events.empty(); });
  }

  // Waits for every pending event (the OOM path and empty_cache only).
  void synchronize_and_process_events() {
    if (pending.empty()) return;
    ++stats.num_sync_all_streams;
    for (PendingStream& stream : pending) {
      while (!stream.events.empty()) {
        PendingEvent done = stream.events.front();
        upstream->synchronize_event(done.event);
        stream.events.pop_front();
        finish_event(done);
      }
    }
    pending.clear();
  }

  // ---- the public operations ------------------------------------------------------

  void* allocate(size_t bytes, StreamHandle stream) {
    std::lock_guard<std::mutex> lock(mutex);
    if (bytes >= kMaxRequest) {
      ++stats.num_ooms;
      throw_out_of_memory(bytes);
    }
    reserve_bookkeeping();
    if (!pending.empty()) process_events();
    size_t size = round_size(bytes);
    bool small = size <= kSmallSize;
    Block* block = config.caching_enabled ? take_free_block(small, stream, size) : nullptr;
    if (block != nullptr) {
      ++stats.num_cache_hits;
    } else {
      ++stats.num_cache_misses;
      block = allocate_segment(size, small, stream, bytes);
      if (should_split(block, size)) {
        insert_free(block);
        block = carve(block, size);
      }
    }
    block->allocated = true;
    block->requested = bytes;
    allocated.insert(block->ptr, block);
    update(stats.allocation, small, 1);
    update(stats.allocated_bytes, small, static_cast<int64_t>(block->size));
    update(stats.requested_bytes, small, static_cast<int64_t>(bytes));
    update(stats.active, small, 1);
    update(stats.active_bytes, small, static_cast<int64_t>(block->size));
    if (is_oversize(block->size)) update_stat(stats.oversize_allocations, 1);
    return block->ptr;
  }

  void deallocate(void* ptr) noexcept {
    std::lock_guard<std::mutex> lock(mutex);
    Block* block = allocated.take(ptr);
    if (block == nullptr) {
      std::fprintf(stderr, "strata: CachingAllocator::deallocate: %p was not allocated by this allocator\n",
                   ptr);
      return;
    }
    block->allocated = false;
    update(stats.allocation, block->small, -1);
    update(stats.allocated_bytes, block->small, -static_cast<int64_t>(block->size));
    update(stats.requested_bytes, block->small, -static_cast<int64_t>(block->requested));
    if (is_oversize(block->size)) update_stat(stats.oversize_allocations, -1);
    block->requested = 0;
    if (!block->stream_uses.empty()) {
      try {
        record_events(block);
      } catch (const std::exception& error) {
        // Without an event the block cannot be known to be idle: keep it out of
        // the pool for good rather than risk handing out memory still in use.
        std::fprintf(stderr, "strata: could not record a stream event (%s); block %p is not reused\n",
                     error.what(), ptr);
        ++block->event_count;
        return;
      }
      if (block->event_count > 0) return;
    }
    free_block(block);
  }
};

CachingAllocator::Impl::~Impl() {
  try {
    synchronize_and_process_events();
  } catch (...) {
    // A failing device: the events are abandoned with their blocks.
  }
  for (auto& stream : pending) {
    for (auto& pending_event : stream.events) upstream->destroy_event(pending_event.event);
  }
  for (EventHandle event : spare_events) upstream->destroy_event(event);
  small_blocks.clear();
  large_blocks.clear();
  for (Block* head : segments) {
    upstream->deallocate(head->ptr, [&] {
      size_t total = 0;
      for (Block* b = head; b != nullptr; b = b->next) total += b->size;
      return total;
    }(), head->stream);
    for (Block* b = head; b != nullptr;) {
      Block* next = b->next;
      delete b;
      b = next;
    }
  }
  segments.clear();
  for (Block* block : spare_blocks) delete block;
}

CachingAllocator::CachingAllocator(std::shared_ptr<MemoryResource> upstream, AllocatorConfig config)
    : impl_(std::make_unique<Impl>(std::move(upstream), config)) {}

CachingAllocator::~CachingAllocator() = default;

void* CachingAllocator::allocate(size_t bytes, StreamHandle stream) {
  if (bytes == 0) return nullptr;
  return impl_->allocate(bytes, stream);
}

void CachingAllocator::deallocate(void* ptr) noexcept {
  if (ptr != nullptr) impl_->deallocate(ptr);
}

void CachingAllocator::record_stream(void* ptr, StreamHandle stream) {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Block* block = impl_->allocated.find(ptr);
  STRATA_CHECK(block != nullptr, ValueError,
               "record_stream: pointer {} was not allocated by the caching allocator of {}", ptr,
               impl_->upstream->device().str());
  if (stream == block->stream) return;
  if (std::find(block->stream_uses.begin(), block->stream_uses.end(), stream) == block->stream_uses.end()) {
    block->stream_uses.push_back(stream);
  }
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->synchronize_and_process_events();
  impl_->release_cached_blocks();
}

MemoryStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->stats;
}

void CachingAllocator::reset_peak_stats() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  for_each_stat(impl_->stats, [](Stat& stat) { stat.peak = stat.current; });
}

void CachingAllocator::reset_accumulated_stats() {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  MemoryStats& stats = impl_->stats;
  for_each_stat(stats, [](Stat& stat) { stat.allocated = stat.freed = 0; });
  stats.num_alloc_retries = stats.num_ooms = stats.num_sync_all_streams = 0;
  stats.num_device_alloc = stats.num_device_free = 0;
  stats.num_cache_hits = stats.num_cache_misses = 0;
}

std::vector<SegmentInfo> CachingAllocator::snapshot() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  std::vector<SegmentInfo> segments;
  segments.reserve(impl_->segments.size());
  for (const Block* head : impl_->segments) {
    SegmentInfo segment;
    segment.address = reinterpret_cast<uintptr_t>(head->ptr);
    segment.stream = head->stream;
    segment.is_small = head->small;
    for (const Block* b = head; b != nullptr; b = b->next) {
      BlockInfo info;
      info.address = reinterpret_cast<uintptr_t>(b->ptr);
      info.size = b->size;
      info.requested_size = b->requested;
      info.allocated = b->allocated;
      info.active = !b->in_pool();
      info.stream = b->stream;
      segment.total_size += b->size;
      if (info.allocated) segment.allocated_size += b->size;
      if (info.active) segment.active_size += b->size;
      segment.requested_size += b->requested;
      segment.blocks.push_back(info);
    }
    segments.push_back(std::move(segment));
  }
  return segments;
}

std::string CachingAllocator::summary() const {
  return memory::detail::format_summary(stats(), device().str());
}

const AllocatorConfig& CachingAllocator::config() const noexcept { return impl_->config; }

MemoryResource& CachingAllocator::upstream() const noexcept { return *impl_->upstream; }

Device CachingAllocator::device() const { return impl_->upstream->device(); }

namespace memory {

namespace {

constexpr int kMaxCudaDevices = 64;

// One allocator per device, created on first use and never destroyed: tensors
// held in static storage may be freed after main returns.
struct AllocatorRegistry {
  std::mutex mutex;
  std::atomic<CachingAllocator*> cpu{nullptr};
  std::array<std::atomic<CachingAllocator*>, kMaxCudaDevices> cuda{};
};

AllocatorRegistry& registry() {
  static auto* instance = new AllocatorRegistry();
  return *instance;
}

}  // namespace

CachingAllocator& allocator(const Device& device) {
  AllocatorRegistry& reg = registry();
  std::atomic<CachingAllocator*>* slot = nullptr;
  if (device.is_cpu()) {
    slot = &reg.cpu;
  } else {
    if (CachingAllocator* existing =
            device.index() >= 0 && device.index() < kMaxCudaDevices
                ? reg.cuda[static_cast<size_t>(device.index())].load(std::memory_order_acquire)
                : nullptr) {
      return *existing;
    }
    STRATA_CHECK(cuda::is_available(), DeviceError,
                 "memory::allocator: {} requested but CUDA is not available", device.str());
    STRATA_CHECK(device.index() >= 0 && device.index() < cuda::device_count() &&
                     device.index() < kMaxCudaDevices,
                 DeviceError, "memory::allocator: invalid device {} (device count {})", device.str(),
                 cuda::device_count());
    slot = &reg.cuda[static_cast<size_t>(device.index())];
  }
  if (CachingAllocator* existing = slot->load(std::memory_order_acquire)) return *existing;
  std::lock_guard<std::mutex> lock(reg.mutex);
  if (CachingAllocator* existing = slot->load(std::memory_order_acquire)) return *existing;
  auto upstream = device.is_cpu() ? make_host_resource() : make_cuda_resource(device.index());
  auto* created = new CachingAllocator(std::move(upstream));
  slot->store(created, std::memory_order_release);
  return *created;
}

MemoryStats stats(const Device& device) { return allocator(device).stats(); }
void empty_cache(const Device& device) { allocator(device).empty_cache(); }
std::string summary(const Device& device) { return allocator(device).summary(); }
std::vector<SegmentInfo> snapshot(const Device& device) { return allocator(device).snapshot(); }
void reset_peak_stats(const Device& device) { allocator(device).reset_peak_stats(); }
void reset_accumulated_stats(const Device& device) { allocator(device).reset_accumulated_stats(); }

}  // namespace memory

}  // namespace strata
