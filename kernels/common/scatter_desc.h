// Descriptors of the scatter family (scatter_, scatter_add_, scatter_reduce_,
// gather, index_put_, index, index_add_). Every one of those ops is the same
// loop: walk an iteration space; at each position read one or more index values,
// turn them into an offset into the "indexed" tensor, and either update it from
// the "direct" operand (scatter mode) or copy from it into the direct operand
// (gather mode). The front-ends (src/ops/scatter.cpp, src/ops/index.cpp) build
// one ScatterDesc per call; the CPU and CUDA backends only walk it.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/common/descriptor.h"
#include "strata/dtype.h"
#include "strata/export.h"

namespace strata::kernels {

/// Index tensors one descriptor carries (index_put_ with more throws
/// NotSupportedError in the front-end).
inline constexpr int kMaxIndexOperands = 8;

/// What happens at the addressed element of the indexed tensor.
enum class ScatterReduce : int8_t {
  Assign,      // dst = src (scatter_, index_put_)
  Add,         // dst = dst + alpha * src (scatter_add_, index_put_ accumulate, index_add_)
  Multiply,    // dst = dst * src
  Max,         // dst = max(dst, src), NaN wins
  Min,         // dst = min(dst, src), NaN wins
  MeanDivide,  // dst = dst / (count == 0 ? 1 : count); integers floor-divide
};

/// index_add_'s alpha (used by Add only), already converted to self's dtype
/// (truncated for integers, rounded for Float16/BFloat16), in the kind
/// matching it.
struct ScatterAlpha {
  bool enabled = false;  // false: alpha is 1
  double as_float = 1.0;
  int64_t as_int = 1;
};

/// One index tensor, seen through the iteration space (broadcast dimensions
/// have stride 0).
struct IndexOperand {
  const char* data = nullptr;
  DType dtype = DType::Int64;            // Int64 or Int32
  int64_t byte_strides[kMaxDims] = {};   // per iteration dimension
  int64_t dim_size = 0;                  // size of the dimension it indexes
  int64_t target_byte_stride = 0;        // that dimension's stride in the indexed tensor
};

/// Order-preserving keys of index ranges in device memory: min as key(min) and
/// max as ~key(max), so that both reduce by an unsigned minimum and all-ones
/// bytes (one memset) are the identity of both.
STRATA_INLINE unsigned long long index_order_key(int64_t v) {
  return static_cast<unsigned long long>(v) ^ (1ull << 63);
}
STRATA_INLINE int64_t index_from_order_key(unsigned long long key) {
  return static_cast<int64_t>(key ^ (1ull << 63));
}

/// Host memory the GPU writes a guard's keys into (pinned and mapped): the
/// host reads `keys` once `sequence` holds the value it expects.
struct IndexReport {
  unsigned long long keys[2 * kMaxIndexOperands];
  unsigned long long sequence;
};

/// The validation result an update or gather kernel checks before it touches
/// memory (CUDA: the min/max pass and the guarded kernel run in stream order;
/// the min/max pass, once it has the keys, reports them to the host, which
/// waits only for that report). count 0: no guard.
struct IndexGuard {
  /// Written by the min/max pass: for checked tensor k, keys[2k] =
  /// index_order_key(min) and keys[2k + 1] = ~index_order_key(max).
  const unsigned long long* keys = nullptr;
  int count = 0;
  int64_t lowest[kMaxIndexOperands] = {};  // 0, or -size where negative indices wrap
  int64_t size[kMaxIndexOperands] = {};
  /// Where the min/max pass (or the one-launch checked kernel) reports the
  /// keys, then `sequence` (nullptr: no report). Update kernels ignore it.
  IndexReport* report = nullptr;
  unsigned long long sequence = 0;
};

/// True when every checked tensor's range, as `keys` (IndexGuard::keys'
/// layout) holds it, lies in [lowest, size).
STRATA_INLINE bool index_guard_passes(const IndexGuard& g, const unsigned long long* keys) {
  for (int k = 0; k < g.count; ++k) {
    const int64_t lo = index_from_order_key(keys[2 * k]);
    const int64_t hi = index_from_order_key(~keys[2 * k + 1]);
    if (lo < g.lowest[k] || hi >= g.size[k]) return false;
  }
  return true;
}
STRATA_INLINE bool index_guard_passes(const IndexGuard& g) { return index_guard_passes(g, g.keys); }

/// An indexed update (scatter mode) or read (gather mode).
struct ScatterDesc {
  int ndim = 0;                          // >= 1; dimension 0 is the innermost
  int64_t sizes[kMaxDims] = {};
  int64_t numel = 0;
  DType dtype = DType::Float32;          // of both the indexed and the direct operand

  /// The tensor addressed through the indices: self for scatter, input for gather.
  char* indexed = nullptr;
  int64_t indexed_strides[kMaxDims] = {};  // bytes; 0 on the dimensions the indices address
  /// Bytes spanned by the indexed tensor from `indexed` (for partitioning by
  /// destination on the CPU).
  int64_t indexed_extent = 0;
  /// True when two positions with different coordinates on a dimension with a
  /// non-zero indexed stride never reach the same element (self has no internal
  /// overlap). Allows partitioning over those dimensions.
  bool indexed_nonoverlapping = true;

  /// src (scatter) or the output (gather); byte strides, 0 where broadcast.
  char* direct = nullptr;
  int64_t direct_strides[kMaxDims] = {};
  /// scatter_(dim, index, Scalar): the value, stored as `dtype`, replaces direct.
  bool direct_is_scalar = false;
  alignas(8) unsigned char scalar[8] = {};

  int num_indices = 0;
  IndexOperand indices[kMaxIndexOperands];
  /// index_put_/index: negative indices count from the end (already validated).
  bool wrap_negative = false;

  ScatterReduce reduce = ScatterReduce::Assign;
  ScatterAlpha alpha;

  /// CUDA kernels do nothing unless it passes (the CPU kernels ignore it: their
  /// front-end validates first).
  IndexGuard guard;
};

/// An index tensor as stored, for validation (min/max over all its elements).
/// Only the first ndim entries of sizes and byte_strides are set: zeroing all
/// 16 of each cost as much as the rest of a 3-element index_put_'s check.
struct IndexTensorDesc {
  const char* data = nullptr;
  DType dtype = DType::Int64;
  int ndim = 0;
  int64_t sizes[kMaxDims];
  int64_t byte_strides[kMaxDims];
  int64_t numel = 0;

  /// Row-major dense (size-1 dimensions may have any stride).
  bool is_contiguous() const {
    int64_t expected = dtype == DType::Int64 ? 8 : 4;
    for (int dim = ndim - 1; dim >= 0; --dim) {
      if (sizes[dim] != 1 && byte_strides[dim] != expected) return false;
      expected *= sizes[dim];
    }
    return true;
  }
};

/// Smallest and largest value of an index tensor (filled by the min/max
/// passes: no default values, so that an array of them costs nothing to declare).
struct IndexRange {
  int64_t min;
  int64_t max;
};

STRATA_INLINE int64_t load_index(const char* p, DType dtype) {
  return dtype == DType::Int64 ? *reinterpret_cast<const int64_t*>(p)
                               : static_cast<int64_t>(*reinterpret_cast<const int32_t*>(p));
}

#if defined(__CUDA_ARCH__)  // the device pass only: the host compiler does not know the pragma
#define STRATA_SCATTER_UNROLL _Pragma("unroll")
#else
#define STRATA_SCATTER_UNROLL
#endif

/// coord = linear % size, linear /= size; in 32 bits when both fit (a 64-bit
/// division costs a GPU several times more).
STRATA_INLINE int64_t split_coordinate(int64_t& linear, int64_t size) {
  if (static_cast<uint64_t>(linear) <= 0xffffffffu && static_cast<uint64_t>(size) <= 0xffffffffu) {
    const uint32_t l = static_cast<uint32_t>(linear), s = static_cast<uint32_t>(size);
    const uint32_t q = l / s;
    linear = q;
    return static_cast<int64_t>(l - q * s);
  }
  const int64_t coord = linear % size;
  linear /= size;
  return coord;
}

/// The offset walk of scatter_offsets for kIndices index operands, or for
/// d.num_indices of them when kIndices is 0. Either way the loops over operands
/// have a fixed bound, so that their offsets stay in registers.
template <int kIndices>
STRATA_INLINE void scatter_offsets_n(const ScatterDesc& d, int64_t linear, int64_t& indexed_offset,
                                     int64_t& direct_offset) {
  constexpr int kSlots = kIndices > 0 ? kIndices : kMaxIndexOperands;
  const auto present = [&d](int k) { return kIndices > 0 || k < d.num_indices; };
  int64_t ind = 0, dir = 0;
  int64_t idx_off[kSlots];
  STRATA_SCATTER_UNROLL
  for (int k = 0; k < kSlots; ++k) idx_off[k] = 0;
  for (int dim = 0; dim < d.ndim; ++dim) {
    // The outermost coordinate needs no division (linear < its size by then).
    const int64_t coord = dim + 1 < d.ndim ? split_coordinate(linear, d.sizes[dim]) : linear;
    ind += coord * d.indexed_strides[dim];
    dir += coord * d.direct_strides[dim];
    STRATA_SCATTER_UNROLL
    for (int k = 0; k < kSlots; ++k) {
      if (present(k)) idx_off[k] += coord * d.indices[k].byte_strides[dim];
    }
  }
  STRATA_SCATTER_UNROLL
  for (int k = 0; k < kSlots; ++k) {
    if (present(k)) {
      int64_t v = load_index(d.indices[k].data + idx_off[k], d.indices[k].dtype);
      if (d.wrap_negative && v < 0) v += d.indices[k].dim_size;
      ind += v * d.indices[k].target_byte_stride;
    }
  }
  indexed_offset = ind;
  direct_offset = d.direct_is_scalar ? 0 : dir;
}

/// Offsets (bytes) of the element at linear position `linear` (row-major over
/// the iteration space, dimension ndim-1 outermost): into the indexed tensor,
/// including the indexed dimensions, and into the direct operand. (The CUDA
/// kernels' walk: one and two index operands, the common cases, have their own
/// instantiation; the branch is the same for every thread.)
STRATA_INLINE void scatter_offsets(const ScatterDesc& d, int64_t linear, int64_t& indexed_offset,
                                   int64_t& direct_offset) {
  switch (d.num_indices) {
    case 1: return scatter_offsets_n<1>(d, linear, indexed_offset, direct_offset);
    case 2: return scatter_offsets_n<2>(d, linear, indexed_offset, direct_offset);
    default: return scatter_offsets_n<0>(d, linear, indexed_offset, direct_offset);
  }
}

/// True when `d` sums float32 rows that the CUDA backend adds four floats at a
/// time (one vector atomic per four elements on sm_90; index_add_ of rows,
/// scatter_add_ and index_put_ accumulate of whole rows): two dimensions, the
/// inner one a contiguous run of a multiple of 4 floats in both operands that
/// the one index operand does not vary along, every address and stride a
/// multiple of 16 bytes.
STRATA_INLINE bool adds_float_quads(const ScatterDesc& d) {
  if (d.reduce != ScatterReduce::Add || d.dtype != DType::Float32 || d.direct_is_scalar || d.num_indices != 1 ||
      d.ndim != 2) {
    return false;
  }
  const IndexOperand& x = d.indices[0];
  if (d.sizes[0] % 4 != 0 || d.indexed_strides[0] != 4 || d.direct_strides[0] != 4 || x.byte_strides[0] != 0) {
    return false;
  }
  const auto aligned = [](int64_t v) { return v % 16 == 0; };
  return aligned(static_cast<int64_t>(reinterpret_cast<uintptr_t>(d.indexed))) &&
         aligned(static_cast<int64_t>(reinterpret_cast<uintptr_t>(d.direct))) && aligned(d.indexed_strides[1]) &&
         aligned(d.direct_strides[1]) && aligned(x.target_byte_stride);
}

/// For adds_float_quads: the byte offsets (indexed, direct) of quad q, the
/// positions 4q .. 4q + 3 — scatter_offsets(d, 4q) with one index load per quad.
STRATA_INLINE void quad_offsets(const ScatterDesc& d, int64_t q, int64_t& indexed_offset, int64_t& direct_offset) {
  int64_t row = q;
  const int64_t quad = split_coordinate(row, d.sizes[0] / 4);
  const IndexOperand& x = d.indices[0];
  int64_t v = load_index(x.data + row * x.byte_strides[1], x.dtype);
  if (d.wrap_negative && v < 0) v += x.dim_size;
  indexed_offset = row * d.indexed_strides[1] + v * x.target_byte_stride + quad * 16;
  direct_offset = row * d.direct_strides[1] + quad * 16;
}

/// Byte offset into the direct operand of linear position `linear`.
STRATA_INLINE int64_t scatter_direct_offset(const ScatterDesc& d, int64_t linear) {
  if (d.direct_is_scalar) return 0;
  int64_t dir = 0;
  for (int dim = 0; dim < d.ndim; ++dim) {
    const int64_t coord = dim + 1 < d.ndim ? split_coordinate(linear, d.sizes[dim]) : linear;
    dir += coord * d.direct_strides[dim];
  }
  return dir;
}

// ---- host-side analysis (CPU backend) ---------------------------------------------

/// True when the `n` index values of operand `op` at data, data + stride, ...
/// are pairwise distinct (as coordinates: negative ones wrapped when `wrap`).
/// A value outside the operand's dimension counts as a repeat (the front-end
/// has validated every index before this runs; this only keeps the bitmap in
/// bounds).
inline bool index_values_distinct(const IndexOperand& op, int64_t n, int64_t stride, bool wrap) {
  const int64_t size = op.dim_size;
  if (n > size) return false;  // pigeonholes
  std::vector<uint64_t> seen(static_cast<size_t>((size + 63) / 64), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t v = load_index(op.data + i * stride, op.dtype);
    if (wrap && v < 0) v += size;
    if (v < 0 || v >= size) return false;
    uint64_t& word = seen[static_cast<size_t>(v >> 6)];
    const uint64_t bit = uint64_t{1} << (v & 63);
    if ((word & bit) != 0) return false;
    word |= bit;
  }
  return true;
}

// distinct_index_dim checks a dimension only where the bitmap of self's
// dimension (one bit per coordinate) has no more 64-bit words than there are
// values to check: the check then costs about one pass over the values.
inline constexpr int64_t kDistinctMaxBitmapRatio = 64;

/// A dimension of the iteration that splits across threads like a free one
/// although self's stride on it is 0: exactly one index operand varies along
/// it, that operand varies along no other dimension, and its values there are
/// pairwise distinct. Positions with different coordinates on it then address
/// different coordinates of self's dimension that the operand indexes, and so
/// (self having no internal overlap) different elements, whatever the other
/// operands hold: `x[rows[:, None], cols] = v` with distinct rows splits over
/// the rows, each destination still updated by one thread in index order.
/// Of those with at least `threads` coordinates, the one whose operand indexes
/// the outermost dimension of self (threads then write apart, not into the
/// same cache lines: splitting the columns of that example instead of its rows
/// ran no faster than one thread), or -1.
inline int distinct_index_dim(const ScatterDesc& d, int threads) {
  if (!d.indexed_nonoverlapping) return -1;
  int best = -1;
  int64_t best_stride = 0;
  for (int dim = 0; dim < d.ndim; ++dim) {
    if (d.indexed_strides[dim] != 0 || d.sizes[dim] < threads) continue;
    int varying = -1;
    bool usable = true;
    for (int k = 0; k < d.num_indices && usable; ++k) {
      if (d.indices[k].byte_strides[dim] == 0) continue;
      if (varying >= 0) usable = false;  // two operands vary along it
      varying = k;
    }
    if (!usable || varying < 0) continue;
    const IndexOperand& op = d.indices[varying];
    for (int other = 0; other < d.ndim && usable; ++other) {
      usable = other == dim || d.sizes[other] == 1 || op.byte_strides[other] == 0;
    }
    if (!usable || op.dim_size / kDistinctMaxBitmapRatio > d.sizes[dim]) continue;
    const int64_t stride = op.target_byte_stride < 0 ? -op.target_byte_stride : op.target_byte_stride;
    if (best >= 0 && stride <= best_stride) continue;
    if (index_values_distinct(op, d.sizes[dim], op.byte_strides[dim], d.wrap_negative)) {
      best = dim;
      best_stride = stride;
    }
  }
  return best;
}

}  // namespace strata::kernels
