// The host+device pieces of the CUDA scatter path, tested on the CPU: the order
// keys and guard that carry the index validation from the min/max kernel to the
// writing kernel (IndexGuard), and the offset walk the CUDA kernels use
// (scatter_offsets, split_coordinate) and its four-float walk of row sums
// (adds_float_quads, quad_offsets). A GPU runs exactly these functions.
#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "kernels/common/scatter_desc.h"

namespace strata::kernels {
namespace {

std::vector<int64_t> interesting_values(std::mt19937_64& rng) {
  std::vector<int64_t> v = {LLONG_MIN, LLONG_MIN + 1, -4096, -2, -1, 0, 1, 2, 4095, LLONG_MAX - 1, LLONG_MAX};
  for (int i = 0; i < 200; ++i) v.push_back(static_cast<int64_t>(rng()));
  for (int i = 0; i < 200; ++i) v.push_back(static_cast<int64_t>(rng() % 20001) - 10000);
  return v;
}

TEST(ScatterGuard, OrderKeysKeepOrderAndRoundTrip) {
  std::mt19937_64 rng(71);
  const std::vector<int64_t> values = interesting_values(rng);
  for (int64_t a : values) {
    EXPECT_EQ(index_from_order_key(index_order_key(a)), a);
    EXPECT_EQ(index_from_order_key(~~index_order_key(a)), a);
    for (int64_t b : {values[static_cast<size_t>(rng() % values.size())], a}) {
      EXPECT_EQ(a < b, index_order_key(a) < index_order_key(b)) << a << " " << b;
      // The max is kept as ~key: a larger value gives a smaller key.
      EXPECT_EQ(a > b, ~index_order_key(a) < ~index_order_key(b)) << a << " " << b;
    }
  }
}

TEST(ScatterGuard, AllOnesBytesAreTheIdentityOfBothReductions) {
  // The multi-block min/max pass starts from a memset of 0xff bytes and reduces
  // min(key) and min(~key) with unsigned atomicMin: that start must change
  // nothing, for every value including the extremes.
  unsigned long long start;
  std::memset(&start, 0xff, sizeof(start));
  std::mt19937_64 rng(72);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<int64_t> values(1 + rng() % 40);
    for (auto& v : values) v = static_cast<int64_t>(rng()) >> (rng() % 64);
    if (trial == 0) values = {LLONG_MAX};
    if (trial == 1) values = {LLONG_MIN};
    unsigned long long lo = start, hi = start;
    for (int64_t v : values) {
      lo = std::min(lo, index_order_key(v));
      hi = std::min(hi, ~index_order_key(v));
    }
    EXPECT_EQ(index_from_order_key(lo), *std::min_element(values.begin(), values.end()));
    EXPECT_EQ(index_from_order_key(~hi), *std::max_element(values.begin(), values.end()));
  }
}

/// Keys as the min/max pass leaves them for `ranges`.
std::vector<unsigned long long> keys_of(const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  std::vector<unsigned long long> keys;
  for (auto [lo, hi] : ranges) {
    keys.push_back(index_order_key(lo));
    keys.push_back(~index_order_key(hi));
  }
  return keys;
}

TEST(ScatterGuard, PassesExactlyWhenEveryRangeFits) {
  std::mt19937_64 rng(73);
  for (int trial = 0; trial < 2000; ++trial) {
    const int count = 1 + static_cast<int>(rng() % 3);
    const bool wrap = rng() % 2 == 0;
    IndexGuard g;
    g.count = count;
    std::vector<std::pair<int64_t, int64_t>> ranges;
    bool expected = true;
    for (int k = 0; k < count; ++k) {
      const int64_t size = 1 + static_cast<int64_t>(rng() % 8);
      g.size[k] = size;
      g.lowest[k] = wrap ? -size : 0;
      // Ranges around the boundaries: -size-1 .. size.
      int64_t a = static_cast<int64_t>(rng() % static_cast<uint64_t>(2 * size + 2)) - size - 1;
      int64_t b = static_cast<int64_t>(rng() % static_cast<uint64_t>(2 * size + 2)) - size - 1;
      if (a > b) std::swap(a, b);
      ranges.emplace_back(a, b);
      expected = expected && a >= g.lowest[k] && b < size;
    }
    const std::vector<unsigned long long> keys = keys_of(ranges);
    g.keys = keys.data();
    EXPECT_EQ(index_guard_passes(g), expected) << "trial " << trial;
  }
  IndexGuard none;  // count 0: nothing to check
  EXPECT_TRUE(index_guard_passes(none));
}

TEST(ScatterGuard, BoundariesOfOneDimensionOfSizeFive) {
  auto passes = [](int64_t lo, int64_t hi, bool wrap) {
    const std::vector<unsigned long long> keys = keys_of({{lo, hi}});
    IndexGuard g;
    g.count = 1;
    g.keys = keys.data();
    g.size[0] = 5;
    g.lowest[0] = wrap ? -5 : 0;
    return index_guard_passes(g);
  };
  EXPECT_TRUE(passes(0, 4, false));
  EXPECT_FALSE(passes(0, 5, false));
  EXPECT_FALSE(passes(-1, 4, false));
  EXPECT_TRUE(passes(-5, 4, true));
  EXPECT_FALSE(passes(-6, 0, true));
  EXPECT_FALSE(passes(LLONG_MIN, LLONG_MAX, true));
}

TEST(ScatterGuard, SplitCoordinateMatchesDivision) {
  std::mt19937_64 rng(74);
  for (int trial = 0; trial < 100000; ++trial) {
    // Both sides of the 32-bit fast path.
    const int shift = static_cast<int>(rng() % 62);
    int64_t linear = static_cast<int64_t>(rng() >> (shift + 2));
    const int64_t size = 1 + static_cast<int64_t>(rng() >> (2 + rng() % 62));
    const int64_t expected_coord = linear % size, expected_rest = linear / size;
    const int64_t coord = split_coordinate(linear, size);
    ASSERT_EQ(coord, expected_coord) << linear << " " << size;
    ASSERT_EQ(linear, expected_rest);
  }
  int64_t edge = 0xffffffffLL;
  EXPECT_EQ(split_coordinate(edge, 0xffffffffLL), 0);
  EXPECT_EQ(edge, 1);
  edge = 0x100000000LL;
  EXPECT_EQ(split_coordinate(edge, 3), 0x100000000LL % 3);
  EXPECT_EQ(edge, 0x100000000LL / 3);
}

TEST(ScatterGuard, OffsetWalkMatchesAReferenceForOneToFourIndexOperands) {
  std::mt19937 rng(75);
  for (int trial = 0; trial < 300; ++trial) {
    ScatterDesc d;
    d.ndim = 1 + static_cast<int>(rng() % 3);
    d.numel = 1;
    for (int dim = 0; dim < d.ndim; ++dim) {
      d.sizes[dim] = 1 + static_cast<int64_t>(rng() % 5);
      d.numel *= d.sizes[dim];
      d.indexed_strides[dim] = static_cast<int64_t>(rng() % 7) * 4;
      d.direct_strides[dim] = static_cast<int64_t>(rng() % 7) * 4;
    }
    d.direct_is_scalar = rng() % 4 == 0;
    d.wrap_negative = rng() % 2 == 0;
    d.num_indices = 1 + static_cast<int>(rng() % 4);
    // Each index operand reads its own buffer through its own strides.
    std::vector<std::vector<int64_t>> wide(static_cast<size_t>(d.num_indices));
    std::vector<std::vector<int32_t>> narrow(static_cast<size_t>(d.num_indices));
    for (int k = 0; k < d.num_indices; ++k) {
      IndexOperand& op = d.indices[k];
      op.dim_size = 1 + static_cast<int64_t>(rng() % 6);
      op.target_byte_stride = 4 * (1 + static_cast<int64_t>(rng() % 50));
      op.dtype = rng() % 2 == 0 ? DType::Int64 : DType::Int32;
      const int64_t element = op.dtype == DType::Int64 ? 8 : 4;
      int64_t extent = 1;
      for (int dim = 0; dim < d.ndim; ++dim) {
        const int64_t step = static_cast<int64_t>(rng() % 3);  // 0: broadcast
        op.byte_strides[dim] = step * extent * element;
        extent += (d.sizes[dim] - 1) * step * extent;
      }
      auto value = [&] {
        const int64_t lowest = d.wrap_negative ? -op.dim_size : 0;
        return lowest + static_cast<int64_t>(rng() % static_cast<uint32_t>(op.dim_size - lowest));
      };
      if (op.dtype == DType::Int64) {
        wide[k].resize(static_cast<size_t>(extent));
        for (auto& v : wide[k]) v = value();
        op.data = reinterpret_cast<const char*>(wide[k].data());
      } else {
        narrow[k].resize(static_cast<size_t>(extent));
        for (auto& v : narrow[k]) v = static_cast<int32_t>(value());
        op.data = reinterpret_cast<const char*>(narrow[k].data());
      }
    }
    for (int64_t linear = 0; linear < d.numel; ++linear) {
      // Reference: coordinates with dimension 0 innermost.
      int64_t rest = linear, ind = 0, dir = 0;
      int64_t index_offsets[kMaxIndexOperands] = {};
      for (int dim = 0; dim < d.ndim; ++dim) {
        const int64_t coord = rest % d.sizes[dim];
        rest /= d.sizes[dim];
        ind += coord * d.indexed_strides[dim];
        dir += coord * d.direct_strides[dim];
        for (int k = 0; k < d.num_indices; ++k) index_offsets[k] += coord * d.indices[k].byte_strides[dim];
      }
      for (int k = 0; k < d.num_indices; ++k) {
        const IndexOperand& op = d.indices[k];
        int64_t v = 0;
        if (op.dtype == DType::Int64) {
          std::memcpy(&v, op.data + index_offsets[k], 8);
        } else {
          int32_t v32;
          std::memcpy(&v32, op.data + index_offsets[k], 4);
          v = v32;
        }
        if (d.wrap_negative && v < 0) v += op.dim_size;
        ind += v * op.target_byte_stride;
      }
      int64_t got_indexed = -1, got_direct = -1;
      scatter_offsets(d, linear, got_indexed, got_direct);
      ASSERT_EQ(got_indexed, ind) << "trial " << trial << " position " << linear << " operands " << d.num_indices;
      ASSERT_EQ(got_direct, d.direct_is_scalar ? 0 : dir) << "trial " << trial << " position " << linear;
      if (!d.direct_is_scalar) ASSERT_EQ(scatter_direct_offset(d, linear), dir);
    }
  }
}

/// A row update as index_add_ / index_put_ accumulate of whole rows describe
/// it: `rows` positions along dimension 1, each a run of `width` float32 in both
/// operands, the destination row picked by `index` (stride `index_stride`
/// bytes), rows `row_bytes` apart in self and `src_row_bytes` in src.
ScatterDesc row_desc(char* self, const char* src, const char* index, DType index_dtype, int64_t rows,
                     int64_t width, int64_t index_stride, int64_t self_rows, int64_t row_bytes,
                     int64_t src_row_bytes) {
  ScatterDesc d;
  d.ndim = 2;
  d.sizes[0] = width;
  d.sizes[1] = rows;
  d.numel = width * rows;
  d.dtype = DType::Float32;
  d.reduce = ScatterReduce::Add;
  d.indexed = self;
  d.indexed_strides[0] = 4;
  d.indexed_strides[1] = 0;
  d.indexed_extent = self_rows * row_bytes;
  d.direct = const_cast<char*>(src);
  d.direct_strides[0] = 4;
  d.direct_strides[1] = src_row_bytes;
  d.num_indices = 1;
  d.indices[0].data = index;
  d.indices[0].dtype = index_dtype;
  d.indices[0].byte_strides[0] = 0;
  d.indices[0].byte_strides[1] = index_stride;
  d.indices[0].dim_size = self_rows;
  d.indices[0].target_byte_stride = row_bytes;
  return d;
}

TEST(ScatterGuard, FloatQuadsWalkTheSameOffsetsAsThePositionWalk) {
  // The CUDA backend adds float32 rows four at a time (adds_float_quads,
  // quad_offsets): every quad must start where scatter_offsets puts its first
  // position, and its other three positions must follow contiguously.
  std::mt19937_64 rng(74);
  alignas(16) static float self[4096];
  alignas(16) static float src[4096];
  alignas(16) static int64_t index64[512];
  alignas(16) static int32_t index32[512];
  for (int trial = 0; trial < 300; ++trial) {
    const int64_t width = 4 * (1 + static_cast<int64_t>(rng() % 8));
    const int64_t self_rows = 1 + static_cast<int64_t>(rng() % 16);
    const int64_t rows = 1 + static_cast<int64_t>(rng() % 40);
    const bool wide = rng() % 2 == 0;
    const bool wrap = rng() % 2 == 0;
    const int64_t index_step = 1 + static_cast<int64_t>(rng() % 3);
    for (int64_t r = 0; r < rows * index_step; ++r) {
      int64_t v = static_cast<int64_t>(rng() % static_cast<uint64_t>(self_rows));
      if (wrap && rng() % 2 == 0) v -= self_rows;
      index64[r] = v;
      index32[r] = static_cast<int32_t>(v);
    }
    const int64_t element = wide ? 8 : 4;
    ScatterDesc d = row_desc(reinterpret_cast<char*>(self), reinterpret_cast<const char*>(src),
                             wide ? reinterpret_cast<const char*>(index64) : reinterpret_cast<const char*>(index32),
                             wide ? DType::Int64 : DType::Int32, rows, width, index_step * element, self_rows,
                             width * 4, width * 4);
    d.wrap_negative = wrap;
    ASSERT_TRUE(adds_float_quads(d)) << "trial " << trial;
    for (int64_t q = 0; q < d.numel / 4; ++q) {
      int64_t quad_indexed = -1, quad_direct = -1;
      quad_offsets(d, q, quad_indexed, quad_direct);
      for (int64_t k = 0; k < 4; ++k) {
        int64_t indexed = -1, direct = -1;
        scatter_offsets(d, 4 * q + k, indexed, direct);
        ASSERT_EQ(indexed, quad_indexed + 4 * k) << "trial " << trial << " quad " << q;
        ASSERT_EQ(direct, quad_direct + 4 * k) << "trial " << trial << " quad " << q;
      }
      ASSERT_GE(quad_indexed, 0);
      ASSERT_LT(quad_indexed, d.indexed_extent);
    }
  }
}

TEST(ScatterGuard, FloatQuadsOnlyForAlignedFloatRowSums) {
  alignas(16) static float self[256];
  alignas(16) static float src[256];
  alignas(16) static int64_t index[16] = {};
  const auto desc = [&] {
    return row_desc(reinterpret_cast<char*>(self), reinterpret_cast<const char*>(src),
                    reinterpret_cast<const char*>(index), DType::Int64, 8, 8, 8, 16, 32, 32);
  };
  ASSERT_TRUE(adds_float_quads(desc()));
  ScatterDesc d = desc();
  d.reduce = ScatterReduce::Assign;  // not a sum
  EXPECT_FALSE(adds_float_quads(d));
  d = desc();
  d.dtype = DType::Float64;
  EXPECT_FALSE(adds_float_quads(d));
  d = desc();
  d.direct_is_scalar = true;
  EXPECT_FALSE(adds_float_quads(d));
  d = desc();
  d.sizes[0] = 6;  // rows of 6 floats
  d.indices[0].target_byte_stride = d.direct_strides[1] = 24;
  EXPECT_FALSE(adds_float_quads(d));
  d = desc();
  d.indexed += 4;  // self starts off a 16-byte boundary
  EXPECT_FALSE(adds_float_quads(d));
  d = desc();
  d.direct += 4;
  EXPECT_FALSE(adds_float_quads(d));
  d = desc();
  d.direct_strides[1] = 36;  // source rows not 16-byte aligned
  EXPECT_FALSE(adds_float_quads(d));
  d = desc();
  d.indexed_strides[0] = 8;  // self's row is strided
  EXPECT_FALSE(adds_float_quads(d));
  d = desc();
  d.indices[0].byte_strides[0] = 8;  // the index varies along the row
  EXPECT_FALSE(adds_float_quads(d));
  d = desc();
  d.ndim = 1;
  EXPECT_FALSE(adds_float_quads(d));
}

/// x[rows[:, None], cols] over [P, Q] of an [R, C] float32 self, as the
/// front-end describes it: dimension 0 (innermost) runs along cols, dimension
/// 1 along rows; self is addressed only through the two index operands.
ScatterDesc outer_desc(const int64_t* rows, int64_t P, int64_t R, const int64_t* cols, int64_t Q, int64_t C) {
  ScatterDesc d;
  d.ndim = 2;
  d.sizes[0] = Q;
  d.sizes[1] = P;
  d.numel = P * Q;
  d.indexed_extent = R * C * 4;
  d.direct_strides[0] = 4;
  d.direct_strides[1] = Q * 4;
  d.num_indices = 2;
  d.indices[0].data = reinterpret_cast<const char*>(rows);
  d.indices[0].byte_strides[1] = 8;
  d.indices[0].dim_size = R;
  d.indices[0].target_byte_stride = C * 4;
  d.indices[1].data = reinterpret_cast<const char*>(cols);
  d.indices[1].byte_strides[0] = 8;
  d.indices[1].dim_size = C;
  d.indices[1].target_byte_stride = 4;
  d.wrap_negative = true;
  return d;
}

TEST(ScatterGuard, DistinctValuesAgreeWithASet) {
  // index_values_distinct against std::set, wrapped or not, strided, Int64
  // and Int32, with values out of range now and then.
  std::mt19937_64 rng(91);
  static int64_t values64[96];
  static int32_t values32[96];
  for (int trial = 0; trial < 2000; ++trial) {
    const int64_t size = 1 + static_cast<int64_t>(rng() % 70);
    const int64_t n = static_cast<int64_t>(rng() % 40);
    const int64_t step = 1 + static_cast<int64_t>(rng() % 2);
    const bool wrap = rng() % 2 == 0;
    const bool sparse = rng() % 2 == 0;  // few repeats
    for (int64_t i = 0; i < n * step; ++i) {
      int64_t v = static_cast<int64_t>(rng() % static_cast<uint64_t>(sparse ? 4 * size : size));
      if (sparse) v = v % size;
      if (rng() % 3 == 0) v -= size;   // a negative alias
      if (rng() % 50 == 0) v += 3 * size;  // out of range
      values64[i] = v;
      values32[i] = static_cast<int32_t>(v);
    }
    std::set<int64_t> seen;
    bool expected = true;
    for (int64_t i = 0; i < n; ++i) {
      int64_t v = values64[i * step];
      if (wrap && v < 0) v += size;
      if (v < 0 || v >= size || !seen.insert(v).second) expected = false;
    }
    IndexOperand op;
    op.dim_size = size;
    op.data = reinterpret_cast<const char*>(values64);
    op.dtype = DType::Int64;
    EXPECT_EQ(index_values_distinct(op, n, 8 * step, wrap), expected) << "trial " << trial;
    op.data = reinterpret_cast<const char*>(values32);
    op.dtype = DType::Int32;
    EXPECT_EQ(index_values_distinct(op, n, 4 * step, wrap), expected) << "trial " << trial;
  }
}

TEST(ScatterGuard, DistinctIndexDimOnlyWhereNoTwoPositionsShareADestination) {
  constexpr int64_t R = 40, C = 50, P = 8, Q = 12;
  int64_t rows[P] = {3, -1, 7, 0, 12, -40 + 20, 5, 33};  // distinct once -1 wraps to 39
  int64_t cols[Q] = {0, 4, 4, 9, 1, 2, 3, 5, 6, 7, 8, 10};  // 4 twice
  // Splits the rows (dimension 1), whatever the columns hold.
  EXPECT_EQ(distinct_index_dim(outer_desc(rows, P, R, cols, Q, C), 2), 1);
  // Distinct columns too: still the rows, which address self's outer dimension
  // (threads then write whole rows apart).
  int64_t distinct_cols[Q] = {0, 4, 11, 9, 1, 2, 3, 5, 6, 7, 8, 10};
  EXPECT_EQ(distinct_index_dim(outer_desc(rows, P, R, distinct_cols, Q, C), 2), 1);
  // A row repeated as its negative alias (-1 and 39): the rows do not split;
  // the distinct columns do, the repeated ones not.
  int64_t aliased[P] = {3, -1, 7, 0, 12, 39, 5, 33};
  EXPECT_EQ(distinct_index_dim(outer_desc(aliased, P, R, distinct_cols, Q, C), 2), 0);
  EXPECT_EQ(distinct_index_dim(outer_desc(aliased, P, R, cols, Q, C), 2), -1);
  // Without wrapping, a negative value is not a coordinate: no split.
  ScatterDesc d = outer_desc(rows, P, R, cols, Q, C);
  d.wrap_negative = false;
  EXPECT_EQ(distinct_index_dim(d, 2), -1);
  // Fewer coordinates than threads.
  EXPECT_EQ(distinct_index_dim(outer_desc(rows, P, R, cols, Q, C), P + 1), -1);
  // Self with internal overlap: two coordinates may be one element.
  d = outer_desc(rows, P, R, cols, Q, C);
  d.indexed_nonoverlapping = false;
  EXPECT_EQ(distinct_index_dim(d, 2), -1);
  // Self's own stride on the rows' dimension is not 0: that is a free
  // dimension's business, not this one's.
  d = outer_desc(rows, P, R, cols, Q, C);
  d.indexed_strides[1] = 4;
  EXPECT_EQ(distinct_index_dim(d, 2), -1);
  // The rows' operand varying along the columns too (a [P, Q] index): its
  // values along one dimension say nothing of positions that differ on both.
  d = outer_desc(rows, P, R, distinct_cols, Q, C);
  d.indices[0].byte_strides[0] = 8;
  d.indices[1].byte_strides[0] = 0;
  d.sizes[0] = 2;  // (the reads stay in bounds)
  EXPECT_EQ(distinct_index_dim(d, 2), -1);
  d.sizes[0] = 1;  // a dimension of size 1 does not count
  EXPECT_EQ(distinct_index_dim(d, 2), 1);
  // Two operands varying along the same dimension: no split there.
  d = outer_desc(rows, P, R, distinct_cols, Q, C);
  d.indices[0].byte_strides[0] = 0;
  d.indices[1].byte_strides[1] = 8;
  d.indices[0].byte_strides[1] = 8;
  d.sizes[0] = 1;
  EXPECT_EQ(distinct_index_dim(d, 2), -1);
}

}  // namespace
}  // namespace strata::kernels
