// CPU kernels of the scatter family: indexed updates (scatter mode) and indexed
// reads (gather mode) over a ScatterDesc.
//
// Each row of the iteration space with one Int64 index operand (every op but
// index_put_ with several index tensors) runs one loop typed by (reduce,
// dtype) that computes each destination and applies it (typed_row). Other
// rows are processed in blocks: first the byte offsets of a block's
// destinations and sources are computed (code that depends only on the number
// of index tensors), then a loop typed by (reduce, dtype) applies them,
// prefetching destinations a few updates ahead.
//
// Determinism: a destination only ever receives its updates from one thread,
// in index order. Work is split either over a "free" dimension (one that maps
// directly onto a dimension of self, so positions with different coordinates on
// it never meet) or, when there is none, over ranges of destination addresses:
// flat updates into a target beyond the last-level cache are bucketed by
// destination (each thread reads its share of the positions once; see
// "destination buckets"), others have every thread walk all positions and
// apply only those landing in its range. Either way the result equals the
// serial loop's, bit for bit, for any thread count.
//
// Many sums, products, maxima, minima or assignments into a small dense target
// (scatter_add_, scatter_reduce_ and scatter_ of n updates into n/16 slots, a
// hot spot, index_put_ into a small matrix) take a third route: the updates
// are cut into a fixed number of parts that depends only on the update and
// slot counts, never on the thread count; each part applies its updates to its
// own copy of the target (filled with the reduction's identity; for
// assignments, with a byte per slot marking the slots the part wrote), and the
// copies are then merged into self in part order. Assignments, maxima and
// minima give the serial loop's bits (a later part's assignment overrides an
// earlier one's; a tie keeps the earlier value, a NaN the later). Integer sums
// and products equal the serial loop's; float ones are rounded in that fixed
// order, identical for any thread count (Float16/BFloat16 sums in float
// copies, each element rounded once; set_deterministic(true) keeps the serial
// index order instead, the bits the CUDA sorted path reproduces). That route
// also validates the indices as it goes, each block
// of 512 just before it is applied (it stops at a block with an out-of-range
// value; self is written only when all passed), sparing the separate
// validation read; so does the bucket route (in its first pass, which writes
// nothing of self).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include "kernels/common/dispatch.h"
#include "kernels/common/scatter_kernels.h"
#include "kernels/common/scatter_reduce.h"
#include "src/runtime/parallel.h"
#include "strata/config.h"
#include "strata/storage.h"

namespace strata::kernels::cpu {
namespace {

constexpr int kBlock = 256;
constexpr int64_t kCacheLine = 64;
// Below these, splitting destinations across threads costs more (every thread
// reads every index) than the random updates it shares out.
constexpr int64_t kDestinationSplitMinUpdates = int64_t{1} << 22;
constexpr int64_t kDestinationSplitMinBytes = int64_t{1} << 23;
// Elements per thread below which splitting across threads costs more than it
// saves: for whole contiguous rows (vectorized copies and adds, a fraction of
// a nanosecond an element; index_add_ of 1 Ki rows of 64, 30 -> 39 us when
// split at 64 Ki)...
constexpr int64_t kSplitMinElements = int64_t{1} << 18;
// ... and for position-by-position loops (an index load and a scattered
// access each, often a cache line of its own: gather(1, index) with an
// [N, 1] index from [N, 16] at N = 256 Ki, 1.45 -> 0.34-0.75 ms split).
constexpr int64_t kSplitMinPositions = int64_t{1} << 15;
constexpr int kPrefetchDistance = 16;
// Whole rows up to this size have their destination prefetched kRowsAhead
// rows ahead (longer rows keep the hardware prefetcher busy on their own)...
constexpr int64_t kPrefetchRowBytes = 2048;
constexpr int64_t kRowsAhead = 4;
// ... when the target is bigger than a core's L2 (a target that fits runs
// faster without: index_add_ of 1 Mi elements into 256 KiB, 0.62 -> 0.72 ms).
constexpr int64_t kPrefetchRowsMinBytes = int64_t{1} << 21;
// A target this large lives in memory, not cache (this VM: 32 MiB of L3).
constexpr int64_t kBeyondCacheBytes = int64_t{1} << 26;
constexpr int64_t kBeyondCacheMinUpdates = int64_t{1} << 15;

/// Applies n updates (scatter) or copies (gather) at the given byte offsets.
using ApplyFn = void (*)(const ScatterDesc& d, char* indexed, const char* direct,
                         const int64_t* indexed_offsets, const int64_t* direct_offsets, int n);

template <ScatterReduce R, typename T>
void apply_updates(const ScatterDesc& d, char* indexed, const char* direct, const int64_t* dst,
                   const int64_t* src, int n) {
  const ScatterAlpha alpha = d.alpha;  // a local: stores to T* cannot change it
  for (int i = 0; i < n; ++i) {
    if (i + kPrefetchDistance < n) __builtin_prefetch(indexed + dst[i + kPrefetchDistance], 1);
    T* target = reinterpret_cast<T*>(indexed + dst[i]);
    const T value = *reinterpret_cast<const T*>(direct + src[i]);
    *target = scatter_combine<R, T>(*target, value, alpha);
  }
}

// Gather copies bytes, so one instantiation per element size serves all dtypes.
template <typename Bits>
void apply_gather(const ScatterDesc&, char* indexed, const char* direct, const int64_t* src_in_indexed,
                  const int64_t* dst_in_direct, int n) {
  char* out = const_cast<char*>(direct);
  for (int i = 0; i < n; ++i) {
    if (i + kPrefetchDistance < n) __builtin_prefetch(indexed + src_in_indexed[i + kPrefetchDistance], 0);
    *reinterpret_cast<Bits*>(out + dst_in_direct[i]) = *reinterpret_cast<const Bits*>(indexed + src_in_indexed[i]);
  }
}

ApplyFn select_update(const ScatterDesc& d) {
  if (d.reduce == ScatterReduce::Assign) {
    // Assignment moves bytes; dtype does not matter beyond its size.
    return dispatch_bits(ElementwiseDesc::dtype_size(d.dtype), [](auto tag) -> ApplyFn {
      using Bits = typename decltype(tag)::type;
      return &apply_updates<ScatterReduce::Assign, Bits>;
    });
  }
  return dispatch_scatter_reduce(d.reduce, [&](auto reduce) -> ApplyFn {
    return dispatch_dtype(d.dtype, [&](auto tag) -> ApplyFn {
      using T = typename decltype(tag)::type;
      return &apply_updates<decltype(reduce)::value, T>;
    });
  });
}

ApplyFn select_gather(const ScatterDesc& d) {
  return dispatch_bits(ElementwiseDesc::dtype_size(d.dtype), [](auto tag) -> ApplyFn {
    using Bits = typename decltype(tag)::type;
    return &apply_gather<Bits>;
  });
}

/// A whole contiguous row: the indices do not vary along the innermost
/// dimension and both operands are dense along it (self[rows] = values,
/// index_add_ along dim 0). Plain loops the compiler vectorizes.
using RowFn = void (*)(const ScatterDesc& d, char* dst, const char* src, int64_t n, bool src_is_scalar);

template <ScatterReduce R, typename T>
void apply_row(const ScatterDesc& d, char* dst_bytes, const char* src_bytes, int64_t n, bool src_is_scalar) {
  T* dst = reinterpret_cast<T*>(dst_bytes);
  const T* src = reinterpret_cast<const T*>(src_bytes);
  const ScatterAlpha alpha = d.alpha;
  if (src_is_scalar) {
    const T value = *src;
    for (int64_t k = 0; k < n; ++k) dst[k] = scatter_combine<R, T>(dst[k], value, alpha);
  } else {
    for (int64_t k = 0; k < n; ++k) dst[k] = scatter_combine<R, T>(dst[k], src[k], alpha);
  }
}

RowFn select_row(const ScatterDesc& d) {
  if (d.reduce == ScatterReduce::Assign) {
    return dispatch_bits(ElementwiseDesc::dtype_size(d.dtype), [](auto tag) -> RowFn {
      using Bits = typename decltype(tag)::type;
      return &apply_row<ScatterReduce::Assign, Bits>;
    });
  }
  return dispatch_scatter_reduce(d.reduce, [&](auto reduce) -> RowFn {
    return dispatch_dtype(d.dtype, [&](auto tag) -> RowFn {
      using T = typename decltype(tag)::type;
      return &apply_row<decltype(reduce)::value, T>;
    });
  });
}

bool rows_are_contiguous(const ScatterDesc& d) {
  const auto element = static_cast<int64_t>(ElementwiseDesc::dtype_size(d.dtype));
  if (d.num_indices == 0 || d.sizes[0] < 4 || d.indexed_strides[0] != element) return false;
  if (!d.direct_is_scalar && d.direct_strides[0] != element) return false;
  for (int k = 0; k < d.num_indices; ++k) {
    if (d.indices[k].byte_strides[0] != 0) return false;
  }
  return true;
}

/// The flat case in one fused loop: one dimension after merging, one or two
/// Int64 index tensors, assignment or addition (scatter_add_, scatter_,
/// index_put_ with (row, col) pairs). With kFilter, only the updates whose
/// destination lies in [lo, hi) are applied (flat_update_range).
using FlatFn = void (*)(const ScatterDesc& d, int64_t begin, int64_t end, int64_t lo, int64_t hi);

/// The coordinate an index value `v` stands for: valid values lie in
/// [-size, size) when wrapping (`wrap` = size), [0, size) otherwise (`wrap` =
/// 0; `span` = size + wrap), one unsigned compare each (a value below the range
/// wraps to a huge number). With kChecked an out-of-range value sets `bad` and
/// counts as 0, so that the address formed from it stays inside the target.
/// Wrapping adds the size, branch-free: a no-op (mask 0) when wrapping is off
/// or the value is non-negative.
template <bool kChecked>
inline int64_t index_coordinate(int64_t v, int64_t wrap, uint64_t span, uint64_t& bad) {
  if constexpr (kChecked) {
    const bool out = static_cast<uint64_t>(v) + static_cast<uint64_t>(wrap) >= span;  // no signed overflow
    bad |= out;
    v = out ? 0 : v;
  }
  return v + ((v >> 63) & wrap);
}

/// index_coordinate for N consecutive dense values without wrapping (`span` =
/// size), four at a time in vector registers (GCC's vector extensions: AVX2
/// here, narrower vectors or scalar code elsewhere), where one call per value
/// compiled to a compare, a select and a flag merge each, spilled around the
/// batch.
/// Returns `out`, or `values` as they are without kChecked (the indices were
/// validated before).
template <bool kChecked, int N>
inline const int64_t* batch_coordinates(const int64_t* values, uint64_t span, uint64_t& bad, int64_t (&out)[N]) {
  static_assert(N % 4 == 0, "whole vectors of four");
  if constexpr (kChecked) {
    using Lanes = int64_t __attribute__((vector_size(32)));
    const Lanes limit = Lanes{} + static_cast<int64_t>(span);
    Lanes any = {};
    for (int k = 0; k < N; k += 4) {
      Lanes v;
      std::memcpy(&v, values + k, sizeof(v));
      const Lanes out_of_range = (v < 0) | (v >= limit);  // -1 or 0 per lane
      any |= out_of_range;
      v &= ~out_of_range;
      std::memcpy(out + k, &v, sizeof(v));
    }
    bad |= static_cast<uint64_t>(any[0] | any[1] | any[2] | any[3]) & 1;
    return out;
  } else {
    return values;
  }
}

/// Element offsets of the flat case's destinations: one or two dense Int64
/// index operands (8 bytes apart), negative values wrapped when the descriptor
/// asks for it. With kChecked, every value is validated as it is read: an
/// out-of-range value counts as 0, so the offset stays inside the target, and
/// ok() turns false. Checking in the loop that reads the index spares a
/// separate pass over it (64 Ki scatter_add_ into 4 Ki slots 11 % faster, 1 Mi
/// into 64 Ki slots 25 %, one thread on the 2-core VM).
template <typename T, int kNumIndices, bool kChecked>
class FlatIndexer {
 public:
  explicit FlatIndexer(const ScatterDesc& d)
      : ia_(reinterpret_cast<const int64_t*>(d.indices[0].data)),
        ib_(reinterpret_cast<const int64_t*>(d.indices[kNumIndices > 1 ? 1 : 0].data)),
        sa_(d.indices[0].target_byte_stride / static_cast<int64_t>(sizeof(T))),
        sb_(d.indices[kNumIndices > 1 ? 1 : 0].target_byte_stride / static_cast<int64_t>(sizeof(T))),
        wa_(d.wrap_negative ? d.indices[0].dim_size : 0),
        wb_(d.wrap_negative ? d.indices[kNumIndices > 1 ? 1 : 0].dim_size : 0),
        span_a_(static_cast<uint64_t>(d.indices[0].dim_size + wa_)),
        span_b_(static_cast<uint64_t>(d.indices[kNumIndices > 1 ? 1 : 0].dim_size + wb_)) {}

  /// Offset (in elements of T) of position j's destination.
  int64_t operator()(int64_t j) {
    int64_t offset = index_coordinate<kChecked>(ia_[j], wa_, span_a_, bad_) * sa_;
    if constexpr (kNumIndices > 1) offset += index_coordinate<kChecked>(ib_[j], wb_, span_b_, bad_) * sb_;
    return offset;
  }
  /// True when the destination is index[j] itself (one operand, unit stride,
  /// nothing to wrap): unit(j) then serves in a loop of a few instructions.
  bool is_unit() const { return kNumIndices == 1 && sa_ == 1 && wa_ == 0; }
  int64_t unit(int64_t j) { return index_coordinate<kChecked>(ia_[j], 0, span_a_, bad_); }
  /// False once an out-of-range value was read (kChecked only).
  bool ok() const { return bad_ == 0; }

 private:
  const int64_t* ia_;
  const int64_t* ib_;
  int64_t sa_, sb_, wa_, wb_;
  uint64_t span_a_, span_b_;
  uint64_t bad_ = 0;
};

/// True when positions [begin, end) of the flat case's dense Int64 index
/// operands are all in range (FlatIndexer's rule): a loop of a compare and an
/// or per value, which the compiler vectorizes.
template <int kNumIndices>
bool flat_indices_in_range(const ScatterDesc& d, int64_t begin, int64_t end) {
  uint64_t bad = 0;
  for (int k = 0; k < kNumIndices; ++k) {
    const int64_t* values = reinterpret_cast<const int64_t*>(d.indices[k].data);
    const uint64_t wrap = d.wrap_negative ? static_cast<uint64_t>(d.indices[k].dim_size) : 0;
    const uint64_t span = static_cast<uint64_t>(d.indices[k].dim_size) + wrap;
    for (int64_t j = begin; j < end; ++j) bad |= static_cast<uint64_t>(static_cast<uint64_t>(values[j]) + wrap >= span);
  }
  return bad == 0;
}

// flat_dense's commonest loop loads this many indices before applying their
// updates (self never overlaps the index): scatter_add_ of 64 Ki into 4 Ki
// slots and of 1 Mi into 64 Ki, 4-6 % faster on the 2-core VM (A/B medians in
// one process); a bare loop into an L1-sized target, 0.9 -> 0.7 ns an update.
constexpr int kUnitBatch = 8;

// Updates per sub-block of a checked flat loop: its indices are checked, then
// applied, while they are still in L1.
constexpr int64_t kCheckedSubBlock = 512;

/// The common flat case with typed pointers: dense Int64 indices, a dense
/// source, self addressed only through the indices (scatter_add_ on a 1-D
/// self, index_put_ with (row, col) pairs). A handful of instructions per
/// update: no byte-stride multiplications, no per-update flag tests.
/// With kChecked, returns false, having stopped before the first sub-block
/// that holds an out-of-range index, when there is one: each sub-block's
/// indices are checked (flat_indices_in_range) before any of its updates is
/// applied, which costs fewer instructions than a check per update (64 Ki
/// scatter_add_ into 4 Ki slots 0.068 -> 0.050 ms, 1 Mi into 256 slots 0.90 ->
/// 0.68 ms, on the 2-core VM); with kPrefetch as walk_prefetch_checked (below)
/// instead. A caller writing into a private copy discards it then.
/// D is the destination's type: T, or float for the partial route's copies of
/// a Float16/BFloat16 target (see partial_updates); the offsets count elements
/// of T either way.
template <ScatterReduce R, typename T, int kNumIndices, bool kPrefetch, bool kChecked = false, typename D = T>
bool flat_dense(const ScatterDesc& d, int64_t begin, int64_t end);

/// The checked flat walk with prefetches (a target beyond L2), for the
/// partial route's copies: apply(j, offset) for positions [begin, end) in
/// order, offset in elements of T from `base`; each position's indices are
/// checked where they are read for the prefetch of its destination, kAhead
/// positions before it is applied, instead of a sub-block being checked first
/// and then walked with prefetches that stop at its end. Returns false,
/// having applied only checked positions, at the first out-of-range value.
/// 16 Mi sums into 1 Mi slots on two threads, each shape as a bare loop
/// beside one without checks (one process, three runs): sub-blocks 1.17-1.29x,
/// this 1.02-1.05x. In the library, 16 Mi scatter_add_ calls in a loop
/// 40.3 -> 33.5 ms (medians of four alternating runs), in scatter_bench
/// 45.0 -> 39.2 ms (three).
template <typename T, int kNumIndices, typename P, typename Apply>
bool walk_prefetch_checked(const ScatterDesc& d, const P* base, int64_t begin, int64_t end, Apply apply) {
  constexpr int64_t kAhead = 32;
  const int64_t head = std::min(end, begin + kAhead);
  if (!flat_indices_in_range<kNumIndices>(d, begin, head)) return false;
  FlatIndexer<T, kNumIndices, true> ahead_of(d);   // positions j + kAhead: checked here
  FlatIndexer<T, kNumIndices, false> offset_of(d);  // positions j: checked kAhead positions ago
  int64_t j = begin;
  for (; j + kAhead < end; ++j) {
    const int64_t ahead = ahead_of(j + kAhead);
    if (!ahead_of.ok()) return false;
    __builtin_prefetch(base + ahead, 1);
    apply(j, offset_of(j));
  }
  for (; j < end; ++j) apply(j, offset_of(j));
  return true;
}

template <ScatterReduce R, typename T, int kNumIndices, bool kPrefetch, bool kChecked, typename D>
bool flat_dense(const ScatterDesc& d, int64_t begin, int64_t end) {
  if constexpr (kChecked && kPrefetch) {
    D* const base = reinterpret_cast<D*>(d.indexed);
    const T* const src = reinterpret_cast<const T*>(d.direct);
    const ScatterAlpha alpha = d.alpha;
    return walk_prefetch_checked<T, kNumIndices>(d, base, begin, end, [&](int64_t j, int64_t offset) {
      base[offset] = scatter_combine<R, D>(base[offset], convert<D>(src[j]), alpha);
    });
  } else if constexpr (kChecked) {
    for (int64_t j = begin; j < end; j += kCheckedSubBlock) {
      const int64_t sub_end = std::min(end, j + kCheckedSubBlock);
      if (!flat_indices_in_range<kNumIndices>(d, j, sub_end)) return false;
      flat_dense<R, T, kNumIndices, kPrefetch, false, D>(d, j, sub_end);
    }
    return true;
  }
  D* const base = reinterpret_cast<D*>(d.indexed);
  const T* const src = reinterpret_cast<const T*>(d.direct);
  FlatIndexer<T, kNumIndices, kChecked> offset_of(d);
  const ScatterAlpha alpha = d.alpha;
  if constexpr (!kPrefetch) {
    // The commonest shape (scatter_/scatter_add_ into a 1-D self): five
    // instructions an update instead of a dozen.
    if (offset_of.is_unit()) {
      int64_t j = begin;
      for (; j + kUnitBatch <= end; j += kUnitBatch) {
        int64_t slot[kUnitBatch];
#pragma GCC unroll 8
        for (int k = 0; k < kUnitBatch; ++k) slot[k] = offset_of.unit(j + k);
#pragma GCC unroll 8
        for (int k = 0; k < kUnitBatch; ++k) {
          base[slot[k]] = scatter_combine<R, D>(base[slot[k]], convert<D>(src[j + k]), alpha);
        }
      }
#pragma GCC unroll 4
      for (; j < end; ++j) {
        D* target = base + offset_of.unit(j);
        *target = scatter_combine<R, D>(*target, convert<D>(src[j]), alpha);
      }
      return offset_of.ok();
    }
  }
  constexpr int64_t kAhead = 32;
  int64_t j = begin;
  if constexpr (kPrefetch) {
    for (; j + kAhead < end; ++j) {
      __builtin_prefetch(base + offset_of(j + kAhead), 1);
      D* target = base + offset_of(j);
      *target = scatter_combine<R, D>(*target, convert<D>(src[j]), alpha);
    }
  }
#pragma GCC unroll 4
  for (; j < end; ++j) {
    D* target = base + offset_of(j);
    *target = scatter_combine<R, D>(*target, convert<D>(src[j]), alpha);
  }
  return offset_of.ok();
}

/// True when `d` (flat, Int64 indices) fits flat_dense: dense 8-byte indices,
/// self addressed only through them, a dense source (or, with allow_scalar, a
/// scalar one), typed pointers aligned.
bool fits_flat_dense(const ScatterDesc& d, int64_t element, bool allow_scalar = false) {
  if (d.indexed_strides[0] != 0) return false;
  if (d.direct_is_scalar ? !allow_scalar : d.direct_strides[0] != element) return false;
  for (int k = 0; k < d.num_indices; ++k) {
    if (d.indices[k].byte_strides[0] != 8 || d.indices[k].target_byte_stride % element != 0) return false;
  }
  return reinterpret_cast<uintptr_t>(d.indexed) % static_cast<uintptr_t>(element) == 0 &&
         (d.direct_is_scalar || reinterpret_cast<uintptr_t>(d.direct) % static_cast<uintptr_t>(element) == 0);
}

/// True when every index operand of `d` is Int64 (the typed flat loops).
bool indices_are_int64(const ScatterDesc& d) {
  for (int k = 0; k < d.num_indices; ++k) {
    if (d.indices[k].dtype != DType::Int64) return false;
  }
  return true;
}

/// Byte offset of position j's destination in the flat case (one or two Int64
/// index operands, negative values wrapped when the descriptor asks for it).
template <int kNumIndices>
int64_t flat_offset(const ScatterDesc& d, int64_t j) {
  const IndexOperand& a = d.indices[0];
  int64_t va = *reinterpret_cast<const int64_t*>(a.data + j * a.byte_strides[0]);
  if (d.wrap_negative) va += va < 0 ? a.dim_size : 0;
  int64_t offset = j * d.indexed_strides[0] + va * a.target_byte_stride;
  if constexpr (kNumIndices > 1) {
    const IndexOperand& b = d.indices[1];
    int64_t vb = *reinterpret_cast<const int64_t*>(b.data + j * b.byte_strides[0]);
    if (d.wrap_negative) vb += vb < 0 ? b.dim_size : 0;
    offset += vb * b.target_byte_stride;
  }
  return offset;
}

/// The flat loop with every update applied (a FlatFn: lo and hi are unused).
template <ScatterReduce R, typename T, int kNumIndices>
void flat_update_all(const ScatterDesc& d, int64_t begin, int64_t end, int64_t /*lo*/, int64_t /*hi*/) {
  if (fits_flat_dense(d, static_cast<int64_t>(sizeof(T)))) {
    if (d.indexed_extent > (int64_t{1} << 22)) {
      flat_dense<R, T, kNumIndices, true>(d, begin, end);
    } else {
      flat_dense<R, T, kNumIndices, false>(d, begin, end);
    }
    return;
  }
  const int64_t direct_stride = d.direct_strides[0];
  const char* direct = d.direct_is_scalar ? reinterpret_cast<const char*>(d.scalar) : d.direct;
  const ScatterAlpha alpha = d.alpha;
  // Large targets (index_put_ into a big matrix) miss every cache: prefetch the
  // destination a fixed distance ahead (the indices are read sequentially, so
  // looking ahead is cheap). Small targets stay in cache and skip it.
  const bool prefetch = d.indexed_extent > (int64_t{1} << 22);
  constexpr int64_t kAhead = 32;
  for (int64_t j = begin; j < end; ++j) {
    if (prefetch && j + kAhead < end) {
      __builtin_prefetch(d.indexed + flat_offset<kNumIndices>(d, j + kAhead), 1);  // checked or harmless
    }
    const T value = *reinterpret_cast<const T*>(direct + j * direct_stride);
    T* target = reinterpret_cast<T*>(d.indexed + flat_offset<kNumIndices>(d, j));
    *target = scatter_combine<R, T>(*target, value, alpha);
  }
}

/// The flat loop restricted to destinations in [lo, hi) (byte offsets into
/// self), one part of the destination split. Each block of positions is first
/// compacted to this part's updates (offset and value, branch-free, in L1),
/// then those are applied in order with the destination prefetched a fixed
/// distance ahead. Every store left is a useful one: sending the other part's
/// updates to a private sink instead filled half the store queue with stores
/// that do nothing, and a part ran no faster than the whole serial loop (16 Mi
/// random pairs into 4096 x 4096 float32: 146 ms sink, 99 ms compacted,
/// 135 ms serial, on the 2-core VM).
template <ScatterReduce R, typename T, int kNumIndices>
void flat_update_range(const ScatterDesc& d, int64_t begin, int64_t end, int64_t lo, int64_t hi) {
  const int64_t direct_stride = d.direct_is_scalar ? 0 : d.direct_strides[0];
  const char* direct = d.direct_is_scalar ? reinterpret_cast<const char*>(d.scalar) : d.direct;
  const ScatterAlpha alpha = d.alpha;
  const uint64_t span = static_cast<uint64_t>(hi - lo);
  constexpr int kCompact = 512;
  constexpr int kAhead = 24;
  int64_t offsets[kCompact];
  T values[kCompact];
  for (int64_t j0 = begin; j0 < end; j0 += kCompact) {
    const int64_t j1 = std::min(end, j0 + kCompact);
    int count = 0;
    for (int64_t j = j0; j < j1; ++j) {
      const int64_t offset = flat_offset<kNumIndices>(d, j);
      offsets[count] = offset;
      values[count] = *reinterpret_cast<const T*>(direct + j * direct_stride);
      count += static_cast<int>(static_cast<uint64_t>(offset - lo) < span);
    }
    for (int i = 0; i < std::min(count, kAhead); ++i) __builtin_prefetch(d.indexed + offsets[i], 1);
    for (int i = 0; i < count; ++i) {
      if (i + kAhead < count) __builtin_prefetch(d.indexed + offsets[i + kAhead], 1);
      T* target = reinterpret_cast<T*>(d.indexed + offsets[i]);
      *target = scatter_combine<R, T>(*target, values[i], alpha);
    }
  }
}

template <ScatterReduce R, typename T>
FlatFn select_flat_for(int num_indices, bool filter) {
  if (num_indices == 1) return filter ? &flat_update_range<R, T, 1> : &flat_update_all<R, T, 1>;
  return filter ? &flat_update_range<R, T, 2> : &flat_update_all<R, T, 2>;
}

/// The fused flat loop for `d`, or nullptr when `d` is not flat.
FlatFn select_flat(const ScatterDesc& d, bool filter) {
  if (d.ndim != 1 || d.num_indices < 1 || d.num_indices > 2 || !indices_are_int64(d)) return nullptr;
  if (d.reduce == ScatterReduce::Assign) {
    return dispatch_bits(ElementwiseDesc::dtype_size(d.dtype), [&](auto tag) -> FlatFn {
      using Bits = typename decltype(tag)::type;
      return select_flat_for<ScatterReduce::Assign, Bits>(d.num_indices, filter);
    });
  }
  if (d.reduce != ScatterReduce::Add) return nullptr;
  return dispatch_dtype(d.dtype, [&](auto tag) -> FlatFn {
    using T = typename decltype(tag)::type;
    return select_flat_for<ScatterReduce::Add, T>(d.num_indices, filter);
  });
}

// ---- partial sums and assignments ---------------------------------------------------------

constexpr int64_t kPartialMinUpdates = int64_t{1} << 15;  // per part
// Assignments also mark a byte per update and merge through the marks: 64 Ki
// scatter_ into 4 Ki slots ran slower in two parts (0.09 ms) than validated
// and applied serially (0.06 ms).
constexpr int64_t kPartialMinAssignments = int64_t{1} << 18;
constexpr int kMaxPartials = 4;
// All copies together at most this size (more parts than that thrash the
// last-level cache the copies' random updates live in), and a copy bigger
// than a core's L2 has its destinations prefetched.
constexpr int64_t kPartialMaxCopiesBytes = int64_t{1} << 23;
constexpr int64_t kPartialPrefetchBytes = int64_t{1} << 20;
// Blocks of updates between looks at the other parts' verdict (a bad index
// found by one part stops the others early).
constexpr int64_t kCheckBlock = 4096;

/// True when the indices of `d` address a dense target exactly: each element of
/// the indexed tensor is reached by one combination of index values, so a
/// private copy of it is `indexed_extent` bytes addressed by the same offsets.
bool dense_target(const ScatterDesc& d, int64_t element) {
  if (!d.indexed_nonoverlapping || d.indexed_strides[0] != 0) return false;
  const IndexOperand& a = d.indices[0];
  if (d.num_indices == 1) return a.target_byte_stride == element && a.dim_size * element == d.indexed_extent;
  const IndexOperand* outer = &d.indices[0];
  const IndexOperand* inner = &d.indices[1];
  if (outer->target_byte_stride < inner->target_byte_stride) std::swap(outer, inner);
  return inner->target_byte_stride == element && outer->target_byte_stride == inner->dim_size * element &&
         outer->dim_size * outer->target_byte_stride == d.indexed_extent;
}

/// True when the partial route keeps the sums of `d` in float copies: a
/// Float16 or BFloat16 target (see partial_updates).
bool widened_partial_sums(const ScatterDesc& d) {
  return d.reduce == ScatterReduce::Add && (d.dtype == DType::Float16 || d.dtype == DType::BFloat16);
}

/// How many parts `d` is split into on the partial route: 0 when it takes the
/// other routes.
int partial_parts(const ScatterDesc& d) {
  // Sums and products: set_deterministic(true) asks for index order, the
  // order the CUDA sorted path reproduces: the serial loop. Assignments, amax
  // and amin give the serial loop's bits either way (a later part's
  // assignment overrides an earlier one's; the merge keeps the earlier value
  // on a tie and the later NaN, as the loop does).
  switch (d.reduce) {
    case ScatterReduce::Add:
    case ScatterReduce::Multiply:
      if (is_deterministic()) return 0;
      break;
    case ScatterReduce::Assign:
    case ScatterReduce::Max:
    case ScatterReduce::Min:
      break;
    case ScatterReduce::MeanDivide:
      return 0;
  }
  if (d.ndim != 1 || d.num_indices < 1 || d.num_indices > 2) return 0;
  if (!indices_are_int64(d)) return 0;
  // Float copies of a Float16/BFloat16 target would add alpha * src
  // unrounded, where scatter_combine rounds it to the dtype first (PyTorch's
  // index_add_): an alpha other than 1 takes the other routes.
  if (widened_partial_sums(d) && d.alpha.enabled) return 0;
  const int64_t element = static_cast<int64_t>(ElementwiseDesc::dtype_size(d.dtype));
  if (!fits_flat_dense(d, element) || !dense_target(d, element)) return 0;
  const int64_t slots = d.indexed_extent / element;
  if (slots == 0) return 0;  // every index is out of range: the validation pass says which
  // Each part must carry enough updates to pay for its copy of the target
  // (clearing it and merging it into self cost two passes over `slots`).
  const int64_t per_part = d.reduce == ScatterReduce::Assign ? kPartialMinAssignments : kPartialMinUpdates;
  const int64_t copy_bytes = d.indexed_extent * (widened_partial_sums(d) ? 2 : 1);
  int parts = static_cast<int>(std::min<int64_t>(d.numel / per_part, kMaxPartials));
  while (parts >= 2 && (static_cast<int64_t>(parts) * slots * 4 > d.numel ||
                        (parts > 2 && parts * copy_bytes > kPartialMaxCopiesBytes))) {
    --parts;
  }
  return parts >= 2 ? parts : 0;
}

/// The value a part's copy starts from: combining it into self leaves self's
/// bits alone. Sums: -0.0 for floating types (x + -0.0 == x, -0.0 included),
/// 0 / false otherwise; products: 1 (true); amax: -inf, the lowest integer or
/// false; amin: +inf, the highest integer or true (scatter_combine keeps self
/// on a tie, so an untouched slot never changes self).
template <ScatterReduce R, typename T>
T reduce_identity() {
  if constexpr (std::is_same_v<T, bool>) {
    return R == ScatterReduce::Multiply || R == ScatterReduce::Min;
  } else if constexpr (std::is_integral_v<T>) {
    if constexpr (R == ScatterReduce::Multiply) return T{1};
    if constexpr (R == ScatterReduce::Max) return std::numeric_limits<T>::lowest();
    if constexpr (R == ScatterReduce::Min) return std::numeric_limits<T>::max();
    return T{};
  } else {
    if constexpr (R == ScatterReduce::Multiply) return convert<T>(1.0f);
    if constexpr (R == ScatterReduce::Max) return convert<T>(-std::numeric_limits<float>::infinity());
    if constexpr (R == ScatterReduce::Min) return convert<T>(std::numeric_limits<float>::infinity());
    return convert<T>(-0.0f);
  }
}

/// flat_dense's assignment into a private copy that also marks each slot it
/// writes (one byte per slot in `marks`), for the partial route: the merge
/// then takes from a part only the slots that part assigned.
/// Checked like flat_dense<kChecked>: a sub-block's indices before its
/// updates, or with prefetches as walk_prefetch_checked does.
template <typename T, int kNumIndices, bool kPrefetch>
bool flat_assign_marked(const ScatterDesc& d, uint8_t* marks, int64_t begin, int64_t end) {
  T* const base = reinterpret_cast<T*>(d.indexed);
  const T* const src = reinterpret_cast<const T*>(d.direct);
  const auto assign = [&](int64_t j, int64_t slot) {
    base[slot] = src[j];
    marks[slot] = 1;
  };
  if constexpr (kPrefetch) return walk_prefetch_checked<T, kNumIndices>(d, base, begin, end, assign);
  FlatIndexer<T, kNumIndices, false> offset_of(d);
  for (int64_t j0 = begin; j0 < end; j0 += kCheckedSubBlock) {
    const int64_t j1 = std::min(end, j0 + kCheckedSubBlock);
    if (!flat_indices_in_range<kNumIndices>(d, j0, j1)) return false;
    for (int64_t j = j0; j < j1; ++j) assign(j, offset_of(j));
  }
  return true;
}

/// Applies positions [begin, end) of `d` (retargeted at a private copy of
/// element type A) with every index checked; false when one was out of range.
template <ScatterReduce R, typename T, typename A, int kNumIndices, bool kPrefetch>
bool apply_part(const ScatterDesc& into_copy, uint8_t* marks, int64_t begin, int64_t end) {
  if constexpr (R == ScatterReduce::Assign) {
    return flat_assign_marked<T, kNumIndices, kPrefetch>(into_copy, marks, begin, end);
  } else {
    return flat_dense<R, T, kNumIndices, kPrefetch, true, A>(into_copy, begin, end);
  }
}

/// The partial route (see the top of the file): sums (R = Add), products,
/// maxima and minima, or assignments (R = Assign, T the element's bits).
/// Returns false, self untouched, when an index is out of range.
/// Sums into a Float16 or BFloat16 target are kept in float copies and
/// rounded to T once per slot, when the parts are merged: a part's copy
/// rounded to 8 or 11 bits after every add drifted far from the true sum on
/// a slot with many updates (64 Ki bfloat16 values in [-1, 1) into 4 slots:
/// mean error 9.8, the serial loop's 21; with float copies a rounding of the
/// true sum). Everything else keeps copies of T.
template <ScatterReduce R, typename T, int kNumIndices>
bool partial_updates(const ScatterDesc& d, int parts) {
  constexpr bool kAssign = R == ScatterReduce::Assign;
  constexpr bool kWiden = R == ScatterReduce::Add && (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>);
  using A = std::conditional_t<kWiden, float, T>;
  const int64_t slots = d.indexed_extent / static_cast<int64_t>(sizeof(T));
  const size_t copies_bytes = static_cast<size_t>(parts * slots) * sizeof(A);
  // From the host pool, returned when the scope ends (thrown or not). An
  // assignment's parts also mark the slots they wrote.
  const Storage scratch = Storage::allocate(copies_bytes + (kAssign ? static_cast<size_t>(parts * slots) : 0),
                                            Device(DeviceType::CPU));
  A* const copies = static_cast<A*>(scratch.data());
  uint8_t* const marks = kAssign ? static_cast<uint8_t*>(scratch.data()) + copies_bytes : nullptr;
  std::atomic<bool> in_range{true};
  const bool prefetch = slots * static_cast<int64_t>(sizeof(A)) >= kPartialPrefetchBytes;
  parallel_for(0, parts, 1, [&](int64_t first, int64_t last) {
    for (int64_t part = first; part < last; ++part) {
      A* copy = copies + part * slots;
      uint8_t* mark = kAssign ? marks + part * slots : nullptr;
      if constexpr (kAssign) {
        std::fill(mark, mark + slots, uint8_t{0});
      } else {
        std::fill(copy, copy + slots, reduce_identity<R, A>());
      }
      ScatterDesc into_copy = d;
      into_copy.indexed = reinterpret_cast<char*>(copy);
      const int64_t begin = d.numel * part / parts;
      const int64_t end = d.numel * (part + 1) / parts;
      for (int64_t j = begin; j < end; j += kCheckBlock) {
        const int64_t block_end = std::min(end, j + kCheckBlock);
        if (!in_range.load(std::memory_order_relaxed) ||
            !(prefetch ? apply_part<R, T, A, kNumIndices, true>(into_copy, mark, j, block_end)
                       : apply_part<R, T, A, kNumIndices, false>(into_copy, mark, j, block_end))) {
          in_range.store(false, std::memory_order_relaxed);
          return;
        }
      }
    }
  });
  if (!in_range.load()) return false;
  // Every update has been checked: now self is written, slot by slot, taking
  // the parts in order (alpha was applied when they were summed; a later
  // part's assignment overrides an earlier one's, as in index order).
  T* const self = reinterpret_cast<T*>(d.indexed);
  const ScatterAlpha one;
  parallel_for(0, slots, kGrainSize, [&](int64_t begin, int64_t end) {
    if constexpr (kWiden) {
      // self + part 0 + part 1 + ... in float, rounded to T once.
      for (int64_t s = begin; s < end; ++s) {
        float sum = convert<float>(self[s]);
        for (int part = 0; part < parts; ++part) sum = add_plain(sum, copies[part * slots + s]);
        self[s] = convert<T>(sum);
      }
      return;
    }
    for (int part = 0; part < parts; ++part) {
      const A* copy = copies + part * slots;
      if constexpr (kAssign) {
        const uint8_t* mark = marks + part * slots;
        for (int64_t s = begin; s < end; ++s) self[s] = mark[s] != 0 ? copy[s] : self[s];
      } else {
        for (int64_t s = begin; s < end; ++s) self[s] = scatter_combine<R, T>(self[s], copy[s], one);
      }
    }
  });
  return true;
}

template <ScatterReduce R, typename T>
bool partial_updates_for(const ScatterDesc& d, int parts) {
  return d.num_indices == 1 ? partial_updates<R, T, 1>(d, parts) : partial_updates<R, T, 2>(d, parts);
}

// ---- destination buckets ------------------------------------------------------------
//
// Many flat updates into a target beyond the last-level cache (index_put_ of random
// pairs into a big matrix, scatter_ of millions of values), shared between
// threads without reading any index twice. The positions are cut into one
// range per thread; each thread reads its range once, checking every index
// as it goes (FlatIndexer<kChecked>), and appends (offset, value) to one list
// per bucket, a bucket being a contiguous slice of the target. Only when every
// index has passed are the buckets applied, whole buckets per thread, each
// walking the lists of range 0, then range 1, ... A destination lies in one
// bucket, applied by one thread in index order: the serial loop's result, bit
// for bit, for any thread count (the last assignment in index order wins), and
// nothing of self is written before every index is checked. Buckets are a few
// per thread (balance) and at most kBucketMaxBytes, so that one thread's
// random writes stay in the last-level cache.
//
// Dense updates (kDenseUpdatesPerLine or more per cache line of the target on
// average: 16 Mi random pairs into 4096 x 4096 float32) take buckets of a
// core's L2 instead: each bucket's slice is first streamed in with sequential
// prefetches (every line of it is about to be written), then its updates hit
// L2, not L3 or memory. Hundreds of lists are then filled at once, too many
// write streams for the hardware prefetcher, so each list's next lines are
// prefetched as it grows. 16 Mi pairs, 2 threads on the 2-core VM: 90 -> 73
// ms; with accumulate 122 -> 87 ms (medians; pass 1 48 ms, pass 2 27 ms).
// Sparser updates gain nothing (1 Mi pairs: each touches its own line, and
// streaming the slice in reads lines nobody writes).

constexpr int64_t kBucketMinUpdates = kBeyondCacheMinUpdates;
constexpr int64_t kBucketMinBytes = kBeyondCacheBytes;
constexpr int64_t kBucketMaxBytes = int64_t{1} << 23;
constexpr int64_t kDenseBucketBytes = int64_t{1} << 18;
constexpr int64_t kDenseUpdatesPerLine = 4;
constexpr int kBucketsPerThread = 4;
// Entries per chunk of a bucket's list: up to kBucketMaxChunk, fewer when there
// are many (range, bucket) lists for the updates (many threads), so that the
// part-filled last chunks of the lists stay a small share of the scratch.
constexpr int64_t kBucketMaxChunk = 1024;
constexpr int64_t kBucketMinChunk = 64;

template <typename T>
struct BucketEntry {
  uint32_t offset;  // in elements of T
  T value;
};

/// True when `d` makes kDenseUpdatesPerLine or more updates per cache line of
/// its target, on average.
bool dense_updates(const ScatterDesc& d) { return d.numel * kCacheLine >= d.indexed_extent * kDenseUpdatesPerLine; }

/// log2 of the bucket width in elements when `d` takes the bucket route, else -1.
int bucket_shift(const ScatterDesc& d) {
  if (d.reduce != ScatterReduce::Assign && d.reduce != ScatterReduce::Add) return -1;
  if (d.ndim != 1 || d.num_indices < 1 || d.num_indices > 2) return -1;
  if (d.numel < kBucketMinUpdates || d.indexed_extent < kBucketMinBytes) return -1;
  const int threads = get_num_threads();
  if (threads < 2 || in_parallel_region()) return -1;
  const int64_t element = static_cast<int64_t>(ElementwiseDesc::dtype_size(d.dtype));
  if (!indices_are_int64(d) || !fits_flat_dense(d, element, /*allow_scalar=*/true)) return -1;
  const int64_t elements = (d.indexed_extent + element - 1) / element;
  if (elements > int64_t{UINT32_MAX}) return -1;
  const int64_t per_bucket = std::max<int64_t>(elements / (kBucketsPerThread * threads), 1);
  const int64_t widest = std::min((dense_updates(d) ? kDenseBucketBytes : kBucketMaxBytes) / element, per_bucket);
  int shift = 0;
  while ((int64_t{2} << shift) <= widest) ++shift;
  return shift;
}

/// The bucket route (see above). Returns false, self untouched, when an index
/// is out of range.
template <ScatterReduce R, typename T, int kNumIndices>
bool bucketed_updates(const ScatterDesc& d, int shift) {
  using Entry = BucketEntry<T>;
  const int64_t elements = (d.indexed_extent + static_cast<int64_t>(sizeof(T)) - 1) / static_cast<int64_t>(sizeof(T));
  const int64_t buckets = ((elements - 1) >> shift) + 1;
  const int64_t ranges = get_num_threads();
  int64_t chunk = kBucketMaxChunk;
  while (chunk > kBucketMinChunk && chunk * ranges * buckets * 4 > d.numel) chunk /= 2;
  // Range r owns the chunks [first_chunk[r], first_chunk[r + 1]): enough for
  // its entries plus one part-filled chunk per bucket.
  std::vector<int64_t> first_chunk(static_cast<size_t>(ranges + 1), 0);
  for (int64_t r = 0; r < ranges; ++r) {
    const int64_t length = d.numel * (r + 1) / ranges - d.numel * r / ranges;
    first_chunk[static_cast<size_t>(r + 1)] =
        first_chunk[static_cast<size_t>(r)] + (length + chunk - 1) / chunk + buckets;
  }
  const int64_t chunks = first_chunk.back();
  // From the host pool, returned when the scope ends (thrown or not).
  const Storage scratch =
      Storage::allocate(static_cast<size_t>(chunks * chunk) * sizeof(Entry), Device(DeviceType::CPU));
  Entry* const entries = static_cast<Entry*>(scratch.data());
  // Per (range, bucket): the first and last chunk of its list and the entries
  // in the last; per chunk: the next one of its list.
  std::vector<int64_t> head(static_cast<size_t>(ranges * buckets), -1), tail(head), tail_count(head);
  std::vector<int64_t> next(static_cast<size_t>(chunks), -1);
  const T* const src = d.direct_is_scalar ? reinterpret_cast<const T*>(d.scalar) : reinterpret_cast<const T*>(d.direct);
  const int64_t src_step = d.direct_is_scalar ? 0 : 1;
  const bool dense = dense_updates(d);
  std::atomic<bool> in_range{true};
  parallel_for(0, ranges, 1, [&](int64_t first, int64_t last) {
    std::vector<Entry*> cursor(static_cast<size_t>(buckets), nullptr), limit(cursor);
    for (int64_t r = first; r < last; ++r) {
      int64_t* const heads = head.data() + r * buckets;
      int64_t* const tails = tail.data() + r * buckets;
      int64_t free_chunk = first_chunk[static_cast<size_t>(r)];
      std::fill(cursor.begin(), cursor.end(), nullptr);
      std::fill(limit.begin(), limit.end(), nullptr);
      FlatIndexer<T, kNumIndices, true> offset_of(d);
      const int64_t end = d.numel * (r + 1) / ranges;
      auto partition = [&](auto dense_tag) {
        constexpr bool kDense = decltype(dense_tag)::value;
        // In blocks: first the block's offsets (a loop of independent loads and
        // checks), then their distribution into the lists.
        constexpr int64_t kOffsetsBlock = 256;
        int64_t offsets[kOffsetsBlock];
        for (int64_t j0 = d.numel * r / ranges; j0 < end; j0 += kOffsetsBlock) {
          const int64_t count = std::min(kOffsetsBlock, end - j0);
          for (int64_t i = 0; i < count; ++i) offsets[i] = offset_of(j0 + i);
          for (int64_t i = 0; i < count; ++i) {
            const int64_t offset = offsets[i];
            const size_t b = static_cast<size_t>(offset >> shift);
            if (cursor[b] == limit[b]) {
              const int64_t c = free_chunk++;
              if (tails[b] < 0) {
                heads[b] = c;
              } else {
                next[static_cast<size_t>(tails[b])] = c;
              }
              tails[b] = c;
              cursor[b] = entries + c * chunk;
              limit[b] = cursor[b] + chunk;
            }
            // Two lines ahead (past the chunk's end that is another list's
            // entries, or no memory at all: a prefetch never faults).
            if constexpr (kDense) {
              __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(cursor[b]) + 2 * kCacheLine), 1);
            }
            *cursor[b]++ = Entry{static_cast<uint32_t>(offset), src[(j0 + i) * src_step]};
          }
        }
      };
      if (dense) {
        partition(std::true_type{});
      } else {
        partition(std::false_type{});
      }
      for (int64_t b = 0; b < buckets; ++b) {
        if (tails[b] < 0) continue;
        tail_count[static_cast<size_t>(r * buckets + b)] = cursor[static_cast<size_t>(b)] - (entries + tails[b] * chunk);
      }
      if (!offset_of.ok()) in_range.store(false, std::memory_order_relaxed);
    }
  });
  if (!in_range.load()) return false;
  // Every index has been checked: now self is written, bucket by bucket.
  T* const base = reinterpret_cast<T*>(d.indexed);
  const ScatterAlpha alpha = d.alpha;
  parallel_for(0, buckets, 1, [&](int64_t first, int64_t last) {
    for (int64_t b = first; b < last; ++b) {
      if (dense) {
        const int64_t lo = b << shift;
        const int64_t hi = std::min<int64_t>((b + 1) << shift, elements);
        for (int64_t e = lo; e < hi; e += kCacheLine / static_cast<int64_t>(sizeof(T))) __builtin_prefetch(base + e, 1, 3);
      }
      for (int64_t r = 0; r < ranges; ++r) {
        const size_t list = static_cast<size_t>(r * buckets + b);
        for (int64_t c = head[list]; c >= 0; c = next[static_cast<size_t>(c)]) {
          const Entry* e = entries + c * chunk;
          const int64_t count = c == tail[list] ? tail_count[list] : chunk;
          constexpr int64_t kAhead = 16;
          for (int64_t i = 0; i < count; ++i) {
            if (i + kAhead < count) __builtin_prefetch(base + e[i + kAhead].offset, 1);
            T* target = base + e[i].offset;
            *target = scatter_combine<R, T>(*target, e[i].value, alpha);
          }
        }
      }
    }
  });
  return true;
}

template <ScatterReduce R, typename T>
bool bucketed_updates_for(const ScatterDesc& d, int shift) {
  return d.num_indices == 1 ? bucketed_updates<R, T, 1>(d, shift) : bucketed_updates<R, T, 2>(d, shift);
}

/// Runs the bucket route for `d` (bucket_shift(d) = shift >= 0).
bool run_bucketed(const ScatterDesc& d, int shift) {
  if (d.reduce == ScatterReduce::Assign) {
    return dispatch_bits(ElementwiseDesc::dtype_size(d.dtype), [&](auto tag) {
      using Bits = typename decltype(tag)::type;
      return bucketed_updates_for<ScatterReduce::Assign, Bits>(d, shift);
    });
  }
  return dispatch_dtype(d.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    return bucketed_updates_for<ScatterReduce::Add, T>(d, shift);
  });
}

/// Offsets of positions j0..j1 of the current row. With kFilter, only those whose
/// indexed offset lies in [lo, hi) are kept. Returns how many were written.
template <int kNumIndices, bool kFilter>
int row_offsets(const ScatterDesc& d, int64_t indexed_base, int64_t direct_base, const int64_t* index_base,
                int64_t j0, int64_t j1, int64_t lo, int64_t hi, int64_t* dst, int64_t* src) {
  const int num_indices = kNumIndices >= 0 ? kNumIndices : d.num_indices;
  const int64_t indexed_stride = d.indexed_strides[0];
  const int64_t direct_stride = d.direct_strides[0];
  const bool all_long = indices_are_int64(d);
  int count = 0;
  for (int64_t j = j0; j < j1; ++j) {
    int64_t offset = indexed_base + j * indexed_stride;
    for (int k = 0; k < num_indices; ++k) {
      const IndexOperand& op = d.indices[k];
      const char* p = op.data + index_base[k] + j * op.byte_strides[0];
      int64_t v = all_long ? *reinterpret_cast<const int64_t*>(p) : load_index(p, op.dtype);
      if (d.wrap_negative && v < 0) v += op.dim_size;
      offset += v * op.target_byte_stride;
    }
    if constexpr (kFilter) {
      if (offset < lo || offset >= hi) continue;
    }
    dst[count] = offset;
    src[count] = direct_base + j * direct_stride;
    ++count;
  }
  return count;
}

using RowOffsetsFn = int (*)(const ScatterDesc&, int64_t, int64_t, const int64_t*, int64_t, int64_t, int64_t,
                             int64_t, int64_t*, int64_t*);

template <bool kFilter>
RowOffsetsFn select_row_offsets(int num_indices) {
  switch (num_indices) {
    case 0: return &row_offsets<0, kFilter>;
    case 1: return &row_offsets<1, kFilter>;
    case 2: return &row_offsets<2, kFilter>;
    default: return &row_offsets<-1, kFilter>;
  }
}

/// One row of the iteration space with a single Int64 index operand (every
/// scatter_, scatter_add_, scatter_reduce_ and gather, index_put_ with one
/// index tensor), typed by (reduce, dtype) and fused: each position's
/// destination is computed and applied in the same iteration, with no offset
/// arrays in between (1 Mi positions along dim 1 of a 1024-row matrix, 2
/// threads on the 2-core VM, medians: gather 2.00 -> 1.22 ms, scatter_ 2.14 ->
/// 1.11 ms, scatter_add_ 2.45 -> 1.33 ms).
/// kGather reads self into the direct operand instead.
/// With kChecked (gather only: it writes nothing of self), each index is
/// validated as it is read (FlatIndexer's rule; an out-of-range one reads
/// position 0 instead) and the row returns false when one was out of range.
/// kDense is the common row along the last dimension of contiguous tensors
/// (dense_row): every stride a constant, no wrapping, about half the
/// instructions per position (1 Mi positions along dim 1 of a 1024-row
/// matrix, 2 threads, medians: gather 1.19 -> 0.63 ms, scatter_add_ 1.28 ->
/// 0.76, scatter_ 1.20 -> 0.69). Checking a sub-block of a checked gather's
/// indices first and then reading them unchecked ran slower (0.65 -> 1.14 ms).
/// One call runs `rows` consecutive rows along dimension 1 (the next
/// dimension's strides between them): a short innermost row (gather(1, index)
/// with an [N, 4] index) then costs a few instructions per row, not a call
/// and a coordinate step (gather of 1 Mi positions in rows of 4 from a
/// [256 Ki, 16] self, 2 threads: 2.7 -> 1.3 ms).
using TypedRowFn = bool (*)(const ScatterDesc& d, int64_t indexed_base, int64_t direct_base, int64_t index_base,
                            int64_t n, int64_t rows);

template <ScatterReduce R, typename T, bool kGather, bool kPrefetch, bool kChecked = false, bool kDense = false>
bool typed_row(const ScatterDesc& d, int64_t indexed_base, int64_t direct_base, int64_t index_base, int64_t n,
               int64_t rows) {
  static_assert(kGather || !kChecked, "a scatter must validate its indices before it writes");
  static_assert(!(kDense && kPrefetch), "a dense row stays within L2");
  constexpr int64_t kElement = static_cast<int64_t>(sizeof(T));
  const IndexOperand& op = d.indices[0];
  const int64_t index_stride = kDense ? int64_t{sizeof(int64_t)} : op.byte_strides[0];
  const int64_t target_stride = kDense ? kElement : op.target_byte_stride;
  const int64_t wrap = kDense || !d.wrap_negative ? 0 : op.dim_size;
  const int64_t indexed_stride = kDense ? 0 : d.indexed_strides[0];
  const int64_t direct_stride = kDense ? kElement : d.direct_is_scalar ? 0 : d.direct_strides[0];
  // Between rows (dimension 1; one row when there is none).
  const bool two_dims = d.ndim >= 2;
  const int64_t index_row_stride = two_dims ? op.byte_strides[1] : 0;
  const int64_t indexed_row_stride = two_dims ? d.indexed_strides[1] : 0;
  const int64_t direct_row_stride = two_dims && !d.direct_is_scalar ? d.direct_strides[1] : 0;
  const ScatterAlpha alpha = d.alpha;
  // Destination of position j (the index was validated before the kernel ran,
  // or is here with kChecked; a negative one wraps, branch-free, when the op
  // allows it).
  const uint64_t span = static_cast<uint64_t>(op.dim_size + wrap);
  uint64_t bad = 0;
  // One position: read the indexed element into the other operand (gather)
  // or update it from there.
  const auto apply_at = [&alpha](T* target, T* other) {
    if constexpr (kGather) {
      *other = *target;
    } else {
      *target = scatter_combine<R, T>(*target, *other, alpha);
    }
  };
  if constexpr (kDense) {
    // Short dense rows (1, 2 or 4 positions: gather(1, index) with an [N, 4]
    // or [N, 1] index) whose index and other operand run on contiguously from
    // row to row: one flat run over all the rows' positions, in batches of
    // kUnitBatch, position p in row p >> shift, instead of a row at a time
    // below the batch size.
    if (rows > 1 && n < kUnitBatch && (n & (n - 1)) == 0 && index_row_stride == n * index_stride &&
        direct_row_stride == n * direct_stride) {
      const int shift = __builtin_ctzll(static_cast<uint64_t>(n));
      const int64_t* const index = reinterpret_cast<const int64_t*>(op.data + index_base);
      char* const indexed = d.indexed + indexed_base;
      T* const direct = reinterpret_cast<T*>(d.direct + direct_base);
      const int64_t total = rows * n;
      const auto target_at = [&](char* row, int64_t p) {
        const int64_t v = index_coordinate<kChecked>(index[p], 0, span, bad);
        return reinterpret_cast<T*>(row + v * kElement);
      };
      // A batch starts a row (n divides kUnitBatch): its position k lies
      // row_step[k] bytes of self past the batch's first row.
      int64_t row_step[kUnitBatch];
      for (int k = 0; k < kUnitBatch; ++k) row_step[k] = (k >> shift) * indexed_row_stride;
      int64_t p = 0;
      for (; p + kUnitBatch <= total; p += kUnitBatch) {
        char* const row = indexed + (p >> shift) * indexed_row_stride;
        int64_t checked[kUnitBatch];
        const int64_t* const v = batch_coordinates<kChecked>(index + p, span, bad, checked);
        T* target[kUnitBatch];
#pragma GCC unroll 8
        for (int k = 0; k < kUnitBatch; ++k) target[k] = reinterpret_cast<T*>(row + row_step[k] + v[k] * kElement);
#pragma GCC unroll 8
        for (int k = 0; k < kUnitBatch; ++k) apply_at(target[k], direct + p + k);
      }
      for (; p < total; ++p) apply_at(target_at(indexed + (p >> shift) * indexed_row_stride, p), direct + p);
      return bad == 0;
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    const char* const index = op.data + index_base + r * index_row_stride;
    char* const indexed = d.indexed + indexed_base + r * indexed_row_stride;
    char* const direct = d.direct_is_scalar ? const_cast<char*>(reinterpret_cast<const char*>(d.scalar))
                                            : d.direct + direct_base + r * direct_row_stride;
    const auto target_of = [&](int64_t j) {
      const int64_t v = index_coordinate<kChecked>(*reinterpret_cast<const int64_t*>(index + j * index_stride), wrap,
                                                   span, bad);
      return indexed + j * indexed_stride + v * target_stride;
    };
    // The address a few positions ahead, its index unchecked (a prefetch never
    // faults): formed in unsigned integers, which wrap where a wild index would
    // overflow.
    const auto ahead_of = [&](int64_t j) {
      const int64_t v =
          index_coordinate<false>(*reinterpret_cast<const int64_t*>(index + j * index_stride), wrap, span, bad);
      return reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(indexed) +
                                           static_cast<uintptr_t>(j * indexed_stride) +
                                           static_cast<uintptr_t>(v) * static_cast<uintptr_t>(target_stride));
    };
    constexpr int64_t kAhead = kPrefetchDistance;
    int64_t j = 0;
    if constexpr (kDense) {
      // As flat_dense's unit loop, a batch of addresses first: along dim 1 of
      // a [1024, 1024] index, gather 0.91-0.95 -> 0.62-0.70 ms, scatter_
      // 0.61-0.66 -> 0.50-0.59 (2-core VM, alternating runs).
      for (; j + kUnitBatch <= n; j += kUnitBatch) {
        int64_t checked[kUnitBatch];
        const int64_t* const v =
            batch_coordinates<kChecked>(reinterpret_cast<const int64_t*>(index) + j, span, bad, checked);
        T* target[kUnitBatch];
#pragma GCC unroll 8
        for (int k = 0; k < kUnitBatch; ++k) target[k] = reinterpret_cast<T*>(indexed + v[k] * kElement);
#pragma GCC unroll 8
        for (int k = 0; k < kUnitBatch; ++k) apply_at(target[k], reinterpret_cast<T*>(direct + (j + k) * kElement));
      }
    }
    for (; j < n; ++j) {
      if constexpr (kPrefetch) {
        if (j + kAhead < n) __builtin_prefetch(ahead_of(j + kAhead), kGather ? 0 : 1);
      }
      apply_at(reinterpret_cast<T*>(target_of(j)), reinterpret_cast<T*>(direct + j * direct_stride));
    }
  }
  return bad == 0;
}

/// True when the rows of `d` are typed_row's kDense case: dense Int64 index
/// values along the row, the row's destinations (scatter) or sources (gather)
/// one element apart and addressed only through the index (self's own
/// stride along the row is 0), the other operand dense along the row, and no
/// wrapping of negative values.
bool dense_row(const ScatterDesc& d, int64_t element) {
  const IndexOperand& op = d.indices[0];
  return !d.wrap_negative && !d.direct_is_scalar && op.byte_strides[0] == int64_t{sizeof(int64_t)} &&
         op.target_byte_stride == element && d.indexed_strides[0] == 0 && d.direct_strides[0] == element;
}

/// The one index operand of `d` that varies along the row (dimension 0) when
/// there are several, all Int64, and the others are constant along it; else -1.
int row_varying_operand(const ScatterDesc& d) {
  if (d.num_indices < 2 || !indices_are_int64(d)) return -1;
  int varying = -1;
  for (int k = 0; k < d.num_indices; ++k) {
    if (d.indices[k].byte_strides[0] == 0) continue;
    if (varying >= 0) return -1;
    varying = k;
  }
  return varying;
}

/// typed_row for `d`, or nullptr when `d` does not fit it (several or
/// narrower index operands, a filtered part of a destination split).
TypedRowFn select_typed_row(const ScatterDesc& d, bool gather_mode, bool filter, bool checked) {
  if (filter || d.num_indices != 1 || !indices_are_int64(d)) return nullptr;
  if (checked && !gather_mode) return nullptr;  // a scatter validates before it writes
  // Prefetch destinations a few positions ahead when the span one row's index
  // values can reach is beyond L2 (gather along a 4 KiB row stays in L1, where
  // prefetching only adds an index load and an address per position).
  const IndexOperand& op = d.indices[0];
  const bool prefetch = op.dim_size * std::abs(op.target_byte_stride) > kPrefetchRowsMinBytes;
  const bool dense = !prefetch && dense_row(d, static_cast<int64_t>(ElementwiseDesc::dtype_size(d.dtype)));
  const auto pick = [&](auto reduce, auto tag) -> TypedRowFn {
    using T = typename decltype(tag)::type;
    constexpr ScatterReduce R = decltype(reduce)::value;
    if (gather_mode && checked) {
      if (dense) return &typed_row<R, T, true, false, true, true>;
      return prefetch ? &typed_row<R, T, true, true, true> : &typed_row<R, T, true, false, true>;
    }
    if (gather_mode) {
      if (dense) return &typed_row<R, T, true, false, false, true>;
      return prefetch ? &typed_row<R, T, true, true> : &typed_row<R, T, true, false>;
    }
    if (dense) return &typed_row<R, T, false, false, false, true>;
    return prefetch ? &typed_row<R, T, false, true> : &typed_row<R, T, false, false>;
  };
  if (gather_mode || d.reduce == ScatterReduce::Assign) {
    // Copies and assignments move bytes: one instantiation per element size.
    return dispatch_bits(ElementwiseDesc::dtype_size(d.dtype), [&](auto tag) {
      return pick(std::integral_constant<ScatterReduce, ScatterReduce::Assign>{}, tag);
    });
  }
  if (d.reduce == ScatterReduce::MeanDivide) return nullptr;
  return dispatch_scatter_reduce(d.reduce, [&](auto reduce) {
    return dispatch_dtype(d.dtype, [&](auto tag) { return pick(reduce, tag); });
  });
}

/// Prefetches every cache line of `bytes` bytes from `p`, for reading
/// (gather_mode) or for writing.
inline void prefetch_lines(const char* p, int64_t bytes, bool gather_mode) {
  for (int64_t b = 0; b < bytes; b += kCacheLine) {
    if (gather_mode) {
      __builtin_prefetch(p + b, 0);
    } else {
      __builtin_prefetch(p + b, 1);
    }
  }
}

/// Prefetches the destination row of row `r` of a two-dimensional `d` (one
/// row dimension after the contiguous one). Out of line: it runs on few shapes
/// and would crowd the registers of the row loop.
[[gnu::noinline]] void prefetch_row(const ScatterDesc& d, int64_t r, int64_t row_bytes, bool gather_mode) {
  int64_t index_base[kMaxIndexOperands];
  for (int k = 0; k < d.num_indices; ++k) index_base[k] = r * d.indices[k].byte_strides[1];
  int64_t dst, src;
  select_row_offsets<false>(d.num_indices)(d, r * d.indexed_strides[1], 0, index_base, 0, 1, 0, 0, &dst, &src);
  prefetch_lines(d.indexed + dst, row_bytes, gather_mode);
}

/// The byte offset into self of whole row (b, r) of `d`: rows along dimension
/// 1, an optional batch along dimension 2, one or two validated Int64 index
/// operands (negative values wrapped when the descriptor asks for it). For
/// the loops of whole rows below, which compute one address per row instead of
/// calling the offset routine and stepping coordinates per row.
template <int kNumIndices>
class RowAddress {
 public:
  // Copies of the descriptor's fields: the rows' stores (memcpy, row_fn) could
  // alias the descriptor as far as the compiler knows, these cannot.
  explicit RowAddress(const ScatterDesc& d)
      : row_stride_(d.indexed_strides[1]), batch_stride_(d.ndim == 3 ? d.indexed_strides[2] : 0) {
    for (int k = 0; k < kNumIndices; ++k) {
      const IndexOperand& op = d.indices[k];
      data_[k] = op.data;
      step_[k] = op.byte_strides[1];
      batch_step_[k] = d.ndim == 3 ? op.byte_strides[2] : 0;
      target_[k] = op.target_byte_stride;
      wrap_[k] = d.wrap_negative ? op.dim_size : 0;
      span_[k] = static_cast<uint64_t>(op.dim_size + wrap_[k]);
    }
  }
  int64_t operator()(int64_t b, int64_t r) {
    int64_t offset = b * batch_stride_ + r * row_stride_;
    for (int k = 0; k < kNumIndices; ++k) {
      const char* at = data_[k] + b * batch_step_[k] + r * step_[k];
      offset += index_coordinate<false>(*reinterpret_cast<const int64_t*>(at), wrap_[k], span_[k], bad_) * target_[k];
    }
    return offset;
  }

 private:
  int64_t row_stride_, batch_stride_;
  const char* data_[kNumIndices];
  int64_t step_[kNumIndices], batch_step_[kNumIndices], target_[kNumIndices], wrap_[kNumIndices];
  uint64_t span_[kNumIndices];
  uint64_t bad_ = 0;
};

/// Calls fn(b, r, offset) for every whole row (b, r) of `d` in order, with
/// the row's byte offset into self (RowAddress, computed once per row). With
/// `prefetch`, the lines of each row for which wanted(offset) holds are
/// prefetched kRowsAhead rows before fn reaches it (for writing unless
/// `gather_mode`).
template <int kNumIndices, typename Wanted, typename Fn>
void for_each_row(const ScatterDesc& d, int64_t row_bytes, bool prefetch, bool gather_mode, Wanted wanted, Fn fn) {
  static_assert((kRowsAhead & (kRowsAhead - 1)) == 0, "a ring of addresses indexed by r & (kRowsAhead - 1)");
  RowAddress<kNumIndices> address(d);
  const int64_t rows = d.sizes[1];
  const int64_t batches = d.ndim == 3 ? d.sizes[2] : 1;
  int64_t ring[kRowsAhead];
  const auto fetch = [&](int64_t offset) {
    if (wanted(offset)) prefetch_lines(d.indexed + offset, row_bytes, gather_mode);
  };
  for (int64_t b = 0; b < batches; ++b) {
    if (!prefetch) {
      for (int64_t r = 0; r < rows; ++r) fn(b, r, address(b, r));
      continue;
    }
    for (int64_t r = 0; r < std::min<int64_t>(rows, kRowsAhead); ++r) fetch(ring[r] = address(b, r));
    for (int64_t r = 0; r < rows; ++r) {
      int64_t& slot = ring[r & (kRowsAhead - 1)];
      const int64_t offset = slot;
      if (r + kRowsAhead < rows) fetch(slot = address(b, r + kRowsAhead));
      fn(b, r, offset);
    }
  }
}

/// Whole contiguous rows gathered through one or two Int64 index operands (see
/// RowAddress: self[rows], self[row_mask] once the mask is coordinates,
/// cache[b, t]): one address per row, computed here, instead of the offset
/// routine per row (self[row_mask] picking 32 Ki of 64 Ki rows of 16 float32,
/// one thread, the mask's coordinates included: 1.1-1.7 -> 0.47-0.59 ms).
/// The indices were validated before; each source row is prefetched
/// kRowsAhead rows ahead when `prefetch`.
template <int kNumIndices>
void gather_rows(const ScatterDesc& d, int64_t row_bytes, bool prefetch) {
  const int64_t out_batch_stride = d.ndim == 3 ? d.direct_strides[2] : 0;
  const int64_t out_row_stride = d.direct_strides[1];
  for_each_row<kNumIndices>(
      d, row_bytes, prefetch, /*gather_mode=*/true, [](int64_t) { return true; },
      [&](int64_t b, int64_t r, int64_t offset) {
        std::memcpy(d.direct + b * out_batch_stride + r * out_row_stride, d.indexed + offset,
                    static_cast<size_t>(row_bytes));
      });
}

/// Whole contiguous rows updated through one or two Int64 index operands (see
/// RowAddress): index_add_ along dim 0 (or along dim 1 of a 3-D self),
/// self[rows] = values, index_put_ accumulate of rows, cache[b, t] = rows.
/// One address per row instead of the offset routine and a coordinate step
/// per row (index_add_ of 16 Ki rows of 64 float32, one thread, about 240 ->
/// 120 instructions a row). The indices were validated before. With
/// `filter`, only the part of each row inside [lo, hi) is applied, and only
/// rows with some of it there are prefetched (kRowsAhead rows ahead, when
/// `prefetch`).
template <int kNumIndices>
void scatter_rows(const ScatterDesc& d, RowFn row_fn, int64_t row_bytes, bool prefetch, bool filter, int64_t lo,
                  int64_t hi) {
  const int64_t element = static_cast<int64_t>(ElementwiseDesc::dtype_size(d.dtype));
  const int64_t row = d.sizes[0];
  const char* const direct = d.direct_is_scalar ? reinterpret_cast<const char*>(d.scalar) : d.direct;
  const int64_t direct_stride = d.direct_is_scalar ? 0 : d.direct_strides[1];
  const int64_t direct_batch_stride = d.direct_is_scalar || d.ndim < 3 ? 0 : d.direct_strides[2];
  const bool scalar = d.direct_is_scalar;
  for_each_row<kNumIndices>(
      d, row_bytes, prefetch, /*gather_mode=*/false,
      [&](int64_t offset) { return !filter || (offset < hi && offset + row_bytes > lo); },
      [&](int64_t b, int64_t r, int64_t dst) {
        int64_t k0 = 0, k1 = row;
        if (filter) {
          k0 = std::clamp<int64_t>((lo - dst + element - 1) / element, 0, row);
          k1 = std::clamp<int64_t>((hi - dst + element - 1) / element, 0, row);
          if (k1 <= k0) return;
        }
        row_fn(d, d.indexed + dst + k0 * element,
               direct + b * direct_batch_stride + r * direct_stride + (scalar ? 0 : k0 * element), k1 - k0, scalar);
      });
}

/// The serial loop over the whole of `d` (filtered to destinations in [lo, hi)
/// when `filter`).
/// With `out_of_range` (a gather fit for checked_gather_fits), every index is
/// validated as it is read and *out_of_range set when one is not in range.
void run_serial(const ScatterDesc& d, ApplyFn apply, bool gather_mode, bool filter, int64_t lo, int64_t hi,
                std::atomic<bool>* out_of_range = nullptr) {
  if (d.numel == 0) return;
  if (!gather_mode) {
    if (const FlatFn flat = select_flat(d, filter)) {
      flat(d, 0, d.numel, lo, hi);
      return;
    }
  }
  const bool whole_rows = rows_are_contiguous(d);
  const RowFn row_fn = whole_rows && !gather_mode ? select_row(d) : nullptr;
  const int64_t element = static_cast<int64_t>(ElementwiseDesc::dtype_size(d.dtype));
  const RowOffsetsFn offsets_of =
      filter ? select_row_offsets<true>(d.num_indices) : select_row_offsets<false>(d.num_indices);
  const TypedRowFn typed = whole_rows ? nullptr : select_typed_row(d, gather_mode, filter, out_of_range != nullptr);
  // Several Int64 index operands of which one alone varies along the row
  // (x[rows[:, None], cols] = v, x[rows[:, None], cols]): the others add one
  // offset per row, and the row runs typed_row over the varying operand
  // (512 x 512 of 1024 x 1024, one thread, 1.8 -> 0.52 ms; the generic loop
  // writes and reads back an offset pair per position). The indices were
  // validated before (a checked gather, which validates as it reads, has one
  // operand).
  const int varying = whole_rows || filter || out_of_range != nullptr ? -1 : row_varying_operand(d);
  std::optional<ScatterDesc> single;
  TypedRowFn typed_single = nullptr;
  if (varying >= 0) {
    single.emplace(d);
    single->num_indices = 1;
    single->indices[0] = d.indices[varying];
    typed_single = select_typed_row(*single, gather_mode, false, false);
  }
  const char* direct = d.direct_is_scalar ? reinterpret_cast<const char*>(d.scalar) : d.direct;
  const int64_t row = d.sizes[0];
  const int64_t rows = d.numel / row;
  int64_t coord[kMaxDims] = {};
  int64_t indexed_base = 0, direct_base = 0;
  int64_t index_base[kMaxIndexOperands] = {};
  int64_t dst[kBlock], src[kBlock];
  // Whole short rows at random destinations (index_add_ of rows, self[rows] =
  // values): each row's first touch of its destination waits on the cache
  // hierarchy. With one row dimension the destination of a row a few ahead is
  // cheap to compute: prefetch its lines.
  const int64_t row_bytes = row * element;
  const bool prefetch_rows =
      whole_rows && d.ndim == 2 && row_bytes <= kPrefetchRowBytes && d.indexed_extent > kPrefetchRowsMinBytes;
  if (whole_rows && (gather_mode || row_fn != nullptr) && (d.ndim == 2 || d.ndim == 3) &&
      (d.num_indices == 1 || d.num_indices == 2) && indices_are_int64(d)) {
    const bool two = d.num_indices == 2;
    if (gather_mode) {
      two ? gather_rows<2>(d, row_bytes, prefetch_rows) : gather_rows<1>(d, row_bytes, prefetch_rows);
    } else {
      two ? scatter_rows<2>(d, row_fn, row_bytes, prefetch_rows, filter, lo, hi)
          : scatter_rows<1>(d, row_fn, row_bytes, prefetch_rows, filter, lo, hi);
    }
    return;
  }
  // typed_row runs all rows along dimension 1 in one call; the coordinates
  // then step from dimension 2.
  const int64_t rows_per_step = typed != nullptr && d.ndim >= 2 ? d.sizes[1] : 1;
  const int first_step_dim = typed != nullptr ? 2 : 1;
  for (int64_t r = 0; r < rows; r += rows_per_step) {
    if (prefetch_rows && r + kRowsAhead < rows) prefetch_row(d, r + kRowsAhead, row_bytes, gather_mode);
    if (whole_rows && gather_mode) {
      select_row_offsets<false>(d.num_indices)(d, indexed_base, direct_base, index_base, 0, 1, 0, 0, dst, src);
      std::memcpy(d.direct + src[0], d.indexed + dst[0], static_cast<size_t>(row * element));
    } else if (row_fn != nullptr) {
      // One offset for the whole row; clip it to [lo, hi) when filtering.
      select_row_offsets<false>(d.num_indices)(d, indexed_base, direct_base, index_base, 0, 1, 0, 0, dst, src);
      int64_t k0 = 0, k1 = row;
      if (filter) {
        k0 = std::clamp<int64_t>((lo - dst[0] + element - 1) / element, 0, row);
        k1 = std::clamp<int64_t>((hi - dst[0] + element - 1) / element, 0, row);
      }
      if (k1 > k0) {
        row_fn(d, d.indexed + dst[0] + k0 * element, direct + src[0] + (d.direct_is_scalar ? 0 : k0 * element),
               k1 - k0, d.direct_is_scalar);
      }
    } else if (typed != nullptr) {
      if (!typed(d, indexed_base, direct_base, index_base[0], row, rows_per_step) && out_of_range != nullptr) {
        out_of_range->store(true, std::memory_order_relaxed);
      }
    } else if (typed_single != nullptr) {
      int64_t constant = 0;
      for (int k = 0; k < d.num_indices; ++k) {
        if (k == varying) continue;
        const IndexOperand& op = d.indices[k];
        int64_t v = *reinterpret_cast<const int64_t*>(op.data + index_base[k]);
        if (d.wrap_negative && v < 0) v += op.dim_size;
        constant += v * op.target_byte_stride;
      }
      typed_single(*single, indexed_base + constant, direct_base, index_base[varying], row, 1);
    } else {
      for (int64_t j0 = 0; j0 < row; j0 += kBlock) {
        const int64_t j1 = std::min(row, j0 + kBlock);
        const int n = offsets_of(d, indexed_base, direct_base, index_base, j0, j1, lo, hi, dst, src);
        if (n > 0) apply(d, d.indexed, direct, dst, src, n);
      }
    }
    for (int dim = first_step_dim; dim < d.ndim; ++dim) {
      ++coord[dim];
      indexed_base += d.indexed_strides[dim];
      direct_base += d.direct_strides[dim];
      for (int k = 0; k < d.num_indices; ++k) index_base[k] += d.indices[k].byte_strides[dim];
      if (coord[dim] < d.sizes[dim]) break;
      indexed_base -= coord[dim] * d.indexed_strides[dim];
      direct_base -= coord[dim] * d.direct_strides[dim];
      for (int k = 0; k < d.num_indices; ++k) index_base[k] -= coord[dim] * d.indices[k].byte_strides[dim];
      coord[dim] = 0;
    }
  }
}

/// `d` restricted to coordinates [begin, end) of dimension `dim`.
ScatterDesc restrict_dim(const ScatterDesc& d, int dim, int64_t begin, int64_t end) {
  ScatterDesc sub = d;
  sub.sizes[dim] = end - begin;
  sub.numel = d.numel / d.sizes[dim] * (end - begin);
  sub.indexed += begin * d.indexed_strides[dim];
  if (!d.direct_is_scalar) sub.direct += begin * d.direct_strides[dim];
  for (int k = 0; k < d.num_indices; ++k) sub.indices[k].data += begin * d.indices[k].byte_strides[dim];
  return sub;
}

/// kSplitMinElements or kSplitMinPositions, for the loops `d` runs.
int64_t split_min_elements(const ScatterDesc& d) {
  return rows_are_contiguous(d) ? kSplitMinElements : kSplitMinPositions;
}

bool runs_serially(const ScatterDesc& d) {
  return d.numel < 2 * split_min_elements(d) || get_num_threads() == 1 || in_parallel_region();
}

/// True when the destinations of `d` are split across threads at a size where
/// the other routes run serially: a flat update into a target far larger than
/// the last-level cache, where every update waits on memory and a second core
/// doubles the misses in flight (index_put_ of random pairs into a big
/// matrix). Each part applies only its own updates (flat_update_range).
bool split_destinations_early(const ScatterDesc& d) {
  return d.indexed_extent >= kBeyondCacheBytes && d.numel >= kBeyondCacheMinUpdates && d.ndim == 1 &&
         d.num_indices >= 1 && d.num_indices <= 2 && get_num_threads() > 1 && !in_parallel_region();
}

/// Splits dimension `dim` across threads, in chunks of at least `min_grain`
/// coordinates; each chunk runs the serial loop.
void run_split(const ScatterDesc& d, int dim, ApplyFn apply, bool gather_mode,
               std::atomic<bool>* out_of_range = nullptr, int64_t min_grain = 1) {
  const int64_t size = d.sizes[dim];
  const int64_t per_coordinate = d.numel / size;
  // At least split_min_elements per chunk: a thread hand-off costs microseconds
  // (tens on a busy machine), more than a short run of cheap updates.
  const int64_t grain =
      std::max<int64_t>(min_grain, split_min_elements(d) / std::max<int64_t>(per_coordinate, 1));
  parallel_for(0, size, grain, [&](int64_t begin, int64_t end) {
    run_serial(restrict_dim(d, dim, begin, end), apply, gather_mode, false, 0, 0, out_of_range);
  });
}

/// The largest free dimension of `d` from `first` on (the first of equally
/// large ones), or -1: positions differing on a free dimension address
/// different elements of self, so splitting it keeps each destination on one
/// thread.
int largest_free_dim(const ScatterDesc& d, int first) {
  if (!d.indexed_nonoverlapping) return -1;
  int best = -1;
  for (int dim = first; dim < d.ndim; ++dim) {
    if (d.indexed_strides[dim] != 0 && d.sizes[dim] > 1 && (best < 0 || d.sizes[dim] > d.sizes[best])) best = dim;
  }
  return best;
}

// Whole contiguous rows are cut along their length only into pieces of at
// least this many bytes (see run_whole_rows).
constexpr int64_t kRowPieceMinBytes = 8192;

/// Runs `d`, whose largest free dimension is dimension 0 along whole
/// contiguous rows (index_add_ along dim 0, self[rows] = values), without
/// cutting a row into pieces shorter than kRowPieceMinBytes. Cut shorter, the
/// threads update the same rows side by side, a few cache lines each: on the
/// 2-core VM, index_add_ of 256 Ki rows of 64 float32 into 16 Ki rows took
/// 12-20 ms with each thread adding half of every row, against 4.2-4.9 ms on
/// one thread (16 Ki rows into 1 Ki: 0.19-0.26 against 0.14 ms), and
/// splitting by destination instead (each thread walking every row and
/// applying those landing in its half of self) 8.7-9.1 ms. A bare loop
/// written outside strata (16 Mi float32 into 1/16 as many rows) lost the
/// same way when cut into pieces of 128 B to 4 KiB and won with pieces of 8
/// KiB (rows of 16 KiB: 4.2-4.3 ms on two threads against 5.4-5.8 on one). So
/// another free dimension (a batch) as large as the thread count is split
/// when there is one; otherwise rows of at least two pieces are cut into
/// pieces of kRowPieceMinBytes or more (on fewer threads than the pool's when
/// the rows are short), and shorter rows run on one thread (ATen 1.13's
/// index_add_ of such rows takes as long on one thread as on two: 43-52 us /
/// 0.75-0.81 ms / 15-19 ms against 45-53 us / 0.74-0.83 ms / 15-19 ms for
/// the benchmark's three sizes). Each destination stays on one thread, in
/// index order.
void run_whole_rows(const ScatterDesc& d, ApplyFn apply, int threads) {
  if (const int outer = largest_free_dim(d, 1); outer >= 0 && d.sizes[outer] >= threads) {
    run_split(d, outer, apply, false);
    return;
  }
  const auto element = static_cast<int64_t>(ElementwiseDesc::dtype_size(d.dtype));
  const int64_t min_piece = (kRowPieceMinBytes + element - 1) / element;
  if (d.sizes[0] < 2 * min_piece) {
    run_serial(d, apply, false, false, 0, 0);
    return;
  }
  run_split(d, 0, apply, false, nullptr, min_piece);
}

}  // namespace

void scatter_update(const ScatterDesc& d) {
  if (d.numel == 0) return;
  const ApplyFn apply = select_update(d);
  if (runs_serially(d) && !split_destinations_early(d)) {
    run_serial(d, apply, false, false, 0, 0);
    return;
  }
  const int threads = get_num_threads();
  const int free_dim = largest_free_dim(d, 0);
  if (free_dim == 0 && d.ndim >= 2 && rows_are_contiguous(d)) {
    run_whole_rows(d, apply, threads);
    return;
  }
  if (free_dim >= 0 && d.sizes[free_dim] >= threads) {
    run_split(d, free_dim, apply, false);
    return;
  }
  if (const int dim = distinct_index_dim(d, threads); dim >= 0) {
    run_split(d, dim, apply, false);
    return;
  }
  // No usable free dimension (e.g. a 1-D scatter): split the destination
  // addresses instead. Each part walks every position, so this only pays when
  // the updates themselves are expensive: many of them, into a target too big
  // for the caches (index_put_ into a large matrix). Otherwise one thread wins.
  if (!split_destinations_early(d) &&
      (d.numel < kDestinationSplitMinUpdates || d.indexed_extent < kDestinationSplitMinBytes)) {
    run_serial(d, apply, false, false, 0, 0);
    return;
  }
  const int64_t element = static_cast<int64_t>(ElementwiseDesc::dtype_size(d.dtype));
  const int64_t elements = (d.indexed_extent + element - 1) / element;
  const int64_t parts = std::min<int64_t>(threads, std::max<int64_t>(elements, 1));
  parallel_for(0, parts, 1, [&](int64_t begin, int64_t end) {
    for (int64_t part = begin; part < end; ++part) {
      const int64_t lo = elements * part / parts * element;
      const int64_t hi = elements * (part + 1) / parts * element;
      run_serial(d, apply, false, true, lo, hi);
    }
  });
}

FusedCheck scatter_update_checked(const ScatterDesc& d) {
  bool applied = false;
  if (const int parts = partial_parts(d); parts > 0) {
    if (d.reduce == ScatterReduce::Assign) {
      applied = dispatch_bits(ElementwiseDesc::dtype_size(d.dtype), [&](auto tag) {
        using Bits = typename decltype(tag)::type;
        return partial_updates_for<ScatterReduce::Assign, Bits>(d, parts);
      });
    } else {
      applied = dispatch_scatter_reduce(d.reduce, [&](auto reduce) {
        constexpr ScatterReduce R = decltype(reduce)::value;
        if constexpr (R == ScatterReduce::Assign || R == ScatterReduce::MeanDivide) {
          return false;  // not reached: partial_parts takes neither here
        } else {
          return dispatch_dtype(d.dtype, [&](auto tag) {
            using T = typename decltype(tag)::type;
            return partial_updates_for<R, T>(d, parts);
          });
        }
      });
    }
  } else if (const int shift = bucket_shift(d); shift >= 0) {
    applied = run_bucketed(d, shift);
  } else {
    return FusedCheck::NotTaken;
  }
  return applied ? FusedCheck::Applied : FusedCheck::OutOfRange;
}

namespace {

/// The gather, with every index validated in the loop that reads it when
/// `out_of_range` is given (see checked_gather_fits).
void run_gather(const ScatterDesc& d, std::atomic<bool>* out_of_range) {
  const ApplyFn apply = select_gather(d);
  if (runs_serially(d)) {
    run_serial(d, apply, true, false, 0, 0, out_of_range);
    return;
  }
  // Every output position is written once: split the largest dimension, the
  // outermost of equal ones (each thread then streams whole rows of the index
  // and the result: gather along dim 1 of 1024 x 1024, 1.31 -> 1.21 ms).
  int dim = 0;
  for (int i = 1; i < d.ndim; ++i) {
    if (d.sizes[i] >= d.sizes[dim]) dim = i;
  }
  run_split(d, dim, apply, true, out_of_range);
}

/// True when every row of `d` runs typed_row (one Int64 index operand, rows
/// that are not whole contiguous copies), which can check as it reads. An
/// indexed dimension of size 0 is left to the validation pass: every index is
/// out of range, and position 0, read in place of a bad one, does not exist.
bool checked_gather_fits(const ScatterDesc& d) {
  return d.numel > 0 && d.num_indices == 1 && indices_are_int64(d) && d.indices[0].dim_size > 0 &&
         !rows_are_contiguous(d);
}

}  // namespace

void gather(const ScatterDesc& d) {
  if (d.numel == 0) return;
  run_gather(d, nullptr);
}

FusedCheck gather_checked(const ScatterDesc& d) {
  if (!checked_gather_fits(d)) return FusedCheck::NotTaken;
  std::atomic<bool> out_of_range{false};
  run_gather(d, &out_of_range);
  return out_of_range.load() ? FusedCheck::OutOfRange : FusedCheck::Applied;
}

}  // namespace strata::kernels::cpu
