// scatter_, scatter_add_, scatter_reduce_, gather, index_add_ and their
// out-of-place forms, against reference loops written here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "strata/strata.h"
#include "tests/ops/scatter_test_util.h"

namespace strata {
namespace {

using namespace scatter_test;

struct ScatterCase {
  Shape self_shape;
  Shape index_shape;
  Shape src_shape;  // >= index_shape in every dimension
  int64_t dim;
};

const std::vector<ScatterCase> kCases = {
    {{10}, {25}, {27}, 0},
    {{6, 7}, {9, 5}, {9, 6}, 0},
    {{6, 7}, {4, 12}, {5, 12}, 1},
    {{4, 5, 6}, {3, 8, 5}, {3, 9, 6}, 1},
    {{4, 5, 6}, {4, 5, 9}, {4, 5, 9}, -1},
};

class ScatterTest : public DeviceTest {};

TEST_P(ScatterTest, ScatterMatchesReferenceForEveryDtypeAndDim) {
  set_deterministic(true);  // duplicates: the last in index order wins, on every device
  std::mt19937 rng(1);
  for (DType dtype : kAllDTypes) {
    for (const ScatterCase& c : kCases) {
      const int64_t dim = c.dim < 0 ? c.dim + static_cast<int64_t>(c.self_shape.size()) : c.dim;
      Tensor self = random_values(c.self_shape, dtype, dev(), rng);
      Tensor index = random_index(c.index_shape, c.self_shape[static_cast<size_t>(dim)], dev(), rng);
      Tensor src = random_values(c.src_shape, dtype, dev(), rng);
      const auto expected = reference_scatter(host_values(self), c.self_shape, c.dim, host_values(index),
                                              c.index_shape, host_values(src), c.src_shape, "assign", true, dtype);
      Tensor out = self.scatter(c.dim, index, src);
      EXPECT_EQ(host_values(out), expected) << dtype << " dim " << c.dim;
      self.scatter_(c.dim, index, src);
      EXPECT_EQ(host_values(self), expected) << dtype << " dim " << c.dim;
    }
  }
}

TEST_P(ScatterTest, ScatterScalarWritesValueAtIndices) {
  std::mt19937 rng(2);
  for (DType dtype : {kInt32, kFloat16, kFloat32, kFloat64, kBool}) {
    const ScatterCase& c = kCases[3];
    Tensor self = random_values(c.self_shape, dtype, dev(), rng);
    Tensor index = random_index(c.index_shape, c.self_shape[1], dev(), rng);
    std::vector<double> ones(static_cast<size_t>(Tensor(index).numel()), 1.0);
    const auto expected = reference_scatter(host_values(self), c.self_shape, 1, host_values(index), c.index_shape,
                                            ones, c.index_shape, "assign", true, dtype);
    self.scatter_(1, index, Scalar(1));
    EXPECT_EQ(host_values(self), expected) << dtype;
  }
}

TEST_P(ScatterTest, ScatterAddSumsDuplicatesForEveryDtype) {
  std::mt19937 rng(3);
  for (DType dtype : kAllDTypes) {
    for (const ScatterCase& c : kCases) {
      const int64_t dim = c.dim < 0 ? c.dim + static_cast<int64_t>(c.self_shape.size()) : c.dim;
      Tensor self = random_values(c.self_shape, dtype, dev(), rng, 4);
      Tensor index = random_index(c.index_shape, c.self_shape[static_cast<size_t>(dim)], dev(), rng);
      Tensor src = random_values(c.src_shape, dtype, dev(), rng, 4);
      const auto expected = reference_scatter(host_values(self), c.self_shape, c.dim, host_values(index),
                                              c.index_shape, host_values(src), c.src_shape, "sum", true, dtype);
      EXPECT_EQ(host_values(scatter_add(self, c.dim, index, src)), expected) << dtype << " dim " << c.dim;
      self.scatter_add_(c.dim, index, src);
      EXPECT_EQ(host_values(self), expected) << dtype << " dim " << c.dim;
    }
  }
}

TEST_P(ScatterTest, ScatterReduceMatchesReference) {
  std::mt19937 rng(4);
  for (DType dtype : {kInt8, kInt32, kInt64, kFloat16, kBFloat16, kFloat32, kFloat64}) {
    for (const char* reduce : {"sum", "prod", "mean", "amax", "amin"}) {
      for (bool include_self : {true, false}) {
        for (const ScatterCase& c : kCases) {
          const int64_t dim = c.dim < 0 ? c.dim + static_cast<int64_t>(c.self_shape.size()) : c.dim;
          const int magnitude = std::string(reduce) == "prod" ? 2 : 8;
          Tensor self = random_values(c.self_shape, dtype, dev(), rng, magnitude);
          Tensor index = random_index(c.index_shape, c.self_shape[static_cast<size_t>(dim)], dev(), rng);
          Tensor src = random_values(c.src_shape, dtype, dev(), rng, magnitude);
          const auto expected =
              reference_scatter(host_values(self), c.self_shape, c.dim, host_values(index), c.index_shape,
                                host_values(src), c.src_shape, reduce, include_self, dtype);
          self.scatter_reduce_(c.dim, index, src, reduce, include_self);
          const auto got = host_values(self);
          ASSERT_EQ(got.size(), expected.size());
          for (size_t i = 0; i < got.size(); ++i) {
            const double tolerance = std::string(reduce) == "mean" ? 1e-2 * (1 + std::fabs(expected[i])) : 0.0;
            ASSERT_NEAR(got[i], expected[i], tolerance)
                << dtype << " " << reduce << " include_self " << include_self << " dim " << c.dim << " at " << i;
          }
        }
      }
    }
  }
}

TEST_P(ScatterTest, ScatterReduceAmaxLetsNanWin) {
  Tensor self = from_vector<float>({1.f, 2.f, 3.f}, opts(kFloat32));
  Tensor src = from_vector<float>({NAN, 5.f, 0.f}, opts(kFloat32));
  Tensor index = from_vector<int64_t>({0, 1, 2}, opts(kInt64));
  self.scatter_reduce_(0, index, src, "amax");
  const auto v = host_values(self);
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(v[1], 5.0);
  EXPECT_EQ(v[2], 3.0);
}

TEST_P(ScatterTest, GatherMatchesReferenceForEveryDtype) {
  std::mt19937 rng(5);
  for (DType dtype : kAllDTypes) {
    for (const ScatterCase& c : kCases) {
      const int64_t dim = c.dim < 0 ? c.dim + static_cast<int64_t>(c.self_shape.size()) : c.dim;
      Tensor self = random_values(c.self_shape, dtype, dev(), rng);
      // gather's index may exceed self along dim, not elsewhere.
      Shape index_shape = c.self_shape;
      index_shape[static_cast<size_t>(dim)] = c.index_shape[static_cast<size_t>(dim)];
      for (DType index_dtype : {kInt64, kInt32}) {
        Tensor index = random_index(index_shape, c.self_shape[static_cast<size_t>(dim)], dev(), rng).to(index_dtype);
        const auto self_values = host_values(self);
        const auto index_values = host_values(index);
        std::vector<double> expected;
        for_each_index(index_shape, [&](const std::vector<int64_t>& at) {
          std::vector<int64_t> source = at;
          source[static_cast<size_t>(dim)] = static_cast<int64_t>(index_values[static_cast<size_t>(linear_of(index_shape, at))]);
          expected.push_back(self_values[static_cast<size_t>(linear_of(c.self_shape, source))]);
        });
        Tensor out = gather(self, c.dim, index);
        EXPECT_EQ(out.sizes(), index_shape);
        EXPECT_EQ(host_values(out), expected) << dtype << " dim " << c.dim;
      }
    }
  }
}

TEST_P(ScatterTest, IndexAddMatchesReferenceWithAlpha) {
  std::mt19937 rng(6);
  for (DType dtype : {kBool, kUInt8, kInt8, kInt16, kInt32, kInt64, kFloat16, kBFloat16, kFloat32, kFloat64}) {
    for (int64_t dim : {0, 1, 2}) {
      const Shape self_shape = {5, 6, 7};
      Shape source_shape = self_shape;
      source_shape[static_cast<size_t>(dim)] = 11;
      Tensor self = random_values(self_shape, dtype, dev(), rng, 4);
      Tensor source = random_values(source_shape, dtype, dev(), rng, 4);
      Tensor index = random_index({11}, self_shape[static_cast<size_t>(dim)], dev(), rng);
      // Bool: "or" (alpha 1, PyTorch's default, is allowed); floats: a
      // fractional alpha, exact in every float type for these small values.
      const double alpha = dtype == kBool || dtype == kUInt8 ? 1.0 : is_floating_point(dtype) ? 0.5 : 2.0;
      const Scalar alpha_scalar = is_floating_point(dtype) ? Scalar(alpha) : Scalar(static_cast<int64_t>(alpha));
      const auto expected = reference_index_add(host_values(self), self_shape, dim, host_values(index),
                                                host_values(source), source_shape, alpha, dtype);
      EXPECT_EQ(host_values(self.index_add(dim, index, source, alpha_scalar)), expected) << dtype << " dim " << dim;
      self.index_add_(dim, index.to(kInt32), source, alpha_scalar);
      EXPECT_EQ(host_values(self), expected) << dtype << " dim " << dim;
    }
  }
}

// index_add_ converts alpha to self's dtype as PyTorch does (its checked
// conversion, with no rule of add_'s): a Boolean alpha counts as 1 or 0 on any
// self, a negative integer wraps into uint8, and an alpha the dtype cannot hold
// is refused before anything is written — for a 1-D self even with an empty
// index; a self of more dimensions, as in PyTorch, converts it only when the
// index is not empty.
TEST_P(ScatterTest, IndexAddAlphaIsConvertedToSelfsDtype) {
  std::mt19937 rng(61);
  const Shape self_shape = {9, 5};
  const Shape source_shape = {13, 5};
  for (DType dtype : {kInt32, kInt64, kFloat32, kFloat64}) {
    Tensor self = random_values(self_shape, dtype, dev(), rng);
    const Tensor source = random_values(source_shape, dtype, dev(), rng);
    const Tensor index = random_index({13}, 9, dev(), rng);
    const auto before = host_values(self);
    const auto plus = reference_index_add(before, self_shape, 0, host_values(index), host_values(source), source_shape,
                                          1.0, dtype);
    EXPECT_EQ(host_values(self.index_add(0, index, source, true)), plus) << dtype;
    EXPECT_EQ(host_values(self.index_add(0, index, source, false)), before) << dtype;
  }
  // uint8 with alpha -1: self - source, modulo 256.
  Tensor bytes = random_values(self_shape, kUInt8, dev(), rng, 100);
  const Tensor byte_source = random_values(source_shape, kUInt8, dev(), rng, 100);
  const Tensor index = random_index({13}, 9, dev(), rng);
  std::vector<double> expected = host_values(bytes);
  const std::vector<double> src = host_values(byte_source);
  const std::vector<double> idx = host_values(index);
  for (size_t i = 0; i < 13; ++i) {
    for (size_t c = 0; c < 5; ++c) {
      double& dst = expected[static_cast<size_t>(idx[i]) * 5 + c];
      dst = static_cast<double>(static_cast<uint8_t>(static_cast<int>(dst) - static_cast<int>(src[i * 5 + c])));
    }
  }
  bytes.index_add_(0, index, byte_source, -1);
  EXPECT_EQ(host_values(bytes), expected);
  // Refused, self unchanged: alphas the dtype cannot hold.
  struct Refused {
    DType dtype;
    Scalar alpha;
    const char* type;
  };
  for (const Refused& r : {Refused{kInt8, Scalar(300), "int8"}, Refused{kUInt8, Scalar(-1.5), "uint8"},
                           Refused{kUInt8, Scalar(-256), "uint8"}, Refused{kInt32, Scalar(1e10), "int32"},
                           Refused{kInt32, Scalar(INFINITY), "int32"}, Refused{kInt64, Scalar(NAN), "int64"},
                           Refused{kFloat16, Scalar(70000), "float16"}, Refused{kFloat32, Scalar(1e39), "float32"}}) {
    Tensor self = random_values(self_shape, r.dtype, dev(), rng);
    const Tensor source = random_values(source_shape, r.dtype, dev(), rng);
    const auto before = host_values(self);
    const std::string text = std::string("value cannot be converted to type ") + r.type + " without overflow";
    EXPECT_EQ(error_message<DTypeError>([&] { self.index_add_(0, index, source, r.alpha); }), text) << r.dtype;
    Tensor row = self.select(1, 2);
    EXPECT_EQ(error_message<DTypeError>([&] {
                row.index_add_(0, zeros({0}, opts(kInt64)), zeros({0}, opts(r.dtype)), r.alpha);
              }),
              text)
        << r.dtype << " (empty index, 1-D)";
    EXPECT_NO_THROW(self.index_add_(0, zeros({0}, opts(kInt64)), zeros({0, 5}, opts(r.dtype)), r.alpha)) << r.dtype;
    EXPECT_EQ(host_values(self), before) << r.dtype;
  }
  // An infinite alpha is a float32 value: accepted.
  Tensor floats = zeros({3}, opts(kFloat32));
  floats.index_add_(0, from_vector<int64_t>({1}, opts(kInt64)), full({1}, 2.0, opts(kFloat32)), INFINITY);
  EXPECT_EQ(host_values(floats), (std::vector<double>{0, INFINITY, 0}));
}

// A scalar the dtype cannot hold together with a bad index: PyTorch's CPU
// loops convert scatter_'s value (and index_add_'s alpha, for a self of two or
// more dimensions) element by element after checking that element's index, so
// a bad first index (coordinates 0, ..., 0) is reported and a bad index further
// on is not; a 1-D index_add_ converts alpha before any index; an empty index
// converts nothing. Self stays unchanged either way.
TEST_P(ScatterTest, ScalarThatDoesNotFitMeetsTheFirstIndexFirst) {
  std::mt19937 rng(static_cast<uint32_t>(::testing::UnitTest::GetInstance()->random_seed()));
  const std::string overflow = "value cannot be converted to type uint8 without overflow";
  for (int round = 0; round < 20; ++round) {
    const int64_t rows = 2 + static_cast<int64_t>(rng() % 6), cols = 1 + static_cast<int64_t>(rng() % 5);
    const bool along_cols = rng() % 2 == 0;
    const int64_t dim = along_cols ? 1 : 0, bound = along_cols ? cols : rows;
    Tensor self = random_values({rows, cols}, kUInt8, dev(), rng, 100);
    const auto before = host_values(self);
    // scatter_ of -1.5 through an index of self's shape, row-major or
    // transposed (its first element is the one at (0, 0) either way).
    const bool transposed = rng() % 2 == 0;
    const auto index_of = [&](const std::vector<int64_t>& v) {
      if (!transposed) return from_vector<int64_t>(v, Shape{rows, cols}, opts(kInt64));
      std::vector<int64_t> columns(v.size());
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) columns[static_cast<size_t>(j * rows + i)] = v[static_cast<size_t>(i * cols + j)];
      }
      return from_vector<int64_t>(columns, Shape{cols, rows}, opts(kInt64)).t();
    };
    std::vector<int64_t> values = random_index({rows, cols}, bound, dev(), rng).to_vector<int64_t>();
    const size_t later = 1 + rng() % (values.size() - 1);
    const int64_t bad = rng() % 2 == 0 ? bound + static_cast<int64_t>(rng() % 3) : -1 - static_cast<int64_t>(rng() % 3);
    values[later] = bad;
    const Tensor later_bad = index_of(values);
    EXPECT_EQ(error_message<DTypeError>([&] { self.scatter_(dim, later_bad, Scalar(-1.5)); }), overflow);
    values[0] = bad;
    const Tensor first_bad = index_of(values);
    const std::string bad_text = "index " + std::to_string(bad) + " is out of bounds for dimension " +
                                 std::to_string(dim) + " with size " + std::to_string(bound);
    EXPECT_EQ(error_message<IndexError>([&] { self.scatter_(dim, first_bad, Scalar(-1.5)); }), bad_text);
    EXPECT_EQ(error_message<IndexError>([&] { (void)self.scatter(dim, first_bad, Scalar(300)); }), bad_text);
    EXPECT_EQ(error_message<IndexError>([&] { self.scatter_(dim, first_bad, Scalar(7)); }), bad_text);
    EXPECT_NO_THROW(self.scatter_(dim, zeros({0, 0}, opts(kInt64)), Scalar(-1.5)));
    // index_add_ with alpha 300 along dim: the first index, then alpha.
    const int64_t n = 2 + static_cast<int64_t>(rng() % 4);
    const Tensor source = random_values(along_cols ? Shape{rows, n} : Shape{n, cols}, kUInt8, dev(), rng, 100);
    std::vector<int64_t> picks = random_index({n}, bound, dev(), rng).to_vector<int64_t>();
    picks[1 + rng() % (picks.size() - 1)] = bad;
    EXPECT_EQ(error_message<DTypeError>([&] { self.index_add_(dim, from_vector<int64_t>(picks, opts(kInt64)), source, 300); }),
              overflow);
    picks[0] = bad;
    const Tensor first_pick_bad = from_vector<int64_t>(picks, opts(kInt64));
    EXPECT_EQ(error_message<IndexError>([&] { self.index_add_(dim, first_pick_bad, source, 300); }), bad_text);
    EXPECT_EQ(error_message<IndexError>([&] { self.index_add_(dim, first_pick_bad.to(kInt32), source, -1.5); }),
              bad_text);
    // 1-D: alpha first.
    Tensor column = self.select(1 - dim, 0);
    EXPECT_EQ(error_message<DTypeError>([&] {
                column.index_add_(0, first_pick_bad, source.select(1 - dim, 0), 300);
              }),
              overflow);
    EXPECT_EQ(host_values(self), before) << "round " << round;
  }
}

// Float16/BFloat16 index_add_ with an alpha rounds as PyTorch's index_add_
// does: alpha to the dtype, alpha * src to the dtype, then the sum (computed in
// float) to the dtype, in index order (ScatterCoverageTest's
// IndexAddAlphaRoundsTheProductThenTheSum checks the small shapes): here
// 2^17 updates of a vector into 4096 slots, the size at which sums split into
// private copies, which for these dtypes are float and would skip the
// product's rounding. On a GPU the deterministic mode gives index order.
TEST_P(ScatterTest, HalfIndexAddRoundsAlphaAndTheProductToTheDtype) {
  std::mt19937 rng(64);
  const auto round_f = [](DType dtype, float v) { return static_cast<float>(round_to(dtype, static_cast<double>(v))); };
  constexpr int64_t kSlots = 4096;
  constexpr int64_t kUpdates = int64_t{1} << 17;
  for (const bool deterministic : {false, true}) {
    if (dev().is_cuda() && !deterministic) continue;  // atomics: any order
    set_deterministic(deterministic);
    for (DType dtype : {kFloat16, kBFloat16}) {
      for (const double alpha : {0.1, -2.7}) {
        Tensor self = random_floats({kSlots}, dtype, dev(), rng);
        const Tensor source = random_floats({kUpdates}, dtype, dev(), rng);
        const Tensor index = random_index({kUpdates}, kSlots, dev(), rng);
        std::vector<double> expected = host_values(self);
        const std::vector<double> src = host_values(source);
        const std::vector<double> idx = host_values(index);
        const float alpha_t = round_f(dtype, static_cast<float>(alpha));
        for (size_t i = 0; i < idx.size(); ++i) {
          double& dst = expected[static_cast<size_t>(idx[i])];
          dst = round_f(dtype, static_cast<float>(dst) + round_f(dtype, alpha_t * static_cast<float>(src[i])));
        }
        self.index_add_(0, index, source, alpha);
        EXPECT_EQ(host_values(self), expected) << dtype << " alpha " << alpha << (deterministic ? " deterministic" : "");
      }
    }
  }
}

TEST_P(ScatterTest, NonContiguousSelfSrcAndIndex) {
  std::mt19937 rng(7);
  // self transposed, src a stepped slice, index transposed.
  Tensor base = random_values({7, 6}, kFloat32, dev(), rng);
  Tensor self = base.t();  // [6, 7], strides (1, 6)
  Tensor src = random_values({10, 14}, kFloat32, dev(), rng).slice(1, 0, 14, 2);  // [10, 7]
  Tensor index = random_index({7, 5}, 6, dev(), rng).t();                        // [5, 7]
  const auto expected = reference_scatter(host_values(self), {6, 7}, 0, host_values(index), {5, 7},
                                          host_values(src), {10, 7}, "sum", true, kFloat32);
  const void* before = self.data_ptr();
  self.scatter_add_(0, index, src);
  EXPECT_EQ(self.data_ptr(), before);
  EXPECT_EQ(host_values(self), expected);
  EXPECT_EQ(host_values(base), host_values(self.t()));  // written through the view

  // gather from a non-contiguous self with an expanded index.
  Tensor index_row = random_index({1, 7}, 6, dev(), rng).expand({4, 7});
  const auto self_values = host_values(self);
  const auto index_values = host_values(index_row);
  std::vector<double> expected_gather;
  for_each_index({4, 7}, [&](const std::vector<int64_t>& at) {
    expected_gather.push_back(
        self_values[static_cast<size_t>(index_values[static_cast<size_t>(at[1])] * 7 + at[1])]);
  });
  EXPECT_EQ(host_values(self.gather(0, index_row)), expected_gather);
}

TEST_P(ScatterTest, InPlaceKeepsStorageAndDataPointer) {
  std::mt19937 rng(8);
  Tensor self = random_values({8, 8}, kFloat32, dev(), rng);
  const Storage storage = self.storage();
  const void* data = self.data_ptr();
  Tensor index = random_index({8, 8}, 8, dev(), rng);
  Tensor src = random_values({8, 8}, kFloat32, dev(), rng);
  self.scatter_(0, index, src);
  self.scatter_add_(1, index, src);
  self.scatter_reduce_(0, index, src, "mean", false);
  self.index_add_(0, index.select(1, 0), src);
  EXPECT_EQ(self.data_ptr(), data);
  EXPECT_TRUE(self.storage() == storage);
  EXPECT_EQ(&self.scatter_(0, index, Scalar(2.0)), &self);
}

TEST_P(ScatterTest, OutOfRangeIndexThrowsAndLeavesSelfUnchanged) {
  std::mt19937 rng(9);
  Tensor self = random_values({5, 4}, kFloat32, dev(), rng);
  Tensor src = random_values({6, 4}, kFloat32, dev(), rng);
  const auto before = host_bytes(self);
  for (int64_t bad : {5, 7, -1}) {
    std::vector<int64_t> idx = {0, 1, 2, 3, 4, 1, 2, 3, 0, 0, 0, 0};
    idx[9] = bad;  // late in index order: nothing before it may be written either
    Tensor index = from_vector<int64_t>(idx, {3, 4}, opts(kInt64));
    const std::string expected = "index " + std::to_string(bad) + " is out of bounds for dimension 0 with size 5";
    EXPECT_EQ(error_message<IndexError>([&] { self.scatter_(0, index, src); }), expected);
    EXPECT_EQ(error_message<IndexError>([&] { self.scatter_add_(0, index, src); }), expected);
    EXPECT_EQ(error_message<IndexError>([&] { self.scatter_reduce_(0, index, src, "amax", false); }), expected);
    EXPECT_EQ(error_message<IndexError>([&] { self.scatter_(0, index, Scalar(1)); }), expected);
    EXPECT_EQ(error_message<IndexError>([&] { (void)self.gather(0, index); }), expected);
    EXPECT_EQ(error_message<IndexError>([&] { self.index_add_(0, index.select(1, 1), src.narrow(0, 0, 3)); }),
              expected);
    EXPECT_EQ(host_bytes(self), before);
  }
  // The context stays usable: a good op right after works.
  Tensor good = from_vector<int64_t>({4, 0, 1, 2}, {1, 4}, opts(kInt64));
  self.scatter_(0, good, src);
  EXPECT_NE(host_bytes(self), before);
}

TEST_P(ScatterTest, EmptyIndexIsANoOp) {
  std::mt19937 rng(10);
  Tensor self = random_values({5, 4}, kFloat32, dev(), rng);
  const auto before = host_bytes(self);
  Tensor index = zeros({0, 4}, opts(kInt64));
  Tensor src = random_values({2, 4}, kFloat32, dev(), rng);
  self.scatter_(0, index, src);
  self.scatter_add_(0, index, src);
  self.scatter_reduce_(0, index, src, "prod", false);
  self.index_add_(0, zeros({0}, opts(kInt64)), zeros({0, 4}, opts(kFloat32)));
  EXPECT_EQ(host_bytes(self), before);
  EXPECT_EQ(self.gather(0, index).sizes(), (Shape{0, 4}));
  // PyTorch checks neither the dtype nor the shape of an empty index.
  self.scatter_(0, zeros({0}, opts(kFloat32)), ones({3}, opts(kFloat32)));
  self.scatter_add_(1, zeros({0, 9}, opts(kInt32)), src);
  self.scatter_reduce_(0, zeros({0}, opts(kInt32)), src, "amax");
  EXPECT_EQ(host_bytes(self), before);
  EXPECT_EQ(self.gather(0, zeros({0}, opts(kFloat32))).sizes(), (Shape{0}));
  // The self/src dtype rule still holds.
  EXPECT_EQ(error_message<DTypeError>([&] { self.scatter_(0, index, src.to(kFloat64)); }),
            "scatter(): Expected self.dtype to be equal to src.dtype");
}

TEST_P(ScatterTest, TheFirstBadIndexInIndexOrderIsNamed) {
  // Bad values at both ends of the range: the message names the first one in
  // index order (PyTorch's loops stop there), not the extreme the range found.
  std::mt19937 rng(14);
  Tensor self = random_values({5, 3}, kFloat32, dev(), rng);
  const auto before = host_bytes(self);
  for (const auto& [values, first] : std::vector<std::pair<std::vector<int64_t>, int64_t>>{
           {{0, -1, 2, 7, 1, 9}, -1}, {{4, 8, 0, -3, 1, 2}, 8}, {{1, 5, 3, 9, 0, -2}, 5}}) {  // neither extreme: 5 comes first
    Tensor index = from_vector<int64_t>(values, {2, 3}, opts(kInt64));
    Tensor src = random_values({2, 3}, kFloat32, dev(), rng);
    const std::string expected = "index " + std::to_string(first) + " is out of bounds for dimension 0 with size 5";
    EXPECT_EQ(error_message<IndexError>([&] { self.scatter_add_(0, index, src); }), expected);
    EXPECT_EQ(error_message<IndexError>([&] { (void)self.gather(0, index); }), expected);
    Tensor vector = from_vector<int64_t>({values[0], values[1], values[2], values[3]}, opts(kInt64));
    const int64_t first_in_vector = values[0] < 0 || values[0] >= 5   ? values[0]
                                    : values[1] < 0 || values[1] >= 5 ? values[1]
                                    : values[2] < 0 || values[2] >= 5 ? values[2]
                                                                      : values[3];
    EXPECT_EQ(error_message<IndexError>([&] { self.index_add_(0, vector, random_values({4, 3}, kFloat32, dev(), rng)); }),
              "index " + std::to_string(first_in_vector) + " is out of bounds for dimension 0 with size 5");
    EXPECT_EQ(host_bytes(self), before);
  }
}

TEST_P(ScatterTest, TheFirstBadIndexOfALongIndexIsNamed) {
  // The error path reads a long index back a chunk (1 Mi values) at a time:
  // the first bad value lies in a later chunk than the first, and a second one
  // (the range's extreme) further on; the index may be Int32 (index_add_) or a
  // transposed view.
  std::mt19937 rng(15);
  const int64_t n = (int64_t{1} << 21) + 5;
  Tensor self = random_values({100}, kFloat32, dev(), rng);
  const auto before = host_bytes(self);
  Tensor src = random_values({n}, kFloat32, dev(), rng);
  std::vector<int64_t> values = random_index({n}, 100, Device(DeviceType::CPU), rng).to_vector<int64_t>();
  values[(size_t{1} << 20) + 17] = -7;
  values[(size_t{1} << 21) + 2] = 100000;
  for (DType dtype : {kInt64, kInt32}) {
    Tensor index = from_vector<int64_t>(values, {n}, opts(kInt64)).to(dtype);
    EXPECT_EQ(error_message<IndexError>([&] { self.index_add_(0, index, src); }),
              "index -7 is out of bounds for dimension 0 with size 100")
        << dtype;
    if (dtype == kInt64) {
      EXPECT_EQ(error_message<IndexError>([&] { self.scatter_add_(0, index, src); }),
                "index -7 is out of bounds for dimension 0 with size 100");
      // gather checks in the loop that reads (its threads each meet a bad value
      // or none); the message still names the first in index order.
      EXPECT_EQ(error_message<IndexError>([&] { (void)self.gather(0, index); }),
                "index -7 is out of bounds for dimension 0 with size 100");
    }
    EXPECT_EQ(host_bytes(self), before);
  }
  // A transposed index: index order (row-major over its shape) is not memory
  // order. Memory holds 100000 first; index order meets -7 first.
  const int64_t m = (int64_t{1} << 19) + 1;
  std::vector<int64_t> columns = random_index({4 * m}, 100, Device(DeviceType::CPU), rng).to_vector<int64_t>();
  columns[static_cast<size_t>(0 * m + 3)] = 100000;  // (row 3, col 0): index position 12
  columns[static_cast<size_t>(1 * m + 2)] = -7;      // (row 2, col 1): index position 9
  Tensor transposed = from_vector<int64_t>(columns, {4, m}, opts(kInt64)).t();
  Tensor matrix = random_values({100, 4}, kFloat32, dev(), rng);
  const auto matrix_before = host_bytes(matrix);
  EXPECT_EQ(error_message<IndexError>(
                [&] { matrix.scatter_add_(0, transposed, random_values({m, 4}, kFloat32, dev(), rng)); }),
            "index -7 is out of bounds for dimension 0 with size 100");
  EXPECT_EQ(error_message<IndexError>([&] { (void)matrix.gather(0, transposed); }),
            "index -7 is out of bounds for dimension 0 with size 100");
  EXPECT_EQ(host_bytes(matrix), matrix_before);
  // Wild values in a gather from a 4 MiB self, whose loop prefetches
  // destinations from indices it has not checked yet.
  const int64_t slots = int64_t{1} << 20;
  Tensor big = random_values({slots}, kFloat32, dev(), rng);
  for (int64_t wild : {int64_t{1} << 62, std::numeric_limits<int64_t>::min(), -slots - 1}) {
    std::vector<int64_t> wild_values = random_index({4096}, slots, Device(DeviceType::CPU), rng).to_vector<int64_t>();
    wild_values[2000] = wild;
    EXPECT_EQ(error_message<IndexError>([&] { (void)big.gather(0, from_vector<int64_t>(wild_values, opts(kInt64))); }),
              "index " + std::to_string(wild) + " is out of bounds for dimension 0 with size " + std::to_string(slots));
  }
}

TEST_P(ScatterTest, ZeroDimTensorsActAsOneElement) {
  Tensor self = full({}, 3.0, opts(kFloat32));
  Tensor index = full({}, 0, opts(kInt64));
  Tensor src = full({}, 4.0, opts(kFloat32));
  self.scatter_add_(0, index, src);
  EXPECT_EQ(self.item<float>(), 7.0f);
  EXPECT_EQ(self.gather(0, index).item<float>(), 7.0f);
}

TEST_P(ScatterTest, ChecksFollowPyTorchTexts) {
  Tensor self = zeros({5, 4}, opts(kFloat32));
  Tensor index = zeros({2, 4}, opts(kInt64));
  Tensor src = ones({2, 4}, opts(kFloat32));
  EXPECT_EQ(error_message<DTypeError>([&] { self.scatter_(0, index.to(kInt32), src); }),
            "scatter(): Expected dtype int64 for index");
  EXPECT_EQ(error_message<DTypeError>([&] { self.scatter_add_(0, index, src.to(kFloat64)); }),
            "scatter(): Expected self.dtype to be equal to src.dtype");
  // Every variant is "scatter()" in PyTorch's messages.
  EXPECT_EQ(error_message<DTypeError>([&] { self.scatter_add_(0, index.to(kFloat32), src); }),
            "scatter(): Expected dtype int64 for index");
  EXPECT_EQ(error_message<DTypeError>([&] { self.scatter_reduce_(0, index, src.to(kFloat64), "sum"); }),
            "scatter(): Expected self.dtype to be equal to src.dtype");
  EXPECT_EQ(error_message<ShapeError>([&] { self.scatter_(0, zeros({2}, opts(kInt64)), src); }),
            "Index tensor must have the same number of dimensions as self tensor");
  EXPECT_EQ(error_message<ShapeError>([&] { self.scatter_(0, index, ones({8}, opts(kFloat32))); }),
            "Index tensor must have the same number of dimensions as src tensor");
  EXPECT_EQ(error_message<ShapeError>([&] { self.scatter_(0, zeros({2, 5}, opts(kInt64)), ones({2, 5}, opts(kFloat32))); }),
            "Expected index [2, 5] to be smaller than self [5, 4] apart from dimension 0 and to be smaller size "
            "than src [2, 5]");
  EXPECT_EQ(error_message<ShapeError>([&] { self.scatter_(0, zeros({3, 4}, opts(kInt64)), src); }),
            "Expected index [3, 4] to be smaller than self [5, 4] apart from dimension 0 and to be smaller size "
            "than src [2, 4]");
  EXPECT_EQ(error_message<IndexError>([&] { self.scatter_(2, index, src); }),
            "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_EQ(error_message<ValueError>([&] { self.scatter_reduce_(0, index, src, "max"); }),
            "reduce argument must be either sum, prod, mean, amax or amin, got max");
  EXPECT_EQ(error_message<DTypeError>([&] { (void)self.gather(0, index.to(kFloat32)); }),
            "gather(): Expected dtype int32/int64 for index");
  EXPECT_EQ(error_message<ShapeError>([&] { (void)self.gather(1, zeros({6, 2}, opts(kInt64))); }),
            "Size does not match at dimension 0 expected index [6, 2] to be smaller than self [5, 4] apart from "
            "dimension 1");
  EXPECT_EQ(error_message<IndexError>([&] { self.index_add_(0, zeros({2, 1}, opts(kInt64)), src); }),
            "index_add_(): Index is supposed to be a vector, but got dim: 2 with type: Long and size: [2, 1]");
  EXPECT_EQ(error_message<DTypeError>([&] { self.index_add_(0, zeros({2}, opts(kFloat32)), src); }),
            "index_add_(): Expected dtype int32/int64 for index but got: Float");
  EXPECT_EQ(error_message<IndexError>([&] { self.index_add_(0, zeros({3}, opts(kInt64)), src); }),
            "index_add_(): Number of indices (3) should be equal to source.size(dim): (2), for dim: 0");
  EXPECT_EQ(error_message<DTypeError>([&] { self.index_add_(0, zeros({2}, opts(kInt64)), src.to(kFloat64)); }),
            "index_add_(): self (Float) and source (Double) must have the same scalar type");
  EXPECT_EQ(error_message<ShapeError>([&] { self.index_add_(0, zeros({2}, opts(kInt64)), ones({2, 3}, opts(kFloat32))); }),
            "source tensor shape must match self tensor shape, excluding the specified dimension. Got self.shape "
            "= [5, 4] source.shape = [2, 3]");
  EXPECT_EQ(error_message<IndexError>([&] { self.index_add_(1, zeros({1}, opts(kInt64)), ones({1}, opts(kFloat32))); }),
            "index_add_(): Indexing dim 1 is out of bounds of the source tensor with dim 1");
  // Unlike add_, index_add_ takes a floating alpha for an integer self and
  // truncates it, as PyTorch does.
  Tensor ints = zeros({5}, opts(kInt32));
  ints.index_add_(0, from_vector<int64_t>({1, 3}, opts(kInt64)), full({2}, 3, opts(kInt32)), 2.5);
  EXPECT_EQ(host_values(ints), (std::vector<double>{0, 6, 0, 6, 0}));
  ints.index_add_(0, from_vector<int64_t>({1}, opts(kInt64)), full({1}, 3, opts(kInt32)), 0.5);
  EXPECT_EQ(host_values(ints), (std::vector<double>{0, 6, 0, 6, 0}));
  // A scalar that does not fit self's dtype is refused, as by fill_.
  Tensor bytes = zeros({4}, opts(kUInt8));
  EXPECT_EQ(error_message<DTypeError>([&] { bytes.scatter_(0, zeros({1}, opts(kInt64)), Scalar(300)); }),
            "value cannot be converted to type uint8 without overflow");
  EXPECT_EQ(error_message<DTypeError>([&] { bytes.index_put_({zeros({1}, opts(kInt64))}, Scalar(300)); }),
            "value cannot be converted to type uint8 without overflow");
  EXPECT_EQ(host_values(bytes), (std::vector<double>{0, 0, 0, 0}));
  EXPECT_EQ(error_message<DTypeError>([&] {
              zeros({3}, opts(kBool)).scatter_reduce_(0, zeros({1}, opts(kInt64)), ones({1}, opts(kBool)), "mean");
            }),
            "scatter_reduce(): reduce \"mean\" is not supported for Bool tensors");
}

// scatter_reduce_ checks its operands (dim, dtypes, shapes, overlap) before
// the reduction's name, as PyTorch does, and the name before index values.
TEST_P(ScatterTest, ScatterReduceChecksTheOperandsBeforeTheReductionsName) {
  std::mt19937 rng(62);
  Tensor self = random_values({5, 4}, kFloat32, dev(), rng);
  const auto before = host_values(self);
  const Tensor index = random_index({2, 4}, 5, dev(), rng);
  const Tensor src = random_values({2, 4}, kFloat32, dev(), rng);
  EXPECT_EQ(error_message<DTypeError>([&] { self.scatter_reduce_(0, index, src.to(kFloat64), "max"); }),
            "scatter(): Expected self.dtype to be equal to src.dtype");
  EXPECT_EQ(error_message<DTypeError>([&] { self.scatter_reduce_(0, index.to(kInt32), src, "max"); }),
            "scatter(): Expected dtype int64 for index");
  EXPECT_EQ(error_message<IndexError>([&] { self.scatter_reduce_(2, index, src, "max"); }),
            "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_EQ(error_message<OverlapError>([&] { self.scatter_reduce_(0, index, self.narrow(0, 0, 2), "max"); }),
            "unsupported operation: some elements of the input tensor and the written-to tensor refer to a single "
            "memory location. Please clone() the tensor before performing the operation.");
  const Tensor bad_value = from_vector<int64_t>({0, 1, 2, 3, 4, 5, 6, 7}, {2, 4}, opts(kInt64));
  EXPECT_EQ(error_message<ValueError>([&] { self.scatter_reduce_(0, bad_value, src, "max"); }),
            "reduce argument must be either sum, prod, mean, amax or amin, got max");
  Tensor flags = zeros({3}, opts(kBool));
  EXPECT_EQ(error_message<DTypeError>([&] {
              flags.scatter_reduce_(0, zeros({1}, opts(kInt64)), ones({1}, opts(kUInt8)), "mean");
            }),
            "scatter(): Expected self.dtype to be equal to src.dtype");
  EXPECT_EQ(host_values(self), before);
  EXPECT_EQ(host_values(flags), (std::vector<double>{0, 0, 0}));
}

// A negative integer value wraps into uint8 (-1 is 255), as PyTorch's checked
// conversion allows; a negative float or -256 is refused.
TEST_P(ScatterTest, NegativeIntegerValuesWrapIntoUInt8) {
  std::mt19937 rng(63);
  Tensor bytes = random_values({40}, kUInt8, dev(), rng, 100);
  const Tensor index = random_index({12}, 40, dev(), rng);
  std::vector<double> expected = host_values(bytes);
  for (double i : host_values(index)) expected[static_cast<size_t>(i)] = 255;
  Tensor scattered = bytes.scatter(0, index, Scalar(-1));
  EXPECT_EQ(host_values(scattered), expected);
  for (double i : host_values(index)) expected[static_cast<size_t>(i)] = 56;
  bytes.index_put_({index}, Scalar(-200));
  EXPECT_EQ(host_values(bytes), expected);
  const auto before = host_values(bytes);
  EXPECT_EQ(error_message<DTypeError>([&] { bytes.scatter_(0, index, Scalar(-256)); }),
            "value cannot be converted to type uint8 without overflow");
  EXPECT_EQ(error_message<DTypeError>([&] { bytes.index_put_({index}, Scalar(-0.5)); }),
            "value cannot be converted to type uint8 without overflow");
  EXPECT_EQ(host_values(bytes), before);
}

TEST_P(ScatterTest, OverlapOfSelfWithSrcOrIndexIsRefused) {
  Tensor self = zeros({4, 4}, opts(kFloat32));
  Tensor index = zeros({4, 4}, opts(kInt64));
  const std::string partial =
      "unsupported operation: some elements of the input tensor and the written-to tensor refer to a single "
      "memory location. Please clone() the tensor before performing the operation.";
  EXPECT_EQ(error_message<OverlapError>([&] { self.scatter_add_(0, index, self); }), partial);
  EXPECT_EQ(error_message<OverlapError>([&] { self.index_add_(0, index.select(1, 0), self); }), partial);
  Tensor long_self = zeros({4, 4}, opts(kInt64));
  EXPECT_EQ(error_message<OverlapError>([&] { long_self.scatter_(0, long_self, Scalar(1)); }), partial);
  Tensor expanded = zeros({1, 4}, opts(kFloat32)).expand({4, 4});
  EXPECT_EQ(error_message<OverlapError>([&] { expanded.scatter_(0, index, Scalar(1)); }),
            "unsupported operation: more than one element of the written-to tensor refers to a single memory "
            "location. Please clone() the tensor before performing the operation.");
}

TEST_P(ScatterTest, IndexAndSourceViewsOfSelfAreReadBeforeAnythingIsWritten) {
  // self, its index and its source are strided views of one Int64 buffer: not
  // dense, so the overlap check cannot classify them (PyTorch's "too hard")
  // and lets them through. Each value must be read as it was before the op
  // wrote anything: read again after a write through self, an index checked
  // before writing could point anywhere (position 0 writes a source value of
  // 50 or more into the element that is position 1's index).
  set_deterministic(true);  // scatter_ and index_put_: the last value in index order wins on CUDA too
  constexpr int64_t n = 8;
  const auto at = [](int64_t i) { return static_cast<size_t>(2 * i); };  // self[i] is buf[2 i]
  struct Case {
    const char* name;
    bool source_is_self;  // else the index is self
    std::function<void(const Tensor& self, const Tensor& index, const Tensor& src)> op;
    std::function<void(std::vector<int64_t>& out, int64_t slot, int64_t value)> update;
  };
  const auto assign = [&](std::vector<int64_t>& out, int64_t slot, int64_t value) { out[at(slot)] = value; };
  const auto add = [&](std::vector<int64_t>& out, int64_t slot, int64_t value) { out[at(slot)] += value; };
  const std::vector<Case> cases = {
      {"scatter_", false, [](const Tensor& s, const Tensor& i, const Tensor& v) { s.scatter_(0, i, v); }, assign},
      {"scatter_add_", false, [](const Tensor& s, const Tensor& i, const Tensor& v) { s.scatter_add_(0, i, v); }, add},
      {"scatter_reduce_ amax without self", false,
       [](const Tensor& s, const Tensor& i, const Tensor& v) { s.scatter_reduce_(0, i, v, "amax", false); },
       nullptr},  // its first pass writes the lowest int64 into every indexed slot
      {"index_put_", false, [](const Tensor& s, const Tensor& i, const Tensor& v) { s.index_put_({i}, v); }, assign},
      {"index_put_ accumulate", false,
       [](const Tensor& s, const Tensor& i, const Tensor& v) { s.index_put_({i}, v, true); }, add},
      {"index_add_ alpha 2", false, [](const Tensor& s, const Tensor& i, const Tensor& v) { s.index_add_(0, i, v, 2); },
       [&](std::vector<int64_t>& out, int64_t slot, int64_t value) { out[at(slot)] += 2 * value; }},
      {"scatter_add_ of self", true, [](const Tensor& s, const Tensor& i, const Tensor& v) { s.scatter_add_(0, i, v); },
       add},
      {"index_put_ of self", true, [](const Tensor& s, const Tensor& i, const Tensor& v) { s.index_put_({i}, v); },
       assign},
  };
  std::mt19937 rng(31);
  for (const Case& c : cases) {
    for (int round = 0; round < 10; ++round) {
      SCOPED_TRACE(std::string(c.name) + ", round " + std::to_string(round));
      std::vector<int64_t> buf(4 * n);
      for (int64_t& v : buf) v = static_cast<int64_t>(rng() % n);  // every element a valid index into self
      std::vector<int64_t> fresh_index(n), fresh_src(n);
      for (int64_t& v : fresh_index) v = static_cast<int64_t>(rng() % n);
      for (int64_t& v : fresh_src) v = 50 + static_cast<int64_t>(rng() % 1000);
      const Tensor storage = from_vector<int64_t>(buf, {4 * n}, opts(kInt64));
      const Tensor self = storage.slice(0, 0, 2 * n, 2);
      const Tensor alias = storage.slice(0, 0, 2 * n, 2);  // the same elements, another view
      ASSERT_FALSE(self.is_same(alias));
      // The reference reads every operand before writing.
      std::vector<int64_t> index(n), src(n);
      for (int64_t i = 0; i < n; ++i) {
        index[static_cast<size_t>(i)] = c.source_is_self ? fresh_index[static_cast<size_t>(i)] : buf[at(i)];
        src[static_cast<size_t>(i)] = c.source_is_self ? buf[at(i)] : fresh_src[static_cast<size_t>(i)];
      }
      std::vector<int64_t> expected = buf;
      if (c.update) {
        for (int64_t j = 0; j < n; ++j) c.update(expected, index[static_cast<size_t>(j)], src[static_cast<size_t>(j)]);
      } else {
        std::map<int64_t, int64_t> highest;
        for (int64_t j = 0; j < n; ++j) {
          auto [it, fresh] = highest.emplace(index[static_cast<size_t>(j)], src[static_cast<size_t>(j)]);
          if (!fresh) it->second = std::max(it->second, src[static_cast<size_t>(j)]);
        }
        for (const auto& [slot, value] : highest) expected[at(slot)] = value;
      }
      if (c.source_is_self) {
        c.op(self, from_vector<int64_t>(fresh_index, {n}, opts(kInt64)), alias);
      } else {
        c.op(self, alias, from_vector<int64_t>(fresh_src, {n}, opts(kInt64)));
      }
      ASSERT_EQ(storage.to_vector<int64_t>(), expected);
    }
  }
}

TEST_P(ScatterTest, IntegerSumsAndProductsWrapAround) {
  // Two's complement, as PyTorch's results: sums, alpha-scaled sums and
  // products past the type's range wrap (on the CPU never a signed overflow,
  // which UBSan would report; on a GPU the atomics wrap).
  std::mt19937 rng(17);
  for (DType dtype : {kInt32, kInt64}) {
    SCOPED_TRACE(dtype);
    const int bits = dtype == kInt32 ? 32 : 64;
    const auto wrap = [&](uint64_t v) {
      return bits == 32 ? static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(v))) : static_cast<int64_t>(v);
    };
    const int64_t big = bits == 32 ? int64_t{INT32_MAX} : INT64_MAX;
    constexpr int64_t n = 64, slots = 4;
    std::vector<int64_t> index(n), src(n), base(slots);
    for (int64_t j = 0; j < n; ++j) {
      index[static_cast<size_t>(j)] = static_cast<int64_t>(rng() % slots);
      src[static_cast<size_t>(j)] = big - static_cast<int64_t>(rng() % 1000);  // near the top: every add overflows
    }
    for (int64_t& v : base) v = big - static_cast<int64_t>(rng() % 1000);
    std::vector<int64_t> sum = base, scaled = base, product = base;
    for (int64_t j = 0; j < n; ++j) {
      const size_t s = static_cast<size_t>(index[static_cast<size_t>(j)]);
      const uint64_t v = static_cast<uint64_t>(src[static_cast<size_t>(j)]);
      sum[s] = wrap(static_cast<uint64_t>(sum[s]) + v);
      scaled[s] = wrap(static_cast<uint64_t>(scaled[s]) + 3 * v);
      product[s] = wrap(static_cast<uint64_t>(product[s]) * v);
    }
    const Tensor idx = from_vector<int64_t>(index, {n}, opts(kInt64));
    const Tensor values = from_vector<int64_t>(src, {n}, opts(dtype));
    const Tensor self = from_vector<int64_t>(base, {slots}, opts(dtype));
    EXPECT_EQ(self.scatter_add(0, idx, values).to_vector<int64_t>(), sum);
    EXPECT_EQ(self.index_put({idx}, values, true).to_vector<int64_t>(), sum);
    EXPECT_EQ(self.index_add(0, idx, values, 3).to_vector<int64_t>(), scaled);
    EXPECT_EQ(self.scatter_reduce(0, idx, values, "prod").to_vector<int64_t>(), product);
  }
}

TEST_P(ScatterTest, FloatSumsOfSubnormals) {
  // Subnormal float32 values summed in index order, bit for bit: the CPU and
  // the GPU's sorted path add with IEEE rules (the GPU's float atomics of the
  // default path flush subnormals to zero, as PyTorch's CUDA kernels do).
  set_deterministic(true);
  std::mt19937 rng(23);
  constexpr int64_t n = 4096, slots = 8;
  std::vector<int64_t> index(n);
  std::vector<float> src(n), expected(slots, 0.0f);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (int64_t j = 0; j < n; ++j) {
    index[static_cast<size_t>(j)] = static_cast<int64_t>(rng() % slots);
    src[static_cast<size_t>(j)] = unit(rng) * 1e-39f;  // below FLT_MIN (1.18e-38): subnormal
  }
  for (int64_t j = 0; j < n; ++j) expected[static_cast<size_t>(index[static_cast<size_t>(j)])] += src[static_cast<size_t>(j)];
  const Tensor idx = from_vector<int64_t>(index, {n}, opts(kInt64));
  const Tensor values = from_vector<float>(src, {n}, opts(kFloat32));
  const auto bits = [](const std::vector<float>& v) {
    std::vector<uint32_t> out(v.size());
    std::memcpy(out.data(), v.data(), v.size() * sizeof(float));
    return out;
  };
  const Tensor base = zeros({slots}, opts(kFloat32));
  EXPECT_EQ(bits(base.index_add(0, idx, values).to_vector<float>()), bits(expected));
  EXPECT_EQ(bits(base.scatter_add(0, idx, values).to_vector<float>()), bits(expected));
  EXPECT_EQ(bits(base.index_put({idx}, values, true).to_vector<float>()), bits(expected));
  // The default mode, as the README says: the CPU keeps them; the GPU's
  // float32 atomic add flushes subnormal inputs and results to zero.
  set_deterministic(false);
  const Tensor one_each = from_vector<int64_t>({0, 1}, {2}, opts(kInt64));
  const Tensor tiny = from_vector<float>({1e-40f, -3e-40f}, {2}, opts(kFloat32));
  const std::vector<float> sums = zeros({2}, opts(kFloat32)).index_add(0, one_each, tiny).to_vector<float>();
  if (GetParam() == "cuda") {
    EXPECT_EQ(sums, (std::vector<float>{0.0f, 0.0f}));  // +0 or -0
  } else {
    EXPECT_EQ(bits(sums), bits({1e-40f, -3e-40f}));
  }
}

TEST_P(ScatterTest, DeterministicModeGivesIdenticalBitsRunAfterRun) {
  set_deterministic(true);
  std::mt19937 rng(11);
  const int64_t n = 1 << 16;
  Tensor index = random_index({n}, 64, dev(), rng);
  for (DType dtype : {kFloat32, kFloat16, kBFloat16, kFloat64}) {
    Tensor src = random_floats({n}, dtype, dev(), rng);
    Tensor base = random_floats({64}, dtype, dev(), rng);
    const auto first = host_bytes(base.scatter_add(0, index, src));
    const auto first_mean = host_bytes(base.scatter_reduce(0, index, src, "mean"));
    for (int run = 0; run < 20; ++run) {
      ASSERT_EQ(host_bytes(base.scatter_add(0, index, src)), first) << dtype << " run " << run;
      ASSERT_EQ(host_bytes(base.scatter_reduce(0, index, src, "mean")), first_mean) << dtype << " run " << run;
    }
  }
}

TEST_P(ScatterTest, ResultsDoNotDependOnThreadCount) {
  std::mt19937 rng(12);
  const int64_t n = 1 << 20;  // above the CPU's split threshold
  const int threads = get_num_threads();
  Tensor index = random_index({n}, 1000, dev(), rng);
  Tensor src = random_floats({n}, kFloat32, dev(), rng);
  Tensor base = random_floats({1000}, kFloat32, dev(), rng);
  Tensor index2 = random_index({n / 64, 64}, 100, dev(), rng);
  Tensor src2 = random_floats({n / 64, 64}, kFloat32, dev(), rng);
  Tensor base2 = random_floats({100, 64}, kFloat32, dev(), rng);
  // On a GPU the thread count is moot; the sorted path must give the same bits.
  if (gpu_logic()) set_deterministic(true);
  set_num_threads(1);
  const auto serial = host_bytes(base.scatter_add(0, index, src));
  const auto serial2 = host_bytes(base2.scatter_add(0, index2, src2));
  const auto serial3 = host_bytes(base2.scatter(0, index2, src2));
  for (int t : {2, 3, 4}) {
    set_num_threads(t);
    EXPECT_EQ(host_bytes(base.scatter_add(0, index, src)), serial) << t << " threads";
    EXPECT_EQ(host_bytes(base2.scatter_add(0, index2, src2)), serial2) << t << " threads";
    EXPECT_EQ(host_bytes(base2.scatter(0, index2, src2)), serial3) << t << " threads";
  }
  set_num_threads(threads);
}

// Many additions into a small target: on the CPU the updates are summed in a
// fixed number of parts (kernels/cpu/scatter.cpp), each index checked in the
// pass that applies it. Integer sums are exact; float sums are close to the
// serial ones and the same bits for any thread count.
TEST_P(ScatterTest, ManyAdditionsIntoFewSlotsMatchTheReference) {
  std::mt19937 rng(31);
  const int64_t n = (int64_t{1} << 17) + 77;  // parts of unequal length
  const int64_t slots = 997;
  const int threads = get_num_threads();
  const bool gpu = gpu_logic();
  for (DType dtype : {kInt32, kInt64, kFloat32, kFloat64}) {
    // On "cpu-sorted" the exact sums too go through the sorted path's steps.
    set_deterministic(GetParam() == "cpu-sorted");
    Tensor index = random_index({n}, slots, dev(), rng);
    Tensor src = random_values({n}, dtype, dev(), rng);
    Tensor base = random_values({slots}, dtype, dev(), rng);
    const auto expected = reference_scatter(host_values(base), {slots}, 0, host_values(index), {n},
                                            host_values(src), {n}, "sum", true, dtype);
    Tensor self = base.clone();
    const void* data = self.data_ptr();
    self.scatter_add_(0, index, src);
    EXPECT_EQ(self.data_ptr(), data);
    EXPECT_EQ(host_values(self), expected) << dtype;  // small integers: exact in every dtype
    Tensor floats = random_floats({n}, dtype, dev(), rng);
    const auto reference = reference_scatter(host_values(base), {slots}, 0, host_values(index), {n},
                                             host_values(floats), {n}, "sum", true, kFloat64);
    // On a GPU the default float sums are atomics in any order: the same bits
    // for every run are promised in deterministic mode (the sorted path).
    if (gpu) set_deterministic(true);
    set_num_threads(1);
    const Tensor one_thread = base.scatter_add(0, index, floats);
    const auto got = host_values(one_thread);
    for (size_t i = 0; i < got.size(); ++i) {
      const double tolerance = dtype == kFloat32 ? 1e-3 : is_floating_point(dtype) ? 1e-9 : 0.0;
      EXPECT_NEAR(got[i], reference[i], tolerance) << dtype << " slot " << i;
    }
    for (int t : {2, 3}) {
      set_num_threads(t);
      EXPECT_EQ(host_bytes(base.scatter_add(0, index, floats)), host_bytes(one_thread)) << dtype << " " << t;
    }
    set_num_threads(threads);
    if (gpu) set_deterministic(false);
  }
}

TEST_P(ScatterTest, ManyAdditionsLeaveUntouchedSlotsBitForBit) {
  // Slots no index reaches keep their bits, -0.0 included.
  std::mt19937 rng(32);
  const int64_t n = int64_t{1} << 17;
  const int64_t slots = 4000;
  Tensor index = random_index({n}, slots / 2, dev(), rng);  // only the lower half is reached
  Tensor src = random_floats({n}, kFloat32, dev(), rng);
  Tensor self = full({slots}, -0.0, TensorOptions().dtype(kFloat32).device(dev()));
  self.scatter_add_(0, index, src);
  const auto bytes = host_bytes(self);
  const auto negative_zero = host_bytes(full({1}, -0.0, TensorOptions().dtype(kFloat32)));
  for (int64_t i = slots / 2; i < slots; ++i) {
    ASSERT_TRUE(std::equal(negative_zero.begin(), negative_zero.end(), bytes.begin() + 4 * i)) << "slot " << i;
  }
}

TEST_P(ScatterTest, ManyAdditionsWithABadIndexWriteNothing) {
  std::mt19937 rng(33);
  const int64_t n = int64_t{1} << 17;
  const int64_t slots = 1000;
  Tensor src = random_floats({n}, kFloat32, dev(), rng);
  Tensor self = random_floats({slots}, kFloat32, dev(), rng);
  const auto before = host_bytes(self);
  for (int64_t bad : {int64_t{1000}, int64_t{-1}, int64_t{1} << 40}) {
    for (int64_t at : {int64_t{0}, n / 2 + 3, n - 1}) {  // first part, a middle block, the very last update
      std::vector<int64_t> values = random_index({n}, slots, Device(DeviceType::CPU), rng).to_vector<int64_t>();
      values[static_cast<size_t>(at)] = bad;
      Tensor index = from_vector<int64_t>(values, {n}, TensorOptions().dtype(kInt64).device(dev()));
      EXPECT_EQ(error_message<IndexError>([&] { self.scatter_add_(0, index, src); }),
                "index " + std::to_string(bad) + " is out of bounds for dimension 0 with size " + std::to_string(slots));
      EXPECT_EQ(host_bytes(self), before) << bad << " at " << at;
    }
  }
  // Into an empty self every index is out of range: the first is named.
  Tensor empty = zeros({0}, opts(kFloat32));
  Tensor zeros_index = zeros({n}, opts(kInt64));
  EXPECT_EQ(error_message<IndexError>([&] { empty.scatter_add_(0, zeros_index, src); }),
            "index 0 is out of bounds for dimension 0 with size 0");
}

// The same route into a target bigger than a core's L2 (1 MiB of float32 and
// more), where the summing loop prefetches its destinations: sums right, a bad
// index anywhere writes nothing.
TEST_P(ScatterTest, ManyAdditionsIntoATargetBeyondL2) {
  std::mt19937 rng(35);
  const int64_t slots = (int64_t{1} << 18) + 3;
  const int64_t n = 8 * slots + 11;  // enough updates per slot for two parts
  const int threads = get_num_threads();
  for (DType dtype : {kInt32, kFloat32}) {
    Tensor index = random_index({n}, slots, dev(), rng);
    Tensor src = random_values({n}, dtype, dev(), rng);
    Tensor self = random_values({slots}, dtype, dev(), rng);
    std::vector<double> expected = host_values(self);
    const std::vector<int64_t> values = index.to_vector<int64_t>();
    const auto src_values = host_values(src);
    for (size_t j = 0; j < values.size(); ++j) expected[static_cast<size_t>(values[j])] += src_values[j];
    EXPECT_EQ(host_values(self.scatter_add(0, index, src)), expected) << dtype;  // small integers: exact
    const auto bytes = host_bytes(self.scatter_add(0, index, src));
    set_num_threads(3);
    EXPECT_EQ(host_bytes(self.scatter_add(0, index, src)), bytes) << dtype;
    set_num_threads(threads);
    const auto before = host_bytes(self);
    // At the start of a part's first block, inside a block (checked where the
    // loop prefetches it, 32 updates ahead), at the start of the second part,
    // the last update.
    for (int64_t at : {int64_t{5}, n / 4 + 1000, n / 2 + 1, n - 1}) {
      std::vector<int64_t> bad = values;
      bad[static_cast<size_t>(at)] = -slots - 1;
      Tensor bad_index = from_vector<int64_t>(bad, {n}, TensorOptions().dtype(kInt64).device(dev()));
      EXPECT_EQ(error_message<IndexError>([&] { self.scatter_add_(0, bad_index, src); }),
                "index " + std::to_string(-slots - 1) + " is out of bounds for dimension 0 with size " +
                    std::to_string(slots));
      EXPECT_EQ(host_bytes(self), before) << dtype << " bad at " << at;
    }
  }
}

// Many assignments into a small target, from 1 and 3 threads: the result must
// be the serial loop's, the last update in index order. On the CPU they are
// applied in parts, each into its own copy, merged in part order: a merge in
// the wrong order, or a slot a part did not write taken from its copy, breaks
// it.
// Assignments, maxima and (row, col) pairs into targets beyond L2 (the CPU's
// parts walk their copies with prefetches, checking each index where they
// prefetch its destination): the serial loop's result, and a bad value
// anywhere (the start of a block, inside one, the very last) writes nothing.
TEST_P(ScatterTest, AssignmentsMaximaAndPairsIntoATargetBeyondL2) {
  if (gpu_logic()) set_deterministic(true);  // one of the assigned values wins otherwise
  std::mt19937 rng(36);
  const int64_t slots = (int64_t{1} << 18) + 5;
  const int64_t n = 8 * slots + 7;  // enough updates per slot for two parts
  Tensor index = random_index({n}, slots, dev(), rng);
  const std::vector<int64_t> values = index.to_vector<int64_t>();
  Tensor src = random_values({n}, kFloat32, dev(), rng, 1000);
  const auto src_values = host_values(src);
  Tensor self = random_values({slots}, kFloat32, dev(), rng, 1000);
  std::vector<double> assigned = host_values(self);
  std::vector<double> maxima = assigned;
  for (size_t j = 0; j < values.size(); ++j) {
    const auto s = static_cast<size_t>(values[j]);
    assigned[s] = src_values[j];
    maxima[s] = std::max(maxima[s], src_values[j]);
  }
  EXPECT_EQ(host_values(self.scatter(0, index, src)), assigned);
  EXPECT_EQ(host_values(self.scatter_reduce(0, index, src, "amax")), maxima);
  // Pairs into a [512, 512] matrix, accumulated (small integers: exact sums).
  Tensor rows = random_index({n}, 512, dev(), rng);
  Tensor cols = random_index({n}, 512, dev(), rng);
  Tensor matrix = random_values({512, 512}, kFloat32, dev(), rng, 1000);
  std::vector<double> sums = host_values(matrix);
  const auto r = rows.to_vector<int64_t>(), c = cols.to_vector<int64_t>();
  for (size_t j = 0; j < r.size(); ++j) sums[static_cast<size_t>(r[j] * 512 + c[j])] += src_values[j];
  EXPECT_EQ(host_values(matrix.index_put({rows, cols}, src, true)), sums);

  const auto self_before = host_bytes(self);
  const auto matrix_before = host_bytes(matrix);
  for (int64_t at : {int64_t{0}, n / 4 + 1000, n / 2 + 2, n - 1}) {
    std::vector<int64_t> bad = values;
    bad[static_cast<size_t>(at)] = slots + 3;
    Tensor bad_index = from_vector<int64_t>(bad, {n}, TensorOptions().dtype(kInt64).device(dev()));
    const std::string expected =
        "index " + std::to_string(slots + 3) + " is out of bounds for dimension 0 with size " + std::to_string(slots);
    EXPECT_EQ(error_message<IndexError>([&] { self.scatter_(0, bad_index, src); }), expected) << at;
    EXPECT_EQ(error_message<IndexError>([&] { self.scatter_reduce_(0, bad_index, src, "amax"); }), expected) << at;
    EXPECT_EQ(host_bytes(self), self_before) << "bad at " << at;
    std::vector<int64_t> bad_cols = c;
    bad_cols[static_cast<size_t>(at)] = -513;
    Tensor bad_cols_index = from_vector<int64_t>(bad_cols, {n}, TensorOptions().dtype(kInt64).device(dev()));
    EXPECT_EQ(error_message<IndexError>([&] { matrix.index_put_({rows, bad_cols_index}, src, true); }),
              "index -513 is out of bounds for dimension 1 with size 512")
        << at;
    EXPECT_EQ(host_bytes(matrix), matrix_before) << "bad at " << at;
  }
  set_deterministic(false);
}

TEST_P(ScatterTest, ManyAssignmentsIntoFewSlotsKeepTheLastInIndexOrder) {
  if (gpu_logic()) set_deterministic(true);  // one of the values wins otherwise
  std::mt19937 rng(34);
  const int64_t n = (int64_t{1} << 19) + 5;  // enough for the CPU's parts
  const int64_t slots = 1000;
  const int threads = get_num_threads();
  for (DType dtype : {kInt8, kFloat16, kFloat32, kFloat64}) {  // every element size
    Tensor index = random_index({n}, slots, dev(), rng);
    Tensor src = random_values({n}, dtype, dev(), rng, 100);
    Tensor self = random_values({slots}, dtype, dev(), rng, 100);
    std::vector<double> expected = host_values(self);
    const auto index_values = host_values(index);
    const auto src_values = host_values(src);
    for (size_t j = 0; j < index_values.size(); ++j) expected[static_cast<size_t>(index_values[j])] = src_values[j];
    EXPECT_EQ(host_values(self.scatter(0, index, src)), expected) << dtype;
    {
      // The first half of the positions writes only the lower half of the
      // slots, the second half only the upper: a part's copy holds nothing
      // for the other half, and the merge must not take it.
      std::vector<int64_t> halves(index_values.begin(), index_values.end());
      std::vector<double> expected_halves = host_values(self);
      for (size_t j = 0; j < halves.size(); ++j) {
        halves[j] = halves[j] % (slots / 2) + (2 * j < halves.size() ? 0 : slots / 2);
        expected_halves[static_cast<size_t>(halves[j])] = src_values[j];
      }
      Tensor halves_index = from_vector<int64_t>(halves, {n}, TensorOptions().dtype(kInt64).device(dev()));
      EXPECT_EQ(host_values(self.scatter(0, halves_index, src)), expected_halves) << dtype;
    }
    const auto bytes = host_bytes(self.scatter(0, index, src));
    for (int t : {1, 3}) {
      set_num_threads(t);
      EXPECT_EQ(host_bytes(self.scatter(0, index, src)), bytes) << dtype << ", " << t << " threads";
    }
    set_num_threads(threads);
    // index_put_ of (row, col) pairs into a small matrix takes the same route.
    Tensor rows = random_index({n}, 20, dev(), rng);
    Tensor cols = random_index({n}, 50, dev(), rng);
    Tensor matrix = random_values({20, 50}, dtype, dev(), rng, 100);
    std::vector<double> expected_matrix = host_values(matrix);
    const auto r = host_values(rows), c = host_values(cols);
    for (size_t j = 0; j < r.size(); ++j) expected_matrix[static_cast<size_t>(r[j] * 50 + c[j])] = src_values[j];
    EXPECT_EQ(host_values(matrix.index_put({rows, cols}, src)), expected_matrix) << dtype;
    // A bad index in the last block: nothing written.
    std::vector<int64_t> bad = index.to_vector<int64_t>();
    bad[static_cast<size_t>(n - 2)] = slots;
    const auto before = host_bytes(self);
    EXPECT_EQ(error_message<IndexError>([&] { self.scatter_(0, from_vector<int64_t>(bad, opts(kInt64)), src); }),
              "index 1000 is out of bounds for dimension 0 with size 1000");
    EXPECT_EQ(host_bytes(self), before) << dtype;
  }
}

// scatter_reduce_ "amax", "amin" and "prod" of many updates into few slots
// (on the CPU: the partial route, parts of the updates into private copies
// merged in order): amax and amin give the serial loop's bits, ties of -0.0
// and +0.0 and NaNs included (on a GPU in deterministic mode; its atomics
// give the same values, NaN where the loop's is); products match the reference and do not depend
// on the thread count, and in deterministic mode are the serial loop's bits;
// a bad index anywhere writes nothing.
TEST_P(ScatterTest, ManyReductionsIntoFewSlotsMatchTheSerialLoop) {
  std::mt19937 rng(35);
  const int64_t n = (int64_t{1} << 17) + 77;
  const int64_t slots = 997;
  const int threads = get_num_threads();
  const bool gpu = gpu_logic();
  Tensor index = random_index({n}, slots, dev(), rng);
  const auto index_values = index.to_vector<int64_t>();
  for (const char* reduce : {"amax", "amin"}) {
    // On "cpu-sorted" the dtype sweep too goes through the sorted path's steps.
    set_deterministic(GetParam() == "cpu-sorted");
    for (DType dtype : kAllDTypes) {
      Tensor src = random_values({n}, dtype, dev(), rng, 100);
      Tensor self = random_values({slots}, dtype, dev(), rng, 100);
      const auto expected = reference_scatter(host_values(self), {slots}, 0, host_values(index), {n},
                                              host_values(src), {n}, reduce, true, dtype);
      const void* data = self.data_ptr();
      self.scatter_reduce_(0, index, src, reduce);
      EXPECT_EQ(self.data_ptr(), data);
      EXPECT_EQ(host_values(self), expected) << reduce << " " << dtype;
    }
    // Float32 bits: signed zeros tie (the first one in index order stays) and
    // NaNs win (the last one in index order stays), as in the serial loop.
    std::vector<float> src_values(static_cast<size_t>(n)), self_values(static_cast<size_t>(slots));
    for (auto& v : self_values) v = (rng() % 2) != 0 ? 0.0f : -0.0f;
    for (size_t j = 0; j < src_values.size(); ++j) {
      const uint32_t pick = rng() % 1000;
      float v = pick < 450 ? 0.0f : pick < 900 ? -0.0f : static_cast<float>(rng() % 7) * (reduce[2] == 'a' ? -1.f : 1.f);
      if (pick >= 998) {
        const uint32_t nan_bits = 0x7fc00000u | static_cast<uint32_t>(j & 0xffff);  // a payload per position
        std::memcpy(&v, &nan_bits, sizeof v);
      }
      src_values[j] = v;
    }
    std::vector<float> serial = self_values;
    for (size_t j = 0; j < src_values.size(); ++j) {
      float& a = serial[static_cast<size_t>(index_values[j])];
      const float b = src_values[j];
      const bool take = std::isnan(b) || (reduce[2] == 'a' ? b > a : b < a);
      if (take) a = b;
    }
    Tensor src = from_vector<float>(src_values, opts(kFloat32));
    if (gpu) {
      // GPU atomics meet the values in any order: which NaN and which zero
      // stay is not fixed, but a slot is NaN exactly where the loop's is and
      // equal to it elsewhere. Deterministic mode gives the loop's bits.
      Tensor self = from_vector<float>(self_values, opts(kFloat32));
      self.scatter_reduce_(0, index, src, reduce);
      const auto got = self.to_vector<float>();
      for (size_t i = 0; i < serial.size(); ++i) {
        ASSERT_EQ(std::isnan(got[i]), std::isnan(serial[i])) << reduce << " slot " << i;
        if (!std::isnan(serial[i])) ASSERT_EQ(got[i], serial[i]) << reduce << " slot " << i;
      }
      set_deterministic(true);
    }
    for (int t : {1, 2, 3}) {
      set_num_threads(t);
      Tensor self = from_vector<float>(self_values, opts(kFloat32));
      self.scatter_reduce_(0, index, src, reduce);
      const auto got = self.to_vector<float>();
      ASSERT_EQ(std::memcmp(got.data(), serial.data(), serial.size() * sizeof(float)), 0)
          << reduce << ", " << t << " threads";
    }
    set_num_threads(threads);
    set_deterministic(false);
  }
  // Products of values near 1 (no overflow): near the reference in any mode,
  // the same bits for any thread count, the serial loop's in deterministic mode.
  std::uniform_real_distribution<float> near_one(0.999f, 1.001f);
  std::vector<float> factors(static_cast<size_t>(n)), start(static_cast<size_t>(slots));
  for (auto& v : factors) v = near_one(rng);
  for (auto& v : start) v = near_one(rng);
  std::vector<double> exact(start.begin(), start.end());
  std::vector<float> serial = start;
  for (size_t j = 0; j < factors.size(); ++j) {
    exact[static_cast<size_t>(index_values[j])] *= factors[j];
    serial[static_cast<size_t>(index_values[j])] *= factors[j];
  }
  Tensor src = from_vector<float>(factors, opts(kFloat32));
  const Tensor base = from_vector<float>(start, opts(kFloat32));
  if (gpu) set_deterministic(true);  // GPU atomics multiply in any order otherwise
  const Tensor product = base.scatter_reduce(0, index, src, "prod");
  const auto got = product.to_vector<float>();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], exact[i], 1e-4) << "slot " << i;
  for (int t : {1, 3}) {
    set_num_threads(t);
    EXPECT_EQ(host_bytes(base.scatter_reduce(0, index, src, "prod")), host_bytes(product)) << t << " threads";
  }
  set_num_threads(threads);
  set_deterministic(true);
  const auto ordered = base.scatter_reduce(0, index, src, "prod").to_vector<float>();
  EXPECT_EQ(std::memcmp(ordered.data(), serial.data(), serial.size() * sizeof(float)), 0);
  set_deterministic(false);
  // A bad index in the first, a middle or the last block: IndexError, nothing written.
  Tensor self = from_vector<float>(start, opts(kFloat32));
  const auto before = host_bytes(self);
  for (const char* reduce : {"amax", "amin", "prod", "sum"}) {
    for (int64_t at : {int64_t{0}, n / 2 + 3, n - 1}) {
      std::vector<int64_t> bad = index_values;
      bad[static_cast<size_t>(at)] = -1;
      Tensor bad_index = from_vector<int64_t>(bad, opts(kInt64));
      EXPECT_EQ(error_message<IndexError>([&] { self.scatter_reduce_(0, bad_index, src, reduce); }),
                "index -1 is out of bounds for dimension 0 with size 997")
          << reduce << " at " << at;
      EXPECT_EQ(host_bytes(self), before) << reduce << " at " << at;
    }
  }
}

// Short rows along the last dimension of a 3-D index (3 positions a row, as
// in gather(2, index) picking a few of 16 columns): on the CPU the fused loop
// runs many such rows per call and the positions are split across threads
// at a few tens of thousands. gather, scatter_ (the last in index order
// wins, in deterministic mode) and scatter_add_ (each destination summed in
// index order, so float32 bits are exact) match the serial loop for any
// thread count; a bad index in the last row throws and writes nothing.
TEST_P(ScatterTest, ShortRowsMatchTheSerialLoopForAnyThreadCount) {
  std::mt19937 rng(41);
  const Shape self_shape{3, 20000, 16};
  const Shape index_shape{3, 20000, 3};
  const int threads = get_num_threads();
  set_deterministic(true);
  Tensor self = random_floats(self_shape, kFloat32, dev(), rng);
  Tensor index = random_index(index_shape, 4, dev(), rng);  // duplicates within most rows
  Tensor src = random_floats(index_shape, kFloat32, dev(), rng);
  const auto self_values = host_values(self);
  const auto index_values = host_values(index);
  const auto src_values = host_values(src);
  std::vector<double> expected_gather;
  for_each_index(index_shape, [&](const std::vector<int64_t>& at) {
    std::vector<int64_t> source = at;
    source[2] = static_cast<int64_t>(index_values[static_cast<size_t>(linear_of(index_shape, at))]);
    expected_gather.push_back(self_values[static_cast<size_t>(linear_of(self_shape, source))]);
  });
  const auto expected_assign =
      reference_scatter(self_values, self_shape, 2, index_values, index_shape, src_values, index_shape, "assign",
                        true, kFloat32);
  const auto expected_sum = reference_scatter(self_values, self_shape, 2, index_values, index_shape, src_values,
                                              index_shape, "sum", true, kFloat32);
  for (int t : {1, 2, 3}) {
    set_num_threads(t);
    EXPECT_EQ(host_values(gather(self, 2, index)), expected_gather) << t << " threads";
    EXPECT_EQ(host_values(self.scatter(2, index, src)), expected_assign) << t << " threads";
    EXPECT_EQ(host_values(self.scatter_add(2, index, src)), expected_sum) << t << " threads";
  }
  set_num_threads(threads);
  set_deterministic(false);
  std::vector<int64_t> bad = index.to_vector<int64_t>();
  bad.back() = 16;
  Tensor bad_index = from_vector<int64_t>(bad, index_shape, TensorOptions().dtype(kInt64).device(dev()));
  const std::string expected_error = "index 16 is out of bounds for dimension 2 with size 16";
  EXPECT_EQ(error_message<IndexError>([&] { (void)gather(self, 2, bad_index); }), expected_error);
  const auto before = host_bytes(self);
  EXPECT_EQ(error_message<IndexError>([&] { self.scatter_add_(2, bad_index, src); }), expected_error);
  EXPECT_EQ(host_bytes(self), before);
}

TEST_P(ScatterTest, CudaEqualsCpu) {
  if (GetParam() != "cuda") GTEST_SKIP() << "compares the CUDA result with the CPU one";
  std::mt19937 rng(13);
  const int64_t n = 1 << 15;
  Tensor index = random_index({n}, 300, Device(DeviceType::CPU), rng);
  Tensor src = random_floats({n}, kFloat32, Device(DeviceType::CPU), rng);
  Tensor base = random_floats({300}, kFloat32, Device(DeviceType::CPU), rng);
  const auto cpu_sum = host_values(base.scatter_add(0, index, src));
  const auto cpu_max = host_bytes(base.scatter_reduce(0, index, src, "amax"));
  const auto cpu_gather = host_bytes(base.gather(0, index));
  Tensor gi = index.to(dev()), gs = src.to(dev()), gb = base.to(dev());
  const auto gpu_sum = host_values(gb.scatter_add(0, gi, gs));
  for (size_t i = 0; i < cpu_sum.size(); ++i) EXPECT_NEAR(gpu_sum[i], cpu_sum[i], 1e-3);
  EXPECT_EQ(host_bytes(gb.scatter_reduce(0, gi, gs, "amax")), cpu_max);
  EXPECT_EQ(host_bytes(gb.gather(0, gi)), cpu_gather);
  set_deterministic(true);  // the sorted path applies updates in CPU order: same bits
  EXPECT_EQ(host_bytes(gb.scatter_add(0, gi, gs)), host_bytes(base.scatter_add(0, index, src)));
  EXPECT_EQ(host_bytes(gb.scatter(0, gi, gs)), host_bytes(base.scatter(0, index, src)));
}

TEST_P(ScatterTest, SortedPathStandInGivesTheCpuKernelsBits) {
  if (GetParam() != "cpu-sorted") GTEST_SKIP() << "the host run of the CUDA sorted path";
  // Random shapes, dims, duplicates (few destinations), a transposed self and
  // src, every floating dtype and a small-int one, alpha; each op once
  // through the sorted path's steps and once through the CPU kernel, which
  // must give the same bytes; and the stand-in must have run exactly then.
  std::mt19937 rng(29);
  const Device cpu(DeviceType::CPU);
  auto& calls = sorted_stand_in_calls();
  const auto sorted_and_cpu = [&](const char* what, auto&& op) {
    set_deterministic(true);
    const int64_t before = calls.load();
    const std::vector<uint8_t> sorted = host_bytes(op());
    ASSERT_GT(calls.load(), before) << what << ": the sorted path did not run";
    ops::scatter_detail::set_sorted_path_stand_in(nullptr);
    const std::vector<uint8_t> serial = host_bytes(op());
    ops::scatter_detail::set_sorted_path_stand_in(&sorted_path_on_host);
    EXPECT_EQ(sorted, serial) << what;
    set_deterministic(false);
    const int64_t default_before = calls.load();
    (void)op();
    EXPECT_EQ(calls.load(), default_before) << what << ": the stand-in ran outside deterministic mode";
  };
  for (int trial = 0; trial < 24; ++trial) {
    const DType dtype = std::vector<DType>{kFloat32, kFloat16, kBFloat16, kFloat64, kInt16}[trial % 5];
    const int64_t rows = 2 + static_cast<int64_t>(rng() % 9), cols = 2 + static_cast<int64_t>(rng() % 9);
    const int64_t n = 64 + static_cast<int64_t>(rng() % 4000);
    const bool transposed = trial % 2 == 1;
    Tensor self = transposed ? random_floats({cols, rows}, dtype, cpu, rng).t() : random_floats({rows, cols}, dtype, cpu, rng);
    if (dtype == kInt16) self = random_values({rows, cols}, dtype, cpu, rng);
    const auto values = [&](const Shape& shape) {
      return dtype == kInt16 ? random_values(shape, dtype, cpu, rng) : random_floats(shape, dtype, cpu, rng);
    };
    const std::string at = " (" + to_string(dtype) + ", trial " + std::to_string(trial) + ")";

    // Along dim 1: an index of [rows, k] into [rows, cols].
    const int64_t k = 1 + n / rows;
    const Tensor index = random_index({rows, k}, cols, cpu, rng);
    const Tensor src = transposed ? values({k, rows}).t() : values({rows, k});
    sorted_and_cpu(("scatter_add" + at).c_str(), [&] { return self.scatter_add(1, index, src); });
    sorted_and_cpu(("scatter" + at).c_str(), [&] { return self.scatter(1, index, src); });
    for (const char* reduce : {"sum", "prod", "mean", "amax", "amin"}) {
      for (bool include_self : {true, false}) {
        sorted_and_cpu(("scatter_reduce " + std::string(reduce) + at).c_str(),
                       [&] { return self.scatter_reduce(1, index, src, reduce, include_self); });
      }
    }
    // index_put_ with two index tensors (negative ones wrap) and index_add_.
    Tensor r = random_index({n}, rows, cpu, rng), c = random_index({n}, cols, cpu, rng);
    if (trial % 3 == 0) r = r + (-rows);
    const Tensor v = values({n});
    sorted_and_cpu(("index_put" + at).c_str(), [&] { return self.index_put({r, c}, v); });
    sorted_and_cpu(("index_put accumulate" + at).c_str(), [&] { return self.index_put({r, c}, v, true); });
    const Tensor row_index = random_index({k}, rows, cpu, rng);
    const Tensor row_source = values({k, cols});
    const double alpha = dtype == kInt16 ? 3.0 : 0.375;
    sorted_and_cpu(("index_add" + at).c_str(), [&] { return self.index_add(0, row_index, row_source, alpha); });
  }
}

INSTANTIATE_TEST_SUITE_P(Devices, ScatterTest, scatter_devices(), device_name);

}  // namespace
}  // namespace strata
