// Coverage of the scatter family beyond scatter_test.cpp / index_test.cpp:
// scatter_reduce_ for every reduce x include_self x dtype along every dim,
// scatter_ with a Scalar and index() reads for every dtype, non-contiguous
// operands of every op (transposed/sliced self, strided src and source, strided
// int32 indices), and CUDA results equal to the CPU ones for the reductions and
// the narrow dtypes. References are loops written here over fresh random data.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "strata/strata.h"
#include "tests/ops/scatter_test_util.h"

namespace strata {
namespace {

using namespace scatter_test;

const Device kHost(DeviceType::CPU);
const char* const kReduces[] = {"sum", "prod", "mean", "amax", "amin"};

int64_t wrap(int64_t dim, size_t ndim) { return dim < 0 ? dim + static_cast<int64_t>(ndim) : dim; }

/// Compares element by element: exact, or within `relative` for floating means.
void expect_values(const std::vector<double>& got, const std::vector<double>& expected, double relative,
                   const std::string& what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (relative == 0.0) {
      ASSERT_EQ(got[i], expected[i]) << what << " at " << i;
    } else {
      ASSERT_NEAR(got[i], expected[i], relative * (1 + std::fabs(expected[i]))) << what << " at " << i;
    }
  }
}

struct ReduceCase {
  Shape self_shape;
  Shape index_shape;  // at most 3 along dim: at most 3 updates (plus self) per element
  Shape src_shape;    // >= index_shape in every dimension
  int64_t dim;
};

const std::vector<ReduceCase> kReduceCases = {
    {{4, 5}, {3, 4}, {4, 5}, 0},
    {{4, 5}, {3, 3}, {4, 4}, 1},
    {{4, 5}, {4, 3}, {4, 3}, -1},
    {{3, 4, 5}, {3, 4, 4}, {4, 4, 5}, 0},
    {{3, 4, 5}, {2, 3, 5}, {3, 3, 5}, 1},
    {{3, 4, 5}, {3, 4, 3}, {3, 4, 4}, 2},
};

class ScatterCoverageTest : public DeviceTest {};

// Every reduce x include_self x dtype (Bool too, except "mean": PyTorch has no
// Bool mean kernel), along every dim of a 2-D and a 3-D case. Small integers:
// at most three updates per element keep sums and products exact (and inside
// Int8/UInt8), so everything but a floating mean compares exactly.
TEST_P(ScatterCoverageTest, ScatterReduceEveryReduceIncludeSelfAndDtype) {
  std::mt19937 rng(101);
  std::vector<DType> dtypes = kNumericDTypes;
  dtypes.push_back(kBool);
  for (DType dtype : dtypes) {
    for (const char* reduce : kReduces) {
      const std::string r = reduce;
      if (dtype == kBool && r == "mean") continue;
      for (bool include_self : {true, false}) {
        for (const ReduceCase& c : kReduceCases) {
          const int64_t dim = wrap(c.dim, c.self_shape.size());
          const int magnitude = r == "prod" ? 2 : 8;
          Tensor self = random_values(c.self_shape, dtype, dev(), rng, magnitude);
          Tensor index = random_index(c.index_shape, c.self_shape[static_cast<size_t>(dim)], dev(), rng);
          Tensor src = random_values(c.src_shape, dtype, dev(), rng, magnitude);
          const auto expected = reference_scatter(host_values(self), c.self_shape, c.dim, host_values(index),
                                                  c.index_shape, host_values(src), c.src_shape, r, include_self,
                                                  dtype);
          const double relative = r == "mean" && is_floating_point(dtype)
                                      ? (dtype == kFloat16 || dtype == kBFloat16 ? 1e-2 : 1e-6)
                                      : 0.0;
          std::ostringstream what;
          what << dtype << " " << r << " include_self=" << include_self << " dim " << c.dim << " self "
               << c.self_shape.size() << "-D";
          expect_values(host_values(scatter_reduce(self, c.dim, index, src, r, include_self)), expected, relative,
                        what.str() + " (out of place)");
          self.scatter_reduce_(c.dim, index, src, r, include_self);
          expect_values(host_values(self), expected, relative, what.str());
        }
      }
    }
  }
}

// scatter_ with a Scalar value, every dtype, 2-D and 3-D, every dim. Every
// write stores the same value, so duplicates need no deterministic mode.
TEST_P(ScatterCoverageTest, ScatterScalarEveryDtypeAndDim) {
  std::mt19937 rng(102);
  for (DType dtype : kAllDTypes) {
    const Scalar value = dtype == kBool ? Scalar(true)
                         : is_floating_point(dtype) ? Scalar(2.5)
                         : dtype == kUInt8 ? Scalar(200)
                                           : Scalar(-7);
    const double v = dtype == kBool ? 1.0 : value.to_double();
    for (const ReduceCase& c : kReduceCases) {
      const int64_t dim = wrap(c.dim, c.self_shape.size());
      Tensor self = random_values(c.self_shape, dtype, dev(), rng);
      Tensor index = random_index(c.index_shape, c.self_shape[static_cast<size_t>(dim)], dev(), rng);
      const std::vector<double> values(static_cast<size_t>(index.numel()), v);
      const auto expected = reference_scatter(host_values(self), c.self_shape, c.dim, host_values(index),
                                              c.index_shape, values, c.index_shape, "assign", true, dtype);
      EXPECT_EQ(host_values(scatter(self, c.dim, index, value)), expected) << dtype << " dim " << c.dim;
      self.scatter_(c.dim, index, value);
      EXPECT_EQ(host_values(self), expected) << dtype << " dim " << c.dim;
    }
  }
}

// index() reads for every dtype: one index (trailing dims whole), a whole
// leading dim, two broadcast indices, int32 indices, negative indices that
// wrap, and a bool mask.
TEST_P(ScatterCoverageTest, IndexReadsEveryDtype) {
  std::mt19937 rng(103);
  for (DType dtype : kAllDTypes) {
    Tensor self = random_values({6, 5}, dtype, dev(), rng);
    const auto s = host_values(self);
    const auto at = [&](int64_t r, int64_t c) {
      return s[static_cast<size_t>((r < 0 ? r + 6 : r) * 5 + (c < 0 ? c + 5 : c))];
    };
    const std::vector<int64_t> rows_v = {-1, 0, 5, 2, -6, 3, 3};
    const std::vector<int64_t> cols_v = {4, -5, 2};
    Tensor rows = from_vector<int64_t>(rows_v, opts(kInt64));
    Tensor cols = from_vector<int64_t>(cols_v, opts(kInt64));

    std::vector<double> expected;
    for (int64_t r : rows_v)
      for (int64_t c = 0; c < 5; ++c) expected.push_back(at(r, c));
    Tensor a = self.index({rows});
    EXPECT_EQ(a.sizes(), (Shape{7, 5})) << dtype;
    EXPECT_EQ(a.dtype(), dtype);
    EXPECT_EQ(host_values(a), expected) << dtype;
    EXPECT_EQ(host_values(self.index({rows.to(kInt32)})), expected) << dtype << " int32";

    expected.clear();
    for (int64_t r = 0; r < 6; ++r)
      for (int64_t c : cols_v) expected.push_back(at(r, c));
    EXPECT_EQ(host_values(index(self, {std::nullopt, cols})), expected) << dtype;

    // rows [2, 1] with cols [3] broadcast to [2, 3].
    Tensor rows2 = from_vector<int64_t>({-2, 1}, {2, 1}, opts(kInt64));
    expected.clear();
    for (int64_t r : {-2, 1})
      for (int64_t c : cols_v) expected.push_back(at(r, c));
    Tensor b = self.index({rows2, cols.to(kInt32)});
    EXPECT_EQ(b.sizes(), (Shape{2, 3})) << dtype;
    EXPECT_EQ(host_values(b), expected) << dtype;

    Tensor mask = random_values({6, 5}, kBool, dev(), rng);
    const auto m = host_values(mask);
    expected.clear();
    for (size_t i = 0; i < s.size(); ++i)
      if (m[i] != 0) expected.push_back(s[i]);
    EXPECT_EQ(host_values(self.index({mask})), expected) << dtype << " mask";
  }
}

// scatter_ (assign) into a transposed self from a stepped-slice src through a
// transposed (or sliced) index; unique destinations make the result exact.
TEST_P(ScatterCoverageTest, ScatterAssignTransposedSelfStridedSrcAndIndex) {
  std::mt19937 rng(104);
  for (DType dtype : {kFloat32, kInt16, kFloat16, kBool}) {
    // dim 0: self [6, 7] (strides 1, 6); index [4, 7] (strides 1, 4); src [5, 7] (strides 14, 2).
    {
      Tensor base = random_values({7, 6}, dtype, dev(), rng);
      Tensor self = base.t();
      Tensor index =
          from_vector<int64_t>(unique_along({7, 4}, 1, 6, rng), {7, 4}, opts(kInt64)).t();
      Tensor src = random_values({5, 14}, dtype, dev(), rng).slice(1, 0, 14, 2);
      ASSERT_FALSE(self.is_contiguous());
      ASSERT_FALSE(index.is_contiguous());
      ASSERT_FALSE(src.is_contiguous());
      const auto expected = reference_scatter(host_values(self), {6, 7}, 0, host_values(index), {4, 7},
                                              host_values(src), {5, 7}, "assign", true, dtype);
      self.scatter_(0, index, src);
      EXPECT_EQ(host_values(self), expected) << dtype << " dim 0";
      EXPECT_EQ(host_values(base.t()), expected) << dtype << " dim 0 (through the base)";
    }
    // dim 1: self [6, 7] a column slice of [6, 14]; index [6, 3] every other
    // column of [6, 6]; src [6, 4] transposed.
    {
      Tensor base = random_values({6, 14}, dtype, dev(), rng);
      const auto base_before = host_values(base);
      Tensor self = base.slice(1, 1, 14, 2);
      std::vector<int64_t> wide(36, 99);  // the skipped columns hold junk, never read
      const std::vector<int64_t> picked = unique_along({6, 3}, 1, 7, rng);
      for (int64_t r = 0; r < 6; ++r)
        for (int64_t k = 0; k < 3; ++k) wide[static_cast<size_t>(r * 6 + 2 * k)] = picked[static_cast<size_t>(r * 3 + k)];
      Tensor index = from_vector<int64_t>(wide, {6, 6}, opts(kInt64)).slice(1, 0, 6, 2);
      Tensor src = random_values({4, 6}, dtype, dev(), rng).t();
      const auto expected = reference_scatter(host_values(self), {6, 7}, 1, host_values(index), {6, 3},
                                              host_values(src), {6, 4}, "assign", true, dtype);
      self.scatter_(1, index, src);
      EXPECT_EQ(host_values(self), expected) << dtype << " dim 1";
      const auto after = host_values(base);
      for (int64_t r = 0; r < 6; ++r)
        for (int64_t c = 0; c < 14; c += 2)
          ASSERT_EQ(after[static_cast<size_t>(r * 14 + c)], base_before[static_cast<size_t>(r * 14 + c)])
              << dtype << " gap column " << c << " was written";
    }
  }
}

// scatter_reduce_ "mean" (both include_self) and every reduce with
// include_self=false on a transposed self and on a column slice of a wider
// tensor; the columns between the slice's stay untouched.
TEST_P(ScatterCoverageTest, ScatterReduceMeanAndExcludeSelfOnStridedSelf) {
  std::mt19937 rng(105);
  for (DType dtype : {kInt32, kFloat64, kFloat32}) {
    for (const char* reduce : kReduces) {
      for (bool include_self : {true, false}) {
        const std::string r = reduce;
        if (include_self && r != "mean") continue;
        for (int64_t dim : {0, 1}) {
          const int magnitude = r == "prod" ? 2 : 8;
          // Transposed: self [5, 4] over a [4, 5] base.
          Tensor base_t = random_values({4, 5}, dtype, dev(), rng, magnitude);
          Tensor self_t = base_t.t();
          // Sliced: self [5, 4] = columns 1, 3, 5, 7 of a [5, 8] base.
          Tensor base_s = random_values({5, 8}, dtype, dev(), rng, magnitude);
          Tensor self_s = base_s.slice(1, 1, 8, 2);
          const auto base_s_before = host_values(base_s);
          for (Tensor self : {self_t, self_s}) {
            const Shape index_shape = dim == 0 ? Shape{4, 4} : Shape{5, 3};
            Tensor index = random_index(index_shape, self.size(dim), dev(), rng);
            Tensor src = random_values(index_shape, dtype, dev(), rng, magnitude);
            const auto expected = reference_scatter(host_values(self), {5, 4}, dim, host_values(index), index_shape,
                                                    host_values(src), index_shape, r, include_self, dtype);
            self.scatter_reduce_(dim, index, src, r, include_self);
            const double relative = r == "mean" && is_floating_point(dtype) ? 1e-6 : 0.0;
            expect_values(host_values(self), expected, relative,
                          to_string(dtype) + " " + r + " include_self=" + std::to_string(include_self) + " dim " +
                              std::to_string(dim) + (self.is_same(self_t) ? " transposed" : " sliced"));
          }
          const auto after = host_values(base_s);
          for (int64_t i = 0; i < 5; ++i)
            for (int64_t c = 0; c < 8; c += 2)
              ASSERT_EQ(after[static_cast<size_t>(i * 8 + c)], base_s_before[static_cast<size_t>(i * 8 + c)])
                  << dtype << " " << r << ": gap column " << c << " was written";
        }
      }
    }
  }
}

// index_add_ into a transposed self from a strided source through a strided
// int32 index (every other entry of a two-column tensor), along each dim.
TEST_P(ScatterCoverageTest, IndexAddTransposedSelfStridedSourceAndInt32Index) {
  std::mt19937 rng(106);
  for (DType dtype : {kInt32, kInt8, kFloat32, kFloat16, kFloat64}) {
    const Scalar alpha = is_floating_point(dtype) ? Scalar(0.5) : Scalar(3);
    const int magnitude = dtype == kInt8 ? 3 : 8;  // Int8: |self + 3 * (sum of <= 9)| stays below 128
    for (int64_t dim : {0, 1}) {
      Tensor base = random_values({6, 5}, dtype, dev(), rng, magnitude);
      Tensor self = base.t();  // [5, 6]
      const int64_t k = 9;
      // Source [9, 6] (strides 12, 2) for dim 0; [5, 9] (strides 1, 5) for dim 1.
      Tensor source = dim == 0 ? random_values({k, 12}, dtype, dev(), rng, magnitude).slice(1, 0, 12, 2)
                               : random_values({k, 5}, dtype, dev(), rng, magnitude).t();
      Tensor index = random_index({k, 2}, self.size(dim), dev(), rng).to(kInt32).select(1, 1);
      ASSERT_EQ(index.stride(0), 2);
      const auto expected = reference_index_add(host_values(self), {5, 6}, dim, host_values(index),
                                                host_values(source), source.sizes(), alpha.to_double(), dtype);
      EXPECT_EQ(host_values(self.index_add(dim, index, source, alpha)), expected) << dtype << " dim " << dim;
      self.index_add_(dim, index, source, alpha);
      EXPECT_EQ(host_values(self), expected) << dtype << " dim " << dim;
      EXPECT_EQ(host_values(base.t()), expected) << dtype << " dim " << dim << " (through the base)";
    }
  }
}

// index_add_ on Bool with the default alpha: self |= source (PyTorch accepts it).
TEST_P(ScatterCoverageTest, IndexAddOnBoolWithDefaultAlpha) {
  std::mt19937 rng(107);
  Tensor self = random_values({5, 4}, kBool, dev(), rng);
  Tensor source = random_values({3, 4}, kBool, dev(), rng);
  Tensor index = from_vector<int64_t>({4, 0, 4}, opts(kInt64));
  const auto expected =
      reference_index_add(host_values(self), {5, 4}, 0, host_values(index), host_values(source), {3, 4}, 1.0, kBool);
  self.index_add_(0, index, source);
  EXPECT_EQ(host_values(self), expected);
}

// index_add_ with an alpha that no float holds exactly (0.1, -1.3, 1/3): every
// update is self + (alpha * source rounded), rounded again, on every path
// and in every build (a fused multiply-add would round once: GCC fuses them
// where the target has FMA, the CUDA atomics cannot). Reference: the two
// roundings in the math type (through volatile so that this file's compiler
// cannot fuse them either), in index order; for the 16-bit types, as
// PyTorch's index_add_, alpha and the product are rounded to the dtype too
// and the sum is computed in float.
// Distinct indices in the default mode (order does not matter), repeated
// ones in deterministic mode (index order), along both dims of a 2-D self
// and into a 1-D one.
template <typename M>
M rounded_product_then_sum(M a, M alpha, M b) {
  volatile M product = alpha * b;
  volatile M sum = a + product;
  return sum;
}

double add_alpha_reference(DType dtype, double a, double alpha, double b) {
  if (dtype == kFloat64) return rounded_product_then_sum<double>(a, alpha, b);
  if (dtype == kFloat32) {
    return rounded_product_then_sum<float>(static_cast<float>(a), static_cast<float>(alpha), static_cast<float>(b));
  }
  const auto round_f = [&](float v) { return static_cast<float>(round_to(dtype, v)); };
  volatile float product = round_f(round_f(static_cast<float>(alpha)) * static_cast<float>(b));
  volatile float sum = static_cast<float>(a) + product;
  return round_to(dtype, sum);
}

TEST_P(ScatterCoverageTest, IndexAddAlphaRoundsTheProductThenTheSum) {
  std::mt19937 rng(111);
  for (DType dtype : {kFloat32, kFloat64, kFloat16, kBFloat16}) {
    for (double alpha : {0.1, -1.3, 1.0 / 3.0}) {
      for (bool repeated : {false, true}) {
        set_deterministic(repeated);
        for (int64_t dim : {0, 1, -1}) {
          const Shape self_shape = dim == -1 ? Shape{200} : Shape{30, 20};
          const int64_t axis = dim == -1 ? 0 : dim;
          const int64_t extent = self_shape[static_cast<size_t>(axis)];
          const int64_t k = repeated ? 3 * extent : extent / 2;
          std::vector<int64_t> picks(static_cast<size_t>(extent));
          std::iota(picks.begin(), picks.end(), 0);
          std::shuffle(picks.begin(), picks.end(), rng);
          std::vector<int64_t> index_values(static_cast<size_t>(k));
          for (int64_t i = 0; i < k; ++i) {
            index_values[static_cast<size_t>(i)] =
                repeated ? static_cast<int64_t>(rng() % static_cast<uint64_t>(extent)) : picks[static_cast<size_t>(i)];
          }
          Shape source_shape = self_shape;
          source_shape[static_cast<size_t>(axis)] = k;
          Tensor self = random_floats(self_shape, dtype, dev(), rng);
          Tensor source = random_floats(source_shape, dtype, dev(), rng);
          Tensor index = from_vector<int64_t>(index_values, {k}, opts(kInt64));
          // The reference, in index order over the source's rows (or elements).
          std::vector<double> expected = host_values(self);
          const std::vector<double> src = host_values(source);
          const int64_t inner = self_shape.size() == 2 && axis == 0 ? self_shape[1] : 1;
          const int64_t outer = self_shape.size() == 2 && axis == 1 ? self_shape[0] : 1;
          for (int64_t o = 0; o < outer; ++o) {
            for (int64_t i = 0; i < k; ++i) {
              for (int64_t c = 0; c < inner; ++c) {
                const int64_t to = (o * extent + index_values[static_cast<size_t>(i)]) * inner + c;
                const int64_t from = (o * k + i) * inner + c;
                double& dst = expected[static_cast<size_t>(to)];
                dst = add_alpha_reference(dtype, dst, alpha, src[static_cast<size_t>(from)]);
              }
            }
          }
          self.index_add_(axis, index, source, alpha);
          ASSERT_EQ(host_values(self), expected)
              << dtype << " alpha " << alpha << " dim " << dim << (repeated ? " repeated" : " distinct");
        }
      }
    }
  }
}

// Float16 and BFloat16 sums of many updates per element, in the default mode:
// the CPU sums into float and rounds each element once, so that every
// element is its true sum rounded to the dtype (within one unit in the last
// place of the dtype, for the float rounding on the way), whatever the thread
// count. (Rounded to 11 or 8 bits after every add, a slot of 16 Ki values in
// [-1, 1) drifts by tens of units; deterministic mode keeps that index-order
// rounding, PyTorch's.) scatter_add_ into a few hot slots and into every slot,
// index_put_ accumulate of (row, col) pairs, index_add_ with alpha 1; then
// each with one index out of range (IndexError, self unchanged).
double unit_in_last_place(DType dtype, double v) {
  const int mantissa_bits = dtype == kFloat16 ? 10 : 7;
  const int min_exponent = dtype == kFloat16 ? -14 : -126;
  const int exponent = v == 0.0 ? min_exponent : std::max(std::ilogb(v), min_exponent);
  return std::ldexp(1.0, exponent - mantissa_bits);
}

TEST_P(ScatterCoverageTest, HalfSumsOfManyUpdatesRoundTheTrueSum) {
  if (GetParam() != "cpu") GTEST_SKIP() << "the CPU's summation (CUDA adds with atomics)";
  std::mt19937 rng(112);
  const int64_t n = int64_t{1} << 16;
  for (DType dtype : {kFloat16, kBFloat16}) {
    for (int op = 0; op < 4; ++op) {
      // op 0: scatter_add_ into 4 hot slots of 4096; 1: into all 4096;
      // 2: index_put_ accumulate of pairs into [64, 64]; 3: index_add_.
      const Shape self_shape = op == 2 ? Shape{64, 64} : Shape{4096};
      std::vector<int64_t> rows(static_cast<size_t>(n)), cols(static_cast<size_t>(n));
      for (int64_t j = 0; j < n; ++j) {
        rows[static_cast<size_t>(j)] = op == 0 ? static_cast<int64_t>(rng() % 4) * 1024
                                               : static_cast<int64_t>(rng() % (op == 2 ? 64 : 4096));
        cols[static_cast<size_t>(j)] = static_cast<int64_t>(rng() % 64);
      }
      Tensor row_index = from_vector<int64_t>(rows, {n}, opts(kInt64));
      Tensor col_index = from_vector<int64_t>(cols, {n}, opts(kInt64));
      Tensor self = random_floats(self_shape, dtype, dev(), rng);
      Tensor values = random_floats({n}, dtype, dev(), rng);
      std::vector<double> exact = host_values(self);
      const std::vector<double> v = host_values(values);
      for (int64_t j = 0; j < n; ++j) {
        const int64_t to = op == 2 ? rows[static_cast<size_t>(j)] * 64 + cols[static_cast<size_t>(j)]
                                   : rows[static_cast<size_t>(j)];
        exact[static_cast<size_t>(to)] += v[static_cast<size_t>(j)];
      }
      std::vector<uint8_t> first_bytes;
      for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        Tensor out = self.clone();
        switch (op) {
          case 0:
          case 1: out.scatter_add_(0, row_index, values); break;
          case 2: out.index_put_({row_index, col_index}, values, /*accumulate=*/true); break;
          default: out.index_add_(0, row_index, values); break;
        }
        const std::vector<double> got = host_values(out);
        for (size_t i = 0; i < got.size(); ++i) {
          ASSERT_LE(std::fabs(got[i] - exact[i]), unit_in_last_place(dtype, exact[i]))
              << dtype << " op " << op << " element " << i << " threads " << threads << ": " << got[i]
              << ", true sum " << exact[i];
        }
        if (threads == 1) first_bytes = host_bytes(out);
        EXPECT_EQ(host_bytes(out), first_bytes) << dtype << " op " << op << " threads " << threads;
      }
      set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
      // One index out of range, late in the second part: IndexError, nothing written.
      rows[static_cast<size_t>(n - 100)] = op == 2 ? 64 : 4096;
      Tensor bad_rows = from_vector<int64_t>(rows, {n}, opts(kInt64));
      Tensor out = self.clone();
      const std::vector<uint8_t> before = host_bytes(out);
      switch (op) {
        case 0:
        case 1: EXPECT_THROW(out.scatter_add_(0, bad_rows, values), IndexError); break;
        case 2: EXPECT_THROW(out.index_put_({bad_rows, col_index}, values, true), IndexError); break;
        default: EXPECT_THROW(out.index_add_(0, bad_rows, values), IndexError); break;
      }
      EXPECT_EQ(host_bytes(out), before) << dtype << " op " << op << ": written before the bad index was found";
    }
  }
}

// index() and gather from a strided self with strided int32 indices (a column
// of a two-column tensor), and index_put_ through the same indices.
TEST_P(ScatterCoverageTest, StridedSelfWithStridedInt32Indices) {
  std::mt19937 rng(108);
  for (DType dtype : {kFloat32, kInt64, kBFloat16}) {
    Tensor base = random_values({5, 8}, dtype, dev(), rng);
    Tensor self = base.t();  // [8, 5]
    const auto s = host_values(self);
    Tensor rows = random_index({6, 2}, 8, dev(), rng).to(kInt32).select(1, 0);  // stride 2
    Tensor cols = (random_index({6, 2}, 5, dev(), rng).to(kInt32)).select(1, 1);
    ASSERT_FALSE(rows.is_contiguous());
    const auto r = host_values(rows), c = host_values(cols);
    std::vector<double> expected;
    for (size_t i = 0; i < 6; ++i) expected.push_back(s[static_cast<size_t>(r[i] * 5 + c[i])]);
    EXPECT_EQ(host_values(self.index({rows, cols})), expected) << dtype;
    expected.clear();
    for (size_t i = 0; i < 6; ++i)
      for (int64_t j = 0; j < 5; ++j) expected.push_back(s[static_cast<size_t>(r[i] * 5 + j)]);
    EXPECT_EQ(host_values(self.index({rows})), expected) << dtype;
    // A sliced self: rows 1, 3, 5, 7 of the transposed view.
    Tensor sliced = self.slice(0, 1, 8, 2);  // [4, 5]
    Tensor srows = random_index({5, 2}, 4, dev(), rng).to(kInt32).select(1, 1);
    const auto sr = host_values(srows);
    expected.clear();
    for (size_t i = 0; i < 5; ++i)
      for (int64_t j = 0; j < 5; ++j) expected.push_back(s[static_cast<size_t>((1 + 2 * sr[i]) * 5 + j)]);
    EXPECT_EQ(host_values(sliced.index({srows})), expected) << dtype << " sliced";

    // gather along dim 1 with a strided int32 index [8, 3] (every other column of [8, 6]).
    Tensor gindex = random_index({8, 6}, 5, dev(), rng).to(kInt32).slice(1, 0, 6, 2);
    const auto g = host_values(gindex);
    expected.clear();
    for (int64_t i = 0; i < 8; ++i)
      for (int64_t j = 0; j < 3; ++j) expected.push_back(s[static_cast<size_t>(i * 5 + static_cast<int64_t>(g[static_cast<size_t>(i * 3 + j)]))]);
    EXPECT_EQ(host_values(self.gather(1, gindex)), expected) << dtype << " gather";

    // index_put_ accumulate through the strided int32 pairs (duplicates sum).
    Tensor values = random_values({12}, dtype, dev(), rng).slice(0, 0, 12, 2);
    const auto v = host_values(values);
    auto put = s;
    for (size_t i = 0; i < 6; ++i) {
      double& dst = put[static_cast<size_t>(r[i] * 5 + c[i])];
      dst = round_to(dtype, dst + v[i]);
    }
    self.index_put_({rows, cols}, values, true);
    EXPECT_EQ(host_values(self), put) << dtype << " index_put_";
    EXPECT_EQ(host_values(base.t()), put) << dtype << " index_put_ (through the base)";
  }
}

// Short rows along the last dimension of contiguous tensors (gather(1, index)
// with an [N, w] index, w = 1, 2, 4: the CPU runs all rows as one flat loop;
// w = 3 and 8 take the row-at-a-time loop), enough rows to split across
// threads and a count that leaves a partial batch: gather, scatter_add_,
// scatter_ (distinct columns per row) and scatter_reduce_ "amax" against
// loops here, for 1 and 2 threads; then one bad index at a random position
// (IndexError naming it; a scatter leaves self byte for byte unchanged).
TEST_P(ScatterCoverageTest, ShortDenseRowsAlongTheLastDimension) {
  std::mt19937 rng(112);
  constexpr int64_t kSlots = 16;
  const int threads_before = get_num_threads();
  for (int64_t width : {1, 2, 3, 4, 8}) {
    for (int64_t rows : {int64_t{5}, int64_t{70001} / width}) {
      for (DType dtype : {kFloat32, kInt64, kFloat16}) {
        const Shape self_shape{rows, kSlots};
        const Shape index_shape{rows, width};
        Tensor self = random_values(self_shape, dtype, dev(), rng);
        Tensor src = random_values(index_shape, dtype, dev(), rng);
        Tensor index = random_index(index_shape, kSlots, dev(), rng);
        const std::vector<int64_t> distinct = unique_along(index_shape, 1, kSlots, rng);
        Tensor distinct_index = from_vector<int64_t>(distinct, index_shape, opts(kInt64));
        const auto s = host_values(self), v = host_values(src), ix = host_values(index);
        std::vector<double> gathered(static_cast<size_t>(rows * width));
        std::vector<double> summed = s, assigned = s, maxed = s;
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t j = 0; j < width; ++j) {
            const size_t p = static_cast<size_t>(r * width + j);
            const size_t to = static_cast<size_t>(r * kSlots + static_cast<int64_t>(ix[p]));
            gathered[p] = s[to];
            summed[to] += v[p];  // small integers: exact in every dtype here
            maxed[to] = std::max(maxed[to], v[p]);
            assigned[static_cast<size_t>(r * kSlots + distinct[p])] = v[p];
          }
        }
        for (int threads : {1, 2}) {
          set_num_threads(threads);
          std::ostringstream label;
          label << dtype << " width " << width << " rows " << rows << " threads " << threads;
          const std::string what = label.str();
          EXPECT_EQ(host_values(self.gather(1, index)), gathered) << what;
          Tensor t = self.clone();
          t.scatter_add_(1, index, src);
          EXPECT_EQ(host_values(t), summed) << what;
          t = self.clone();
          t.scatter_(1, distinct_index, src);
          EXPECT_EQ(host_values(t), assigned) << what;
          t = self.clone();
          t.scatter_reduce_(1, index, src, "amax");
          EXPECT_EQ(host_values(t), maxed) << what;
        }
        set_num_threads(threads_before);
        // One index out of range (16 or -1, alternately) at a random position.
        std::vector<int64_t> bad_values(ix.begin(), ix.end());
        const size_t at = static_cast<size_t>(rng() % bad_values.size());
        bad_values[at] = at % 2 == 0 ? kSlots : -1;
        Tensor bad = from_vector<int64_t>(bad_values, index_shape, opts(kInt64));
        const std::string message = "index " + std::to_string(bad_values[at]) +
                                    " is out of bounds for dimension 1 with size " + std::to_string(kSlots);
        EXPECT_EQ(error_message<IndexError>([&] { (void)self.gather(1, bad); }), message);
        const std::vector<uint8_t> before = host_bytes(self);
        EXPECT_EQ(error_message<IndexError>([&] { self.scatter_add_(1, bad, src); }), message);
        EXPECT_EQ(host_bytes(self), before) << "scatter_add_ wrote before its index was checked";
      }
    }
  }
}

// Whole contiguous rows at random destinations, many enough for the CPU to
// consider splitting them across threads: rows of 64 elements into a 2-D self
// (one thread runs them; into 8 MiB or more, each row is prefetched a few
// rows ahead), into a 2-D view whose rows lie inside wider ones,
// along dim 1 of a 3-D self (the batch is split), and rows of 4096 float32
// (cut in two along their length). index_add_ (alpha 1 on float32 in [-1, 1),
// summed in index order; alpha 3 on int64) everywhere; in the 2-D cases also
// index_put_ of rows with accumulate, without (repeated rows: deterministic
// mode, the last in index order wins) and of a scalar, with every other row
// given by its negative alias. Each result equals a float (or int64) loop in
// index order written here, byte for byte, on 1, 2 and 3 threads, and nothing
// outside a view is written; the 2-D cases read the rows back with
// self[rows]. An out-of-range row throws and leaves self as it was.
TEST_P(ScatterCoverageTest, WholeRowsEveryThreadCount) {
  // The CPU's row loops and thread splits; float sums in index order are the
  // CPU's default (CUDA's atomics add in any order: CudaFloatRowSumsEqualCpu).
  if (GetParam() != "cpu") GTEST_SKIP() << "CPU row loops and thread splits";
  std::mt19937 rng(113);
  struct Case {
    const char* name;
    Shape self_shape;  // of the tensor written (a view of `base_shape` when `pad` > 0)
    int64_t n;         // rows of updates (per batch)
    int64_t pad;       // extra columns on each side of the view's rows
  };
  const Case cases[] = {{"2-D rows of 64", {1024, 64}, 16387, 0},
                        {"2-D rows of 64 into 8 MiB or more", {32768, 64}, 16387, 0},  // rows prefetched
                        {"2-D view, rows of 64 inside rows of 80", {1024, 64}, 16387, 8},
                        {"3-D along dim 1", {3, 700, 64}, 5003, 0},
                        {"2-D rows of 4096", {16, 4096}, 160, 0}};
  const int threads_before = get_num_threads();
  for (const Case& c : cases) {
    const bool batched = c.self_shape.size() == 3;
    const int64_t batch = batched ? c.self_shape[0] : 1;
    const int64_t slots = c.self_shape[batched ? 1 : 0];
    const int64_t width = c.self_shape.back();
    const int64_t dim = batched ? 1 : 0;
    const Shape src_shape = batched ? Shape{batch, c.n, width} : Shape{c.n, width};
    for (DType dtype : {kFloat32, kInt64}) {
      const auto random = [&](const Shape& shape) {
        return dtype == kFloat32 ? random_floats(shape, dtype, dev(), rng) : random_values(shape, dtype, dev(), rng);
      };
      Shape base_shape = c.self_shape;
      base_shape.back() += 2 * c.pad;
      Tensor base = random(base_shape);
      Tensor self = c.pad > 0 ? base.narrow(-1, c.pad, width) : base;
      Tensor src = random(src_shape);
      std::vector<int64_t> rows(static_cast<size_t>(c.n)), aliased(static_cast<size_t>(c.n));
      for (size_t j = 0; j < rows.size(); ++j) {
        rows[j] = static_cast<int64_t>(rng() % static_cast<uint64_t>(slots));
        aliased[j] = j % 2 == 1 ? rows[j] - slots : rows[j];
      }
      Tensor index = from_vector<int64_t>(rows, {c.n}, opts(kInt64));
      Tensor aliased_index = from_vector<int64_t>(aliased, {c.n}, opts(kInt64));
      const int64_t alpha = dtype == kFloat32 ? 1 : 3;
      const double fill = dtype == kFloat32 ? 2.5 : 2.0;
      const std::vector<double> b = host_values(base), v = host_values(src);
      std::vector<double> added = b, summed = b, assigned = b, filled = b, read;
      const int64_t base_width = width + 2 * c.pad;
      for (int64_t bt = 0; bt < batch; ++bt) {
        for (int64_t j = 0; j < c.n; ++j) {
          for (int64_t k = 0; k < width; ++k) {
            const size_t to =
                static_cast<size_t>((bt * slots + rows[static_cast<size_t>(j)]) * base_width + c.pad + k);
            const double x = v[static_cast<size_t>((bt * c.n + j) * width + k)];
            if (dtype == kFloat32) {  // float arithmetic, one rounding per add
              added[to] = static_cast<float>(static_cast<float>(added[to]) + static_cast<float>(x));
              summed[to] = static_cast<float>(static_cast<float>(summed[to]) + static_cast<float>(x));
            } else {
              added[to] += static_cast<double>(alpha) * x;
              summed[to] += x;
            }
            assigned[to] = x;
            filled[to] = fill;
            read.push_back(b[to]);
          }
        }
      }
      for (int threads : {1, 2, 3}) {
        set_num_threads(threads);
        std::ostringstream label;
        label << dtype << " " << c.name << " threads " << threads;
        const std::string what = label.str();
        const auto run = [&](const std::function<void(const Tensor&)>& op) {
          Tensor fresh_base = base.clone();
          op(c.pad > 0 ? fresh_base.narrow(-1, c.pad, width) : fresh_base);
          return host_values(fresh_base);
        };
        EXPECT_EQ(run([&](const Tensor& t) { t.index_add_(dim, index, src, alpha); }), added) << what;
        if (batched) continue;
        EXPECT_EQ(host_values(self.index({aliased_index})), read) << what;
        EXPECT_EQ(run([&](const Tensor& t) { t.index_put_({aliased_index}, src, /*accumulate=*/true); }), summed)
            << what;
        EXPECT_EQ(run([&](const Tensor& t) { t.index_put_({aliased_index}, fill); }), filled) << what;
        const bool was = is_deterministic();
        set_deterministic(true);
        const std::vector<double> got = run([&](const Tensor& t) { t.index_put_({aliased_index}, src); });
        set_deterministic(was);
        EXPECT_EQ(got, assigned) << what;
      }
      set_num_threads(threads_before);
      std::vector<int64_t> bad_rows = rows;
      bad_rows[static_cast<size_t>(c.n - 7)] = slots;
      Tensor bad = from_vector<int64_t>(bad_rows, {c.n}, opts(kInt64));
      const std::vector<uint8_t> before = host_bytes(base);
      EXPECT_THROW(self.index_add_(dim, bad, src, alpha), IndexError) << c.name;
      EXPECT_EQ(host_bytes(base), before) << c.name << ": index_add_ wrote before its index was checked";
    }
  }
}

// Whole rows addressed by two index tensors (a cache written at (batch,
// position) pairs: cache[b, t] = rows, with and without accumulate, and read
// back with cache[b, t]), negative aliases in both, repeated pairs: equal to
// a loop in index order written here (deterministic mode for the
// assignment), on 1, 2 and 3 threads, into a contiguous cache and into a view
// whose rows lie inside wider ones. Then rows picked and accumulated through
// a 2-D index tensor (table[grid], a 3-D iteration).
TEST_P(ScatterCoverageTest, WholeRowsThroughTwoIndexTensors) {
  if (GetParam() != "cpu") GTEST_SKIP() << "CPU row loops and thread splits";
  std::mt19937 rng(114);
  constexpr int64_t kBatch = 6, kPositions = 300, kWidth = 64, kUpdates = 12001;
  const int threads_before = get_num_threads();
  for (int64_t pad : {int64_t{0}, int64_t{4}}) {
    Tensor base = random_floats({kBatch, kPositions, kWidth + 2 * pad}, kFloat32, dev(), rng);
    Tensor values = random_floats({kUpdates, kWidth}, kFloat32, dev(), rng);
    std::vector<int64_t> b(kUpdates), t(kUpdates);
    for (int64_t j = 0; j < kUpdates; ++j) {
      b[static_cast<size_t>(j)] = static_cast<int64_t>(rng() % kBatch) - (j % 3 == 0 ? kBatch : 0);
      t[static_cast<size_t>(j)] = static_cast<int64_t>(rng() % kPositions) - (j % 2 == 0 ? kPositions : 0);
    }
    Tensor bi = from_vector<int64_t>(b, {kUpdates}, opts(kInt64));
    Tensor ti = from_vector<int64_t>(t, {kUpdates}, opts(kInt64));
    const std::vector<double> start = host_values(base), v = host_values(values);
    std::vector<double> summed = start, assigned = start, gathered;
    const int64_t row_stride = kWidth + 2 * pad;
    for (int64_t j = 0; j < kUpdates; ++j) {
      const int64_t bb = (b[static_cast<size_t>(j)] + kBatch) % kBatch;
      const int64_t tt = (t[static_cast<size_t>(j)] + kPositions) % kPositions;
      for (int64_t k = 0; k < kWidth; ++k) {
        const size_t to = static_cast<size_t>((bb * kPositions + tt) * row_stride + pad + k);
        const double x = v[static_cast<size_t>(j * kWidth + k)];
        summed[to] = static_cast<float>(static_cast<float>(summed[to]) + static_cast<float>(x));
        assigned[to] = x;
        gathered.push_back(start[to]);
      }
    }
    for (int threads : {1, 2, 3}) {
      set_num_threads(threads);
      const std::string what = "pad " + std::to_string(pad) + " threads " + std::to_string(threads);
      Tensor out = base.clone();
      Tensor cache = pad > 0 ? out.narrow(2, pad, kWidth) : out;
      cache.index_put_({bi, ti}, values, /*accumulate=*/true);
      EXPECT_EQ(host_values(out), summed) << what;
      const bool was = is_deterministic();
      set_deterministic(true);
      out = base.clone();
      cache = pad > 0 ? out.narrow(2, pad, kWidth) : out;
      cache.index_put_({bi, ti}, values);
      set_deterministic(was);
      EXPECT_EQ(host_values(out), assigned) << what;
      // Reading the rows back: cache[b, t] gathers what the loop says.
      Tensor read_cache = pad > 0 ? base.narrow(2, pad, kWidth) : base;
      EXPECT_EQ(host_values(read_cache.index({bi, ti})), gathered) << what;
    }
    set_num_threads(threads_before);
  }
  // A 2-D index tensor of rows (a [kBatch, kPositions] grid of row numbers,
  // transposed in memory so that its two dimensions do not merge into one):
  // reads and accumulating writes of whole rows over a 3-D iteration.
  Tensor table = random_floats({kPositions, kWidth}, kFloat32, dev(), rng);
  Tensor grid = random_index({kPositions, kBatch}, kPositions, dev(), rng).t();
  Tensor grid_values = random_floats({kBatch, kPositions, kWidth}, kFloat32, dev(), rng);
  const std::vector<double> tv = host_values(table), gv = host_values(grid_values), g = host_values(grid);
  std::vector<double> picked, accumulated = tv;
  for (size_t p = 0; p < g.size(); ++p) {
    for (int64_t k = 0; k < kWidth; ++k) {
      const size_t at = static_cast<size_t>(static_cast<int64_t>(g[p]) * kWidth + k);
      picked.push_back(tv[at]);
      accumulated[at] = static_cast<float>(static_cast<float>(accumulated[at]) +
                                           static_cast<float>(gv[p * static_cast<size_t>(kWidth) + static_cast<size_t>(k)]));
    }
  }
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    EXPECT_EQ(host_values(table.index({grid})), picked) << "threads " << threads;
    Tensor out = table.clone();
    out.index_put_({grid}, grid_values, /*accumulate=*/true);
    EXPECT_EQ(host_values(out), accumulated) << "threads " << threads;
  }
  set_num_threads(threads_before);
}

namespace {

/// The values' bits (as doubles: exact for these dtypes), every NaN as one: a
/// product of an overflowed float16 and zero is NaN on both devices, but x86
/// gives it the sign bit and the GPU does not.
std::vector<uint64_t> bits_nan_as_one(const Tensor& t) {
  std::vector<uint64_t> out;
  for (double v : host_values(t)) {
    if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    out.push_back(bits);
  }
  return out;
}

}  // namespace

// The CUDA results of prod, mean and amin (and the other reduces) equal the
// CPU ones bit for bit for the narrow dtypes (NaN's sign aside); deterministic
// mode on, so float sums are taken in index order on both devices.
TEST_P(ScatterCoverageTest, CudaEqualsCpuForReducesAndNarrowDtypes) {
  if (GetParam() != "cuda") GTEST_SKIP() << "compares the CUDA result with the CPU one";
  set_deterministic(true);
  std::mt19937 rng(109);
  for (DType dtype : {kFloat16, kBFloat16, kInt8, kInt16, kUInt8, kFloat32, kInt64}) {
    for (int64_t dim : {0, 1}) {
      const Shape self_shape = {40, 6};
      const Shape index_shape = dim == 0 ? Shape{300, 6} : Shape{40, 50};
      Tensor index = random_index(index_shape, self_shape[static_cast<size_t>(dim)], kHost, rng);
      Tensor gindex = index.to(dev());
      for (int magnitude : {2, 8}) {
        Tensor self = random_values(self_shape, dtype, kHost, rng, magnitude);
        Tensor src = random_values(index_shape, dtype, kHost, rng, magnitude);
        Tensor gself = self.to(dev()), gsrc = src.to(dev());
        EXPECT_EQ(host_bytes(gself.scatter_add(dim, gindex, gsrc)), host_bytes(self.scatter_add(dim, index, src)))
            << dtype << " scatter_add dim " << dim;
        for (const char* reduce : kReduces) {
          for (bool include_self : {true, false}) {
            EXPECT_EQ(bits_nan_as_one(gself.scatter_reduce(dim, gindex, gsrc, reduce, include_self)),
                      bits_nan_as_one(self.scatter_reduce(dim, index, src, reduce, include_self)))
                << dtype << " " << reduce << " include_self=" << include_self << " dim " << dim;
          }
        }
      }
      if (is_floating_point(dtype)) {  // rounding sums: the same bits only in the same order
        Tensor self = random_floats(self_shape, dtype, kHost, rng);
        Tensor src = random_floats(index_shape, dtype, kHost, rng);
        Tensor gself = self.to(dev()), gsrc = src.to(dev());
        EXPECT_EQ(host_bytes(gself.scatter_add(dim, gindex, gsrc)), host_bytes(self.scatter_add(dim, index, src)))
            << dtype << " random floats scatter_add dim " << dim;
        for (const char* reduce : {"mean", "amin", "amax"}) {
          EXPECT_EQ(host_bytes(gself.scatter_reduce(dim, gindex, gsrc, reduce, false)),
                    host_bytes(self.scatter_reduce(dim, index, src, reduce, false)))
              << dtype << " random floats " << reduce << " dim " << dim;
        }
      }
    }
  }
}

TEST_P(ScatterCoverageTest, CudaEqualsCpuForIndexAdd) {
  if (GetParam() != "cuda") GTEST_SKIP() << "compares the CUDA result with the CPU one";
  set_deterministic(true);
  std::mt19937 rng(110);
  for (DType dtype : {kFloat32, kFloat16, kBFloat16, kFloat64, kInt32, kInt8, kUInt8, kInt16}) {
    const Scalar alpha = is_floating_point(dtype) ? Scalar(0.5) : Scalar(2);
    for (int64_t dim : {0, 1}) {
      Tensor self = is_floating_point(dtype) ? random_floats({30, 20}, dtype, kHost, rng)
                                             : random_values({30, 20}, dtype, kHost, rng);
      const int64_t k = 500;
      const Shape source_shape = dim == 0 ? Shape{k, 20} : Shape{30, k};
      Tensor source = is_floating_point(dtype) ? random_floats(source_shape, dtype, kHost, rng)
                                               : random_values(source_shape, dtype, kHost, rng, 2);
      Tensor index = random_index({k}, self.size(dim), kHost, rng);
      for (DType index_dtype : {kInt64, kInt32}) {
        Tensor i = index.to(index_dtype);
        EXPECT_EQ(host_bytes(self.to(dev()).index_add(dim, i.to(dev()), source.to(dev()), alpha)),
                  host_bytes(self.index_add(dim, i, source, alpha)))
            << dtype << " dim " << dim << " index " << index_dtype;
      }
      // Transposed self and strided source and index on the GPU too.
      Tensor t_self = self.t().contiguous().t();
      Tensor wide_index = random_index({k, 2}, self.size(dim), kHost, rng).to(kInt32);
      EXPECT_EQ(host_bytes(t_self.to(dev()).t().contiguous().t().index_add(dim, wide_index.to(dev()).select(1, 1),
                                                                           source.to(dev()), alpha)),
                host_bytes(t_self.index_add(dim, wide_index.select(1, 1), source, alpha)))
          << dtype << " dim " << dim << " strided";
    }
  }
}

// The CUDA backend adds float32 rows (runs of a multiple of 4 floats, 16-byte
// aligned) four floats at a time with vector atomics (adds_float_quads). Small
// integer values keep every sum exact whatever order the atomics land in, so
// the CUDA result must equal the CPU's byte for byte: index_add_ (alpha 1 and
// 0.5) and index_put_ accumulate of whole rows (negative indices too), on
// both sides of the one-launch window, then a self whose rows start off a
// 16-byte boundary (the element-wise walk), then a bad index (nothing written).
TEST_P(ScatterCoverageTest, CudaFloatRowSumsEqualCpu) {
  if (GetParam() != "cuda") GTEST_SKIP() << "compares the CUDA result with the CPU one";
  std::mt19937 rng(111);
  for (int64_t rows : {3, 100, 5000, 40000}) {
    for (int64_t width : {4, 64}) {
      const int64_t self_rows = 1 + rows / 8;
      const Tensor self = random_values({self_rows, width}, kFloat32, kHost, rng);
      const Tensor source = random_values({rows, width}, kFloat32, kHost, rng);
      const Tensor index = random_index({rows}, self_rows, kHost, rng);
      for (const Scalar& alpha : {Scalar(1), Scalar(0.5)}) {
        EXPECT_EQ(host_bytes(self.to(dev()).index_add(0, index.to(dev()), source.to(dev()), alpha)),
                  host_bytes(self.index_add(0, index, source, alpha)))
            << "index_add_ rows " << rows << " width " << width;
      }
      std::vector<int64_t> wrapped = index.to_vector<int64_t>();
      for (int64_t& v : wrapped) v -= rng() % 2 == 0 ? self_rows : 0;
      const Tensor signed_index = from_vector<int64_t>(wrapped, {rows}, TensorOptions().dtype(kInt64).device(kHost));
      Tensor on_gpu = self.clone().to(dev());
      on_gpu.index_put_({signed_index.to(dev())}, source.to(dev()), true);
      Tensor on_cpu = self.clone();
      on_cpu.index_put_({signed_index}, source, true);
      EXPECT_EQ(host_bytes(on_gpu), host_bytes(on_cpu)) << "index_put_ accumulate rows " << rows << " width " << width;

      // Rows width + 1 floats apart: not 16-byte aligned.
      const Tensor padded = random_values({self_rows, width + 1}, kFloat32, kHost, rng);
      Tensor padded_gpu = padded.clone().to(dev());
      padded_gpu.narrow(1, 1, width).index_add_(0, index.to(dev()), source.to(dev()));
      Tensor padded_cpu = padded.clone();
      padded_cpu.narrow(1, 1, width).index_add_(0, index, source);
      EXPECT_EQ(host_bytes(padded_gpu), host_bytes(padded_cpu)) << "unaligned rows " << rows << " width " << width;

      std::vector<int64_t> bad = index.to_vector<int64_t>();
      bad[static_cast<size_t>(rng() % static_cast<uint64_t>(rows))] = self_rows;
      const Tensor bad_index = from_vector<int64_t>(bad, {rows}, TensorOptions().dtype(kInt64).device(kHost));
      Tensor target = self.clone().to(dev());
      const std::vector<uint8_t> before = host_bytes(target);
      EXPECT_THROW(target.index_add_(0, bad_index.to(dev()), source.to(dev())), IndexError);
      EXPECT_EQ(host_bytes(target), before) << "a bad index wrote rows " << rows << " width " << width;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, ScatterCoverageTest, scatter_devices(), device_name);

}  // namespace
}  // namespace strata
