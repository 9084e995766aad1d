// index_put_ / index_put / index (advanced indexing), against reference loops.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

#include "strata/strata.h"
#include "tests/ops/scatter_test_util.h"

namespace strata {
namespace {

using namespace scatter_test;

class IndexTest : public DeviceTest {};

/// Reference of self[i0, i1] (=|+=) values for a 2-D self and two 1-D indices
/// (negative indices wrap), in index order.
std::vector<double> reference_put_2d(std::vector<double> self, int64_t cols, const std::vector<double>& rows_idx,
                                     const std::vector<double>& cols_idx, int64_t rows, const std::vector<double>& values,
                                     bool accumulate, DType dtype) {
  for (size_t i = 0; i < rows_idx.size(); ++i) {
    int64_t r = static_cast<int64_t>(rows_idx[i]);
    int64_t c = static_cast<int64_t>(cols_idx[i]);
    if (r < 0) r += rows;
    if (c < 0) c += cols;
    double& dst = self[static_cast<size_t>(r * cols + c)];
    const double v = values.size() == 1 ? values[0] : values[i];
    dst = accumulate ? round_to(dtype, dst + v) : v;
  }
  return self;
}

TEST_P(IndexTest, SeedExampleThree) {
  Tensor t = zeros({5, 5}, opts(kFloat32));
  Tensor idx = tensor({{1, 1}, {2, 2}, {3, 3}}, TensorOptions().device(dev()));
  t.index_put_({idx.select(1, 0), idx.select(1, 1)}, tensor({10.f, 20.f, 30.f}, TensorOptions().device(dev())));
  std::vector<double> expected(25, 0.0);
  expected[1 * 5 + 1] = 10;
  expected[2 * 5 + 2] = 20;
  expected[3 * 5 + 3] = 30;
  EXPECT_EQ(host_values(t), expected);
}

// The seed's three answers as DESIGN.md writes them, on the default device
// (CUDA when usable, else the CPU), then checked.
TEST(SeedExample, VerbatimOnTheDefaultDevice) {
  Tensor z = zeros({3, 3});                          // default device: CUDA if usable, else CPU
  Tensor u = tensor({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}});   // Int64, like torch.tensor
  const void* z_data = z.data_ptr();
  const Storage z_storage = z.storage();
  Tensor s = z + u;        // 1. out of place: new tensor (Float32 by promotion); z unchanged
  z.add_(u);               // 2. in place: z.data_ptr() and z.storage() are the same before and after
  Tensor t = zeros({5, 5});
  Tensor idx = tensor({{1, 1}, {2, 2}, {3, 3}});
  t.index_put_({idx.select(1, 0), idx.select(1, 1)}, tensor({10.f, 20.f, 30.f}));
                           // 3. t[idx[:,0], idx[:,1]] = [10, 20, 30]
  EXPECT_EQ(s.dtype(), kFloat32);
  EXPECT_EQ(host_values(s), (std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(z.data_ptr(), z_data);
  EXPECT_TRUE(z.storage() == z_storage);
  EXPECT_EQ(host_values(z), host_values(s));
  std::vector<double> expected(25, 0.0);
  expected[1 * 5 + 1] = 10;
  expected[2 * 5 + 2] = 20;
  expected[3 * 5 + 3] = 30;
  EXPECT_EQ(host_values(t), expected);
  EXPECT_EQ(t.device(), default_device());
}

TEST_P(IndexTest, IndexPutPairsMatchReferenceForEveryDtype) {
  set_deterministic(true);  // duplicates: last in index order wins on every device
  std::mt19937 rng(21);
  for (DType dtype : kAllDTypes) {
    for (bool accumulate : {false, true}) {
      Tensor self = random_values({9, 7}, dtype, dev(), rng, 4);
      Tensor rows = random_index({40}, 9, dev(), rng);
      Tensor cols = random_index({40}, 7, dev(), rng);
      Tensor values = random_values({40}, dtype, dev(), rng, 4);
      const auto expected = reference_put_2d(host_values(self), 7, host_values(rows), host_values(cols), 9,
                                             host_values(values), accumulate, dtype);
      EXPECT_EQ(host_values(self.index_put({rows, cols}, values, accumulate)), expected) << dtype;
      self.index_put_({rows.to(kInt32), cols}, values, accumulate);
      EXPECT_EQ(host_values(self), expected) << dtype << " accumulate " << accumulate;
    }
  }
}

TEST_P(IndexTest, AccumulateSumsDuplicates) {
  Tensor self = zeros({4}, opts(kFloat32));
  Tensor index = from_vector<int64_t>({1, 1, 1, 3, 3}, opts(kInt64));
  self.index_put_({index}, from_vector<float>({1.f, 2.f, 3.f, 4.f, 5.f}, opts(kFloat32)), true);
  EXPECT_EQ(host_values(self), (std::vector<double>{0, 6, 0, 9}));
  self.index_put_({index}, Scalar(1.0), true);
  EXPECT_EQ(host_values(self), (std::vector<double>{0, 9, 0, 11}));
}

TEST_P(IndexTest, DuplicatesWithoutAccumulateKeepLastInDeterministicMode) {
  set_deterministic(true);
  Tensor self = zeros({3}, opts(kFloat32));
  Tensor index = from_vector<int64_t>({2, 0, 2, 2, 0}, opts(kInt64));
  self.index_put_({index}, from_vector<float>({1.f, 2.f, 3.f, 4.f, 5.f}, opts(kFloat32)));
  EXPECT_EQ(host_values(self), (std::vector<double>{5, 0, 4}));
}

TEST_P(IndexTest, NegativeIndicesWrap) {
  std::mt19937 rng(22);
  Tensor self = random_values({6, 5}, kFloat32, dev(), rng);
  Tensor rows = from_vector<int64_t>({-1, -6, 2, 5}, opts(kInt64));
  Tensor cols = from_vector<int64_t>({0, -1, -5, 3}, opts(kInt64));
  Tensor values = random_values({4}, kFloat32, dev(), rng);
  const auto expected = reference_put_2d(host_values(self), 5, host_values(rows), host_values(cols), 6,
                                         host_values(values), false, kFloat32);
  const auto self_values = host_values(self);
  Tensor read = self.index({rows, cols});
  EXPECT_EQ(host_values(read), (std::vector<double>{self_values[5 * 5 + 0], self_values[0 * 5 + 4],
                                                    self_values[2 * 5 + 0], self_values[5 * 5 + 3]}));
  self.index_put_({rows, cols}, values);
  EXPECT_EQ(host_values(self), expected);
}

TEST_P(IndexTest, IndexTensorsBroadcastTogether) {
  std::mt19937 rng(23);
  Tensor self = random_values({6, 8}, kFloat64, dev(), rng);
  Tensor rows = random_index({3, 1}, 6, dev(), rng);
  Tensor cols = random_index({4}, 8, dev(), rng);
  const auto s = host_values(self), r = host_values(rows), c = host_values(cols);
  Tensor read = self.index({rows, cols});
  EXPECT_EQ(read.sizes(), (Shape{3, 4}));
  std::vector<double> expected;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) expected.push_back(s[static_cast<size_t>(r[i] * 8 + c[j])]);
  }
  EXPECT_EQ(host_values(read), expected);
  // values [4] broadcast over the [3, 4] result.
  Tensor values = random_values({4}, kFloat64, dev(), rng);
  const auto v = host_values(values);
  auto expected_put = s;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) expected_put[static_cast<size_t>(r[i] * 8 + c[j])] += v[static_cast<size_t>(j)];
  }
  set_deterministic(true);
  self.index_put_({rows, cols}, values, true);
  const auto got = host_values(self);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_DOUBLE_EQ(got[i], expected_put[i]);
}

TEST_P(IndexTest, FullSlicesLeadingMiddleAndTrailing) {
  std::mt19937 rng(24);
  Tensor self = random_values({4, 5, 6}, kFloat32, dev(), rng);
  const auto s = host_values(self);
  Tensor i1 = random_index({7}, 5, dev(), rng);
  Tensor i2 = random_index({7}, 6, dev(), rng);
  Tensor i0 = random_index({7}, 4, dev(), rng);
  const auto v1 = host_values(i1), v2 = host_values(i2), v0 = host_values(i0);
  const auto at = [&](double a, double b, double c) { return s[static_cast<size_t>(a * 30 + b * 6 + c)]; };

  // self[:, i1] -> [4, 7, 6]
  Tensor a = self.index({std::nullopt, i1});
  ASSERT_EQ(a.sizes(), (Shape{4, 7, 6}));
  std::vector<double> expected;
  for (int x = 0; x < 4; ++x)
    for (int k = 0; k < 7; ++k)
      for (int z = 0; z < 6; ++z) expected.push_back(at(x, v1[static_cast<size_t>(k)], z));
  EXPECT_EQ(host_values(a), expected);

  // self[i0] -> [7, 5, 6] (trailing dims are full slices)
  Tensor b = self.index({i0});
  ASSERT_EQ(b.sizes(), (Shape{7, 5, 6}));
  expected.clear();
  for (int k = 0; k < 7; ++k)
    for (int y = 0; y < 5; ++y)
      for (int z = 0; z < 6; ++z) expected.push_back(at(v0[static_cast<size_t>(k)], y, z));
  EXPECT_EQ(host_values(b), expected);

  // self[i0, :, i2] -> non-adjacent: index dims first, [7, 5]
  Tensor c = self.index({i0, std::nullopt, i2});
  ASSERT_EQ(c.sizes(), (Shape{7, 5}));
  expected.clear();
  for (int k = 0; k < 7; ++k)
    for (int y = 0; y < 5; ++y) expected.push_back(at(v0[static_cast<size_t>(k)], y, v2[static_cast<size_t>(k)]));
  EXPECT_EQ(host_values(c), expected);

  // self[i0, :, i2] = values [7, 5]; with unique (i0, i2) pairs the result is exact.
  Tensor u0 = from_vector<int64_t>({0, 1, 2, 3, 0}, opts(kInt64));
  Tensor u2 = from_vector<int64_t>({5, 4, 3, 2, 0}, opts(kInt64));
  Tensor values = random_values({5, 5}, kFloat32, dev(), rng);
  const auto vv = host_values(values);
  auto expected_put = s;
  const std::vector<int> r0 = {0, 1, 2, 3, 0}, r2 = {5, 4, 3, 2, 0};
  for (int k = 0; k < 5; ++k)
    for (int y = 0; y < 5; ++y) expected_put[static_cast<size_t>(r0[k] * 30 + y * 6 + r2[k])] = vv[static_cast<size_t>(k * 5 + y)];
  self.index_put_({u0, std::nullopt, u2}, values);
  EXPECT_EQ(host_values(self), expected_put);
}

TEST_P(IndexTest, BoolMaskSelectsTrueElements) {
  std::mt19937 rng(25);
  Tensor self = random_values({4, 5}, kFloat32, dev(), rng);
  Tensor mask = random_values({4, 5}, kBool, dev(), rng);
  const auto s = host_values(self), m = host_values(mask);
  std::vector<double> expected_read;
  auto expected_put = s;
  for (size_t i = 0; i < s.size(); ++i) {
    if (m[i] != 0) {
      expected_read.push_back(s[i]);
      expected_put[i] = -3.0;
    }
  }
  EXPECT_EQ(host_values(self.index({mask})), expected_read);
  self.index_put_({mask}, Scalar(-3.0));
  EXPECT_EQ(host_values(self), expected_put);
  // A 1-D row mask with trailing full slice.
  Tensor row_mask = from_vector<bool>({true, false, true, false}, opts(kBool));
  EXPECT_EQ(self.index({row_mask}).sizes(), (Shape{2, 5}));
}

TEST_P(IndexTest, MaskedFillOfALargeTensorMatchesTheReference) {
  // self[mask] = value with a mask of self's whole shape (on the CPU one
  // elementwise pass, in parallel chunks): every dtype, Bool and UInt8 masks,
  // a contiguous self and a transposed one with a transposed mask, and the
  // reads self[mask] of the same masks.
  std::mt19937 rng(27);
  for (DType dtype : kAllDTypes) {
    for (bool transposed : {false, true}) {
      Tensor base = random_values({600, 700}, dtype, dev(), rng);  // 2 chunks of the CPU masked_select
      Tensor self = transposed ? base.t() : base;
      Tensor mask_base = random_values({600, 700}, kBool, dev(), rng);
      Tensor mask = transposed ? mask_base.t() : mask_base;
      if (dtype == kInt16) mask = mask.to(kUInt8);
      const auto s = host_values(self), m = host_values(mask);
      std::vector<double> expected_read;
      auto expected = s;
      for (size_t i = 0; i < s.size(); ++i) {
        if (m[i] != 0) {
          expected_read.push_back(s[i]);
          expected[i] = 1.0;
        }
      }
      EXPECT_EQ(host_values(self.index({mask})), expected_read) << dtype << " " << transposed;
      const void* data = self.data_ptr();
      self.index_put_({mask}, Scalar(1.0));
      EXPECT_EQ(self.data_ptr(), data);
      EXPECT_EQ(host_values(self), expected) << dtype << " " << transposed;
    }
  }
}

TEST_P(IndexTest, RowMasksAndRowIndicesOfALargeMatrixMatchTheReference) {
  // self[row_mask] and self[rows] (whole rows through one index along the
  // first dimension; on the CPU one copy per row, split across threads), a
  // mask with fewer dimensions than self (its coordinates built first), rows
  // with negative values that wrap; every element size; 1 and 2 threads.
  std::mt19937 rng(29);
  const int threads = get_num_threads();
  const int64_t rows = 40000, width = 12;
  for (DType dtype : {kBool, kInt16, kFloat32, kFloat64}) {
    Tensor self = random_values({rows, width}, dtype, dev(), rng);
    Tensor row_mask = random_values({rows}, kBool, dev(), rng);
    std::vector<int64_t> pick_values = random_index({rows / 2}, 2 * rows, kCPU, rng).to_vector<int64_t>();
    for (int64_t& v : pick_values) v -= rows;  // in [-rows, rows)
    Tensor picks = from_vector<int64_t>(pick_values, {rows / 2}, TensorOptions().dtype(kInt64).device(dev()));
    const auto s = host_values(self), m = host_values(row_mask), p = host_values(picks);
    std::vector<double> expected_masked, expected_picked;
    for (int64_t r = 0; r < rows; ++r) {
      if (m[static_cast<size_t>(r)] == 0) continue;
      for (int64_t c = 0; c < width; ++c) expected_masked.push_back(s[static_cast<size_t>(r * width + c)]);
    }
    for (double v : p) {
      const int64_t r = v < 0 ? static_cast<int64_t>(v) + rows : static_cast<int64_t>(v);
      for (int64_t c = 0; c < width; ++c) expected_picked.push_back(s[static_cast<size_t>(r * width + c)]);
    }
    for (int t : {1, 2}) {
      set_num_threads(t);
      Tensor masked = self.index({row_mask});
      EXPECT_EQ(masked.sizes(), (Shape{static_cast<int64_t>(expected_masked.size()) / width, width}));
      EXPECT_EQ(host_values(masked), expected_masked) << dtype << ", " << t << " threads";
      EXPECT_EQ(host_values(self.index({picks})), expected_picked) << dtype << ", " << t << " threads";
    }
  }
  set_num_threads(threads);
}

TEST_P(IndexTest, NonContiguousSelfValuesAndIndices) {
  std::mt19937 rng(26);
  Tensor base = random_values({8, 6}, kFloat32, dev(), rng);
  Tensor self = base.t();  // [6, 8]
  Tensor rows = random_index({2, 20}, 6, dev(), rng).select(0, 1);             // stride 1 in a [2, 20]
  Tensor cols = random_index({20, 3}, 8, dev(), rng).select(1, 2);             // stride 3
  Tensor values = random_values({40}, kFloat32, dev(), rng).slice(0, 0, 40, 2);  // stride 2
  const auto expected = reference_put_2d(host_values(self), 8, host_values(rows), host_values(cols), 6,
                                         host_values(values), true, kFloat32);
  self.index_put_({rows, cols}, values, true);
  EXPECT_EQ(host_values(self), expected);
  EXPECT_EQ(host_values(base.t()), expected);
}

TEST_P(IndexTest, ColumnsOfAnIndexMatrixAreCheckedAndApplied) {
  // The seed's form: rows and cols as columns of one [n, 2] index (strided
  // 1-D views), Int64 and Int32, a few or many positions; one bad value at a
  // random position of either column must be found (the validation pass
  // reads such a view with its own loop) and named, self untouched.
  std::mt19937 rng(43);
  for (DType index_dtype : {kInt64, kInt32}) {
    for (int64_t n : {1, 3, 17, 1000}) {
      Tensor self = random_values({7, 9}, kFloat32, dev(), rng);
      std::vector<double> pairs(static_cast<size_t>(2 * n));
      for (int64_t i = 0; i < n; ++i) {
        pairs[static_cast<size_t>(2 * i)] = static_cast<double>(static_cast<int64_t>(rng() % 14) - 7);      // [-7, 7)
        pairs[static_cast<size_t>(2 * i + 1)] = static_cast<double>(static_cast<int64_t>(rng() % 18) - 9);  // [-9, 9)
      }
      const auto make = [&](const std::vector<double>& v) {
        return from_vector<double>(v, {n, 2}, TensorOptions().dtype(index_dtype).device(dev()));
      };
      Tensor idx = make(pairs);
      Tensor values = random_values({n}, kFloat32, dev(), rng);
      for (bool accumulate : {false, true}) {
        Tensor t = self.clone();
        std::vector<double> rows_idx, cols_idx;
        for (int64_t i = 0; i < n; ++i) {
          rows_idx.push_back(pairs[static_cast<size_t>(2 * i)]);
          cols_idx.push_back(pairs[static_cast<size_t>(2 * i + 1)]);
        }
        // Assignments with duplicates: the last one in index order is the
        // reference's; compare sums exactly and assignments only when the
        // pairs are distinct or deterministic mode orders them.
        set_deterministic(true);
        t.index_put_({idx.select(1, 0), idx.select(1, 1)}, values, accumulate);
        set_deterministic(false);
        EXPECT_EQ(host_values(t), reference_put_2d(host_values(self), 9, rows_idx, cols_idx, 7, host_values(values),
                                                   accumulate, kFloat32))
            << index_dtype << ", n " << n << ", accumulate " << accumulate;
      }
      // One bad value, in either column, anywhere.
      const int64_t at = static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
      const int column = static_cast<int>(rng() % 2);
      const int64_t size = column == 0 ? 7 : 9;
      const int64_t bad = rng() % 2 == 0 ? size + static_cast<int64_t>(rng() % 5) : -size - 1 - static_cast<int64_t>(rng() % 5);
      std::vector<double> with_bad = pairs;
      with_bad[static_cast<size_t>(2 * at + column)] = static_cast<double>(bad);
      Tensor bad_idx = make(with_bad);
      const auto before = host_bytes(self);
      const std::string expected = "index " + std::to_string(bad) + " is out of bounds for dimension " +
                                   std::to_string(column) + " with size " + std::to_string(size);
      for (bool accumulate : {false, true}) {
        EXPECT_EQ(error_message<IndexError>(
                      [&] { self.index_put_({bad_idx.select(1, 0), bad_idx.select(1, 1)}, values, accumulate); }),
                  expected)
            << index_dtype << ", n " << n << ", at " << at;
      }
      EXPECT_EQ(error_message<IndexError>([&] { (void)self.index({bad_idx.select(1, 0), bad_idx.select(1, 1)}); }),
                expected);
      EXPECT_EQ(host_bytes(self), before);
    }
  }
}

TEST_P(IndexTest, OutOfRangeThrowsAndLeavesSelfUnchanged) {
  std::mt19937 rng(27);
  Tensor self = random_values({5, 4}, kFloat32, dev(), rng);
  const auto before = host_bytes(self);
  Tensor good_rows = from_vector<int64_t>({0, 1, 2}, opts(kInt64));
  Tensor values = random_values({3}, kFloat32, dev(), rng);
  for (int64_t bad : {5, 7, -6}) {
    Tensor rows = from_vector<int64_t>({0, 4, bad}, opts(kInt64));
    const std::string expected = "index " + std::to_string(bad) + " is out of bounds for dimension 0 with size 5";
    EXPECT_EQ(error_message<IndexError>([&] { self.index_put_({rows, good_rows}, values); }), expected);
    EXPECT_EQ(error_message<IndexError>([&] { self.index_put_({rows, good_rows}, values, true); }), expected);
    EXPECT_EQ(error_message<IndexError>([&] { (void)self.index({rows}); }), expected);
    EXPECT_EQ(host_bytes(self), before);
  }
  Tensor cols = from_vector<int64_t>({0, 4, 1}, opts(kInt64));
  EXPECT_EQ(error_message<IndexError>([&] { self.index_put_({good_rows, cols}, values); }),
            "index 4 is out of bounds for dimension 1 with size 4");
  EXPECT_EQ(error_message<IndexError>([&] { (void)zeros({0, 3}, opts(kFloat32)).index({good_rows}); }),
            "index is out of bounds for dimension with size 0");
  EXPECT_EQ(host_bytes(self), before);
  self.index_put_({good_rows}, Scalar(1.0));  // still usable
  EXPECT_NE(host_bytes(self), before);
}

TEST_P(IndexTest, WithSeveralBadIndexTensorsTheEarliestPositionIsNamed) {
  // PyTorch's loops walk the positions of the broadcast index tensors in
  // row-major order and check each tensor at a position in turn: the value
  // named is the earliest bad one across all tensors, not the first bad one
  // of the first tensor.
  std::mt19937 rng(41);
  Tensor self = random_values({5, 6}, kFloat32, dev(), rng);
  const auto before = host_bytes(self);
  const auto idx = [&](std::vector<int64_t> v, Shape shape) { return from_vector<int64_t>(v, shape, opts(kInt64)); };
  const auto message = [](int64_t value, int dim) {
    return "index " + std::to_string(value) + " is out of bounds for dimension " + std::to_string(dim) +
           " with size " + (dim == 0 ? "5" : "6");
  };
  struct Case {
    Tensor rows, cols;
    std::string expected;
  };
  const std::vector<Case> cases = {
      // Same shapes: cols is bad at position 0, rows only at position 1.
      {idx({0, 9}, {2}), idx({9, 0}, {2}), message(9, 1)},
      // Both bad at the same position: the first tensor is named.
      {idx({1, 7}, {2}), idx({0, -8}, {2}), message(7, 0)},
      // Broadcast [3, 1] x [4]: cols' 6 at position 2, rows' 7 at position 4.
      {idx({0, 7, 1}, {3, 1}), idx({0, 1, 6, 2}, {4}), message(6, 1)},
      // Broadcast: rows' -9 at position 0 comes before cols' 6 at position 3.
      {idx({-9, 0, 1}, {3, 1}), idx({0, 1, 2, 6}, {1, 4}), message(-9, 0)},
      // Only the second tensor is bad.
      {idx({0, 1, 2}, {3}), idx({5, -6, 6}, {3}), message(6, 1)},
  };
  for (const Case& c : cases) {
    const Shape shape = broadcast_shapes(c.rows.sizes(), c.cols.sizes());
    Tensor values = random_values(shape, kFloat32, dev(), rng);
    for (bool accumulate : {false, true}) {
      EXPECT_EQ(error_message<IndexError>([&] { self.index_put_({c.rows, c.cols}, values, accumulate); }),
                c.expected);
    }
    EXPECT_EQ(error_message<IndexError>([&] { (void)self.index({c.rows, c.cols}); }), c.expected);
    EXPECT_EQ(host_bytes(self), before);
  }

  // Long random pairs with bad values planted in both tensors (beyond the
  // first 1 Mi values, where the error path reads in chunks), against a scan
  // written here.
  const int64_t n = (int64_t{1} << 20) + 3000;
  std::vector<int64_t> rows = random_index({n}, 5, Device(DeviceType::CPU), rng).to_vector<int64_t>();
  std::vector<int64_t> cols = random_index({n}, 6, Device(DeviceType::CPU), rng).to_vector<int64_t>();
  std::uniform_int_distribution<int64_t> where(0, n - 1);
  for (int trial = 0; trial < 4; ++trial) {
    std::vector<int64_t> r = rows, c = cols;
    if (trial == 0) {  // only in a later chunk, cols first
      r[(size_t{1} << 20) + 2] = 100;
      c[(size_t{1} << 20) + 1] = 100;
    } else {
      for (int k = 0; k < 3; ++k) r[static_cast<size_t>(where(rng))] = 5 + k;
      for (int k = 0; k < 3; ++k) c[static_cast<size_t>(where(rng))] = -7 - k;
    }
    std::string expected;
    for (size_t j = 0; j < r.size() && expected.empty(); ++j) {
      if (r[j] < -5 || r[j] >= 5) expected = message(r[j], 0);
      else if (c[j] < -6 || c[j] >= 6) expected = message(c[j], 1);
    }
    Tensor tr = from_vector<int64_t>(r, {n}, opts(kInt64));
    Tensor tc = from_vector<int64_t>(c, {n}, opts(kInt64));
    Tensor values = random_values({n}, kFloat32, dev(), rng);
    EXPECT_EQ(error_message<IndexError>([&] { self.index_put_({tr, tc}, values, trial % 2 == 1); }), expected)
        << "trial " << trial;
    EXPECT_EQ(host_bytes(self), before);
  }
}

TEST_P(IndexTest, ChecksFollowPyTorchTexts) {
  Tensor self = zeros({5, 4}, opts(kFloat32));
  Tensor rows = from_vector<int64_t>({0, 1}, opts(kInt64));
  EXPECT_EQ(error_message<DTypeError>([&] { self.index_put_({rows}, ones({2, 4}, opts(kFloat64))); }),
            "Index put requires the source and destination dtypes match, got Float for the destination and Double "
            "for the source.");
  EXPECT_EQ(error_message<IndexError>([&] { self.index_put_({rows.to(kFloat32)}, Scalar(1)); }),
            "tensors used as indices must be long, int, byte or bool tensors");
  EXPECT_EQ(error_message<IndexError>([&] { (void)self.index({rows, rows, rows}); }),
            "too many indices for tensor of dimension 2 (got 3)");
  EXPECT_EQ(error_message<IndexError>([&] { (void)self.index({zeros({4}, opts(kBool))}); }),
            "The shape of the mask [4] at index 0 does not match the shape of the indexed tensor [5, 4] at index 0");
  EXPECT_EQ(error_message<IndexError>([&] { (void)self.index({rows, zeros({3}, opts(kInt64))}); }),
            "shape mismatch: indexing tensors could not be broadcast together with shapes [2], [3]");
  EXPECT_EQ(error_message<ShapeError>([&] { self.index_put_({rows}, ones({3}, opts(kFloat32))); }),
            "shape mismatch: value tensor of shape [3] cannot be broadcast to indexing result of shape [2, 4]");
  EXPECT_EQ(error_message<OverlapError>([&] { self.index_put_({rows}, self.narrow(0, 0, 2)); }),
            "unsupported operation: some elements of the input tensor and the written-to tensor refer to a single "
            "memory location. Please clone() the tensor before performing the operation.");
}

// With two faults, the one PyTorch checks first is reported: the number of
// entries, then the overlap of self with the values and the indices, then
// every index's dtype, then each mask's shape, then the values' shape and
// dtype. Nothing is written.
TEST_P(IndexTest, TwoFaultsReportTheOnePyTorchChecksFirst) {
  Tensor m = zeros({5, 4}, opts(kFloat32));
  const Tensor float_index = zeros({2}, opts(kFloat32));
  const Tensor bad_mask = zeros({3}, opts(kBool));
  const std::string too_many = "too many indices for tensor of dimension 2 (got 3)";
  const std::string index_dtype = "tensors used as indices must be long, int, byte or bool tensors";
  EXPECT_EQ(error_message<IndexError>([&] { (void)m.index({float_index, std::nullopt, std::nullopt}); }), too_many);
  EXPECT_EQ(error_message<IndexError>([&] { (void)m.index({bad_mask, std::nullopt, std::nullopt}); }), too_many);
  EXPECT_EQ(error_message<IndexError>([&] { (void)m.index({bad_mask, float_index}); }), index_dtype);
  EXPECT_EQ(error_message<IndexError>([&] { m.index_put_({bad_mask, float_index}, ones({7}, opts(kFloat64))); }),
            index_dtype);
  const std::string overlap =
      "unsupported operation: some elements of the input tensor and the written-to tensor refer to a single memory "
      "location. Please clone() the tensor before performing the operation.";
  Tensor s = from_vector<int64_t>({0, 1, 2, 3, 4, 5}, opts(kInt64));
  const Tensor pair = from_vector<int64_t>({4, 5}, opts(kInt64));
  // An index that is part of self, with values of the wrong dtype.
  EXPECT_EQ(error_message<OverlapError>([&] { s.index_put_({s.narrow(0, 0, 2)}, ones({2}, opts(kFloat32)), true); }),
            overlap);
  // Values that are part of self, of the wrong shape for two indices.
  EXPECT_EQ(error_message<OverlapError>([&] { s.index_put_({pair}, s.narrow(0, 0, 3), true); }), overlap);
  // A bad index value does not come before the values' shape and dtype.
  const Tensor out_of_range = from_vector<int64_t>({9, 0}, opts(kInt64));
  EXPECT_EQ(error_message<ShapeError>([&] { s.index_put_({out_of_range}, ones({3}, opts(kInt64))); }),
            "shape mismatch: value tensor of shape [3] cannot be broadcast to indexing result of shape [2]");
  EXPECT_EQ(host_values(s), (std::vector<double>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(host_values(m), std::vector<double>(20, 0.0));
}

TEST_P(IndexTest, EmptyIndexIsANoOp) {
  std::mt19937 rng(28);
  Tensor self = random_values({5, 4}, kFloat32, dev(), rng);
  const auto before = host_bytes(self);
  Tensor empty_index = zeros({0}, opts(kInt64));
  self.index_put_({empty_index}, zeros({0, 4}, opts(kFloat32)), true);
  self.index_put_({empty_index}, Scalar(3.0));
  EXPECT_EQ(host_bytes(self), before);
  EXPECT_EQ(self.index({empty_index}).sizes(), (Shape{0, 4}));
}

TEST_P(IndexTest, InPlaceKeepsStorageAndDataPointer) {
  Tensor self = zeros({16, 16}, opts(kFloat32));
  const Storage storage = self.storage();
  const void* data = self.data_ptr();
  Tensor rows = from_vector<int64_t>({1, 2, 3}, opts(kInt64));
  EXPECT_EQ(&self.index_put_({rows, rows}, Scalar(1.0), true), &self);
  self.index_put_({rows}, ones({3, 16}, opts(kFloat32)));
  EXPECT_EQ(self.data_ptr(), data);
  EXPECT_TRUE(self.storage() == storage);
  // The storage keeps its size, and a view and a second handle taken before
  // the op see its writes.
  const size_t nbytes = self.storage().nbytes();
  Tensor view = self.select(0, 5);
  Tensor handle = self;
  self.index_put_({from_vector<int64_t>({5}, opts(kInt64)), from_vector<int64_t>({7}, opts(kInt64))}, Scalar(9.0));
  EXPECT_EQ(self.storage().nbytes(), nbytes);
  EXPECT_EQ(host_values(view)[7], 9.0);
  EXPECT_EQ(host_values(handle)[5 * 16 + 7], 9.0);
}

TEST_P(IndexTest, AZeroDimValueOnTheCpuServesAnyDevice) {
  // PyTorch moves a 0-dim value to self's device; strata passes its element
  // as a scalar. Same result as the value on self's device.
  std::mt19937 rng(45);
  Tensor self = random_values({6, 4}, kFloat32, dev(), rng);
  Tensor rows = from_vector<int64_t>({0, 5, -1, 2}, opts(kInt64));
  Tensor value = full({}, 3.5, TensorOptions().dtype(kFloat32).device(Device(DeviceType::CPU)));  // on the CPU
  const auto expected = host_values(self.index_put({rows}, full({}, 3.5, opts(kFloat32)), true));
  self.index_put_({rows}, value, true);
  EXPECT_EQ(host_values(self), expected);
  EXPECT_EQ(error_message<DTypeError>([&] { self.index_put_({rows}, full({}, 1, TensorOptions().dtype(kInt64))); }),
            "Index put requires the source and destination dtypes match, got Float for the destination and Long "
            "for the source.");
}

TEST_P(IndexTest, ManyAccumulationsIntoASmallMatrixMatchTheReference) {
  // Enough (row, col) pairs per element for the CPU's partial-sum route, with
  // negative indices wrapping; small integers, so every dtype sums exactly.
  std::mt19937 rng(41);
  const int64_t n = (int64_t{1} << 17) + 5;
  for (DType dtype : {kInt32, kFloat32, kFloat64}) {
    std::vector<int64_t> r = random_index({n}, 12, Device(DeviceType::CPU), rng).to_vector<int64_t>();
    std::vector<int64_t> c = random_index({n}, 40, Device(DeviceType::CPU), rng).to_vector<int64_t>();
    for (size_t i = 0; i < r.size(); i += 3) r[i] -= 12;  // [-12, 0) on every third
    for (size_t i = 1; i < c.size(); i += 5) c[i] -= 40;  // [-40, 0) on every fifth
    Tensor rows = from_vector<int64_t>(r, {n}, opts(kInt64));
    Tensor cols = from_vector<int64_t>(c, {n}, opts(kInt64));
    Tensor values = random_values({n}, dtype, dev(), rng);
    Tensor base = random_values({12, 40}, dtype, dev(), rng);
    const auto expected = reference_put_2d(host_values(base), 40, host_values(rows), host_values(cols), 12,
                                           host_values(values), true, dtype);
    EXPECT_EQ(host_values(base.index_put({rows, cols}, values, true)), expected) << dtype;
    // A bad pair late in the list: IndexError, nothing written.
    r[static_cast<size_t>(n - 2)] = 12;
    Tensor bad_rows = from_vector<int64_t>(r, {n}, opts(kInt64));
    const auto before = host_bytes(base);
    EXPECT_EQ(error_message<IndexError>([&] { base.index_put_({bad_rows, cols}, values, true); }),
              "index 12 is out of bounds for dimension 0 with size 12");
    EXPECT_EQ(host_bytes(base), before) << dtype;
  }
}

TEST_P(IndexTest, DeterministicAccumulateGivesIdenticalBitsRunAfterRun) {
  set_deterministic(true);
  std::mt19937 rng(29);
  const int64_t n = 1 << 16;
  Tensor rows = random_index({n}, 16, dev(), rng);
  Tensor cols = random_index({n}, 16, dev(), rng);
  Tensor values = random_floats({n}, kFloat32, dev(), rng);
  Tensor base = random_floats({16, 16}, kFloat32, dev(), rng);
  const auto first = host_bytes(base.index_put({rows, cols}, values, true));
  for (int run = 0; run < 20; ++run) {
    ASSERT_EQ(host_bytes(base.index_put({rows, cols}, values, true)), first) << "run " << run;
  }
  // The serial order gives these bits (the CPU reference and the CUDA sorted path).
  const auto expected = reference_put_2d(host_values(base), 16, host_values(rows), host_values(cols), 16,
                                         host_values(values), true, kFloat32);
  EXPECT_EQ(host_values(base.index_put({rows, cols}, values, true)), expected);
}

TEST_P(IndexTest, LargeAccumulateDoesNotDependOnThreadCount) {
  // Big enough (4 Mi updates into 8 MiB) for the CPU to split destinations
  // across threads.
  if (GetParam() == "cpu-sorted") GTEST_SKIP() << "the CPU's thread split";
  if (gpu_logic()) set_deterministic(true);
  std::mt19937 rng(31);
  const int64_t n = int64_t{1} << 22;
  Tensor rows = random_index({n}, 2048, dev(), rng);
  Tensor cols = random_index({n}, 1024, dev(), rng);
  Tensor values = random_floats({n}, kFloat32, dev(), rng);
  Tensor base = random_floats({2048, 1024}, kFloat32, dev(), rng);
  const int threads = get_num_threads();
  set_num_threads(1);
  const auto serial_acc = host_bytes(base.index_put({rows, cols}, values, true));
  const auto serial_put = host_bytes(base.index_put({rows, cols}, values, false));
  set_num_threads(3);
  EXPECT_EQ(host_bytes(base.index_put({rows, cols}, values, true)), serial_acc);
  EXPECT_EQ(host_bytes(base.index_put({rows, cols}, values, false)), serial_put);
  set_num_threads(threads);
}

/// x[rows[:, None], cols] (= or +=) v over a [P, Q] block of a float32 matrix:
/// one index tensor varies along the innermost dimension of the iteration,
/// the other once per row (the CPU runs each row over the varying tensor
/// alone, and splits the rows across threads when their values are
/// distinct). Against a float32 loop in index order, byte for byte, with
/// random floats: distinct rows (every third written as its negative alias),
/// rows with repeats (one of them an alias of another), non-contiguous rows,
/// cols, values and self; duplicate and negative cols; one and three threads;
/// the read self.index({rows, cols}) too.
TEST_P(IndexTest, OuterIndexBlocksMatchTheReference) {
  if (gpu_logic()) set_deterministic(true);  // duplicate cols: the last wins, sums in index order
  std::mt19937 rng(41);
  constexpr int64_t R = 300, C = 700, P = 256, Q = 400;
  const int threads = get_num_threads();
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant == 0 ? "distinct rows" : variant == 1 ? "repeated rows" : "non-contiguous operands");
    std::vector<int64_t> perm(R);
    for (int64_t i = 0; i < R; ++i) perm[static_cast<size_t>(i)] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int64_t> r(perm.begin(), perm.begin() + P);
    for (size_t i = 0; i < r.size(); i += 3) r[i] -= R;
    if (variant == 1) {
      // The same row as r[0]; and rows repeated across the boundary of the
      // first two of three threads' shares (rows 0-84, 85-169), where the
      // later one in index order is reached first in time.
      r[P - 1] = r[0] < 0 ? r[0] + R : r[0] - R;
      for (size_t i = 75; i < 85; ++i) r[i] = r[i + 15];
    }
    std::vector<int64_t> c(Q);
    for (size_t j = 0; j < c.size(); ++j) c[j] = static_cast<int64_t>(rng() % C) - (j % 5 == 0 ? C : 0);
    std::vector<float> v(static_cast<size_t>(P * Q));
    std::uniform_real_distribution<float> value(-1.f, 1.f);
    for (float& x : v) x = value(rng);
    std::vector<float> s(static_cast<size_t>(R * C));
    for (float& x : s) x = value(rng);
    const TensorOptions on_dev = TensorOptions().device(dev());
    Tensor rows, cols, values, self, self_base;
    if (variant < 2) {
      rows = from_vector<int64_t>(r, Shape{P, 1}, TensorOptions(on_dev).dtype(kInt64));
      cols = from_vector<int64_t>(c, Shape{Q}, TensorOptions(on_dev).dtype(kInt64));
      values = from_vector<float>(v, Shape{P, Q}, TensorOptions(on_dev).dtype(kFloat32));
      self_base = from_vector<float>(s, Shape{R, C}, TensorOptions(on_dev).dtype(kFloat32));
      self = self_base;
    } else {
      // Every operand strided: rows and cols every other element of a longer
      // tensor, values and self transposed views.
      std::vector<int64_t> r2(2 * r.size()), c2(2 * c.size());
      for (size_t i = 0; i < r.size(); ++i) r2[2 * i + 1] = r[i];
      for (size_t j = 0; j < c.size(); ++j) c2[2 * j + 1] = c[j];
      rows = from_vector<int64_t>(r2, Shape{2 * P}, TensorOptions(on_dev).dtype(kInt64)).slice(0, 1, 2 * P, 2).unsqueeze(1);
      cols = from_vector<int64_t>(c2, Shape{2 * Q}, TensorOptions(on_dev).dtype(kInt64)).slice(0, 1, 2 * Q, 2);
      std::vector<float> vt(v.size()), st(s.size());
      for (int64_t i = 0; i < P; ++i) {
        for (int64_t j = 0; j < Q; ++j) vt[static_cast<size_t>(j * P + i)] = v[static_cast<size_t>(i * Q + j)];
      }
      for (int64_t i = 0; i < R; ++i) {
        for (int64_t j = 0; j < C; ++j) st[static_cast<size_t>(j * R + i)] = s[static_cast<size_t>(i * C + j)];
      }
      values = from_vector<float>(vt, Shape{Q, P}, TensorOptions(on_dev).dtype(kFloat32)).t();
      self_base = from_vector<float>(st, Shape{C, R}, TensorOptions(on_dev).dtype(kFloat32));
      self = self_base.t();
    }
    ASSERT_EQ(rows.sizes(), (Shape{P, 1}));
    ASSERT_EQ(cols.sizes(), (Shape{Q}));
    const auto wrap = [](int64_t i, int64_t size) { return i < 0 ? i + size : i; };
    for (const bool accumulate : {false, true}) {
      std::vector<float> expected = s;
      for (int64_t i = 0; i < P; ++i) {
        for (int64_t j = 0; j < Q; ++j) {
          float& dst = expected[static_cast<size_t>(wrap(r[static_cast<size_t>(i)], R) * C +
                                                    wrap(c[static_cast<size_t>(j)], C))];
          const float x = v[static_cast<size_t>(i * Q + j)];
          dst = accumulate ? dst + x : x;
        }
      }
      std::vector<uint8_t> expected_bytes(expected.size() * sizeof(float));
      std::memcpy(expected_bytes.data(), expected.data(), expected_bytes.size());
      // Several threaded runs: a wrong split would race, and lose only sometimes.
      for (const int n : {1, 2, 3, 2, 3, 2, 3}) {
        SCOPED_TRACE("accumulate " + std::to_string(accumulate) + ", threads " + std::to_string(n));
        set_num_threads(n);
        Tensor out = self.index_put(TensorIndices{rows, cols}, values, accumulate);
        EXPECT_EQ(host_bytes(out), expected_bytes);
        Tensor target = self.clone();
        target.index_put_({rows, cols}, values, accumulate);
        EXPECT_EQ(host_bytes(target), expected_bytes);
      }
    }
    // The read: self[rows[:, None], cols], from the unmodified self.
    std::vector<float> read(static_cast<size_t>(P * Q));
    for (int64_t i = 0; i < P; ++i) {
      for (int64_t j = 0; j < Q; ++j) {
        read[static_cast<size_t>(i * Q + j)] =
            s[static_cast<size_t>(wrap(r[static_cast<size_t>(i)], R) * C + wrap(c[static_cast<size_t>(j)], C))];
      }
    }
    for (const int n : {1, 3}) {
      set_num_threads(n);
      EXPECT_EQ(self.index({rows, cols}).to_vector<float>(), read);
    }
  }
  set_num_threads(threads);
}

TEST_P(IndexTest, PairsIntoAMatrixBeyondTheCacheMatchTheReference) {
  // A 64 MiB target with 64 Ki pairs: the CPU splits the destinations across
  // threads (each part compacts its own updates, then applies them in index
  // order). Duplicates (a few hot rows and columns), wrapped negative indices,
  // a strided values tensor and a broadcast value; last write wins, sums in
  // index order, for any thread count.
  if (gpu_logic()) set_deterministic(true);
  std::mt19937 rng(43);
  const int64_t side = 4096;
  const int64_t n = (int64_t{1} << 16) + 3;
  std::vector<int64_t> r = random_index({n}, side, Device(DeviceType::CPU), rng).to_vector<int64_t>();
  std::vector<int64_t> c = random_index({n}, side, Device(DeviceType::CPU), rng).to_vector<int64_t>();
  for (size_t i = 0; i < r.size(); i += 7) r[i] = static_cast<int64_t>(rng() % 4);         // hot rows
  for (size_t i = 0; i < c.size(); i += 7) c[i] = static_cast<int64_t>(rng() % 4);         // hot columns
  for (size_t i = 2; i < r.size(); i += 5) r[i] -= side;                                   // wrapped
  Tensor rows = from_vector<int64_t>(r, {n}, opts(kInt64));
  Tensor cols = from_vector<int64_t>(c, {n}, opts(kInt64));
  Tensor wide = random_values({n, 2}, kFloat32, dev(), rng);
  Tensor values = wide.select(1, 1);  // stride 2
  Tensor base = random_values({side, side}, kFloat32, dev(), rng);
  const auto base_values = host_values(base);
  const int threads = get_num_threads();
  for (bool accumulate : {false, true}) {
    const auto expected =
        reference_put_2d(base_values, side, host_values(rows), host_values(cols), side, host_values(values),
                         accumulate, kFloat32);
    Tensor result = base.index_put({rows, cols}, values, accumulate);
    EXPECT_EQ(host_values(result), expected) << "accumulate " << accumulate;
    const auto bytes = host_bytes(result);
    for (int t : {1, 3}) {
      set_num_threads(t);
      EXPECT_EQ(host_bytes(base.index_put({rows, cols}, values.contiguous(), accumulate)), bytes) << t << " threads";
    }
    set_num_threads(threads);
    const auto scalar_expected = reference_put_2d(base_values, side, host_values(rows), host_values(cols), side,
                                                  {2.0}, accumulate, kFloat32);
    EXPECT_EQ(host_values(base.index_put({rows, cols}, tensor(2.f, TensorOptions().device(dev())), accumulate)),
              scalar_expected)
        << "accumulate " << accumulate;
  }
  // One bad pair near the end: IndexError, nothing written.
  r[static_cast<size_t>(n - 3)] = side;
  Tensor bad_rows = from_vector<int64_t>(r, {n}, opts(kInt64));
  const auto before = host_bytes(base);
  EXPECT_EQ(error_message<IndexError>([&] { base.index_put_({bad_rows, cols}, values, false); }),
            "index 4096 is out of bounds for dimension 0 with size 4096");
  EXPECT_EQ(host_bytes(base), before);
}

// n updates into a 64 MiB target, from several threads: with several threads
// the CPU buckets them by destination (each thread reads its share of the
// indices once, checking them; then whole buckets are applied, in index order;
// 4 or more updates per cache line of the target take buckets of a core's L2).
// Duplicates (hot rows and columns), wrapped negative indices, one and two
// index tensors, narrow and wide dtypes, tensor and Scalar values: the same
// bytes as one thread's serial loop (itself checked against the reference
// loops above) for 2 and 3 threads. A bad index anywhere: IndexError, self
// unchanged.
// With fractional_floats, float32/float64 values are uniform in [-1, 1): sums
// then round, and only index order per destination gives the serial bits.
void check_many_updates_into_a_large_target(const Device& device, int64_t n, std::initializer_list<DType> dtypes,
                                            uint32_t seed, bool fractional_floats, bool thread_counts_matter) {
  const auto dev = [&] { return device; };
  const auto opts = [&](DType dtype) { return TensorOptions().dtype(dtype).device(device); };
  std::mt19937 rng(seed);
  const int threads = get_num_threads();
  for (DType dtype : dtypes) {
    const int64_t rows_n = 4096;
    const int64_t cols_n = (int64_t{64} << 20) / rows_n / static_cast<int64_t>(dtype_size(dtype));
    std::vector<int64_t> r = random_index({n}, rows_n, Device(DeviceType::CPU), rng).to_vector<int64_t>();
    std::vector<int64_t> c = random_index({n}, cols_n, Device(DeviceType::CPU), rng).to_vector<int64_t>();
    for (size_t i = 0; i < r.size(); i += 7) r[i] = static_cast<int64_t>(rng() % 4);  // hot rows
    for (size_t i = 0; i < c.size(); i += 7) c[i] = static_cast<int64_t>(rng() % 4);  // hot columns
    for (size_t i = 2; i < r.size(); i += 5) r[i] -= rows_n;                          // wrapped
    // (r, c) as one index into the flat view, every third one negative (wrapped).
    std::vector<int64_t> flat(r.size());
    for (size_t i = 0; i < r.size(); ++i) {
      flat[i] = ((r[i] + rows_n) % rows_n) * cols_n + c[i] - (i % 3 == 0 ? rows_n * cols_n : 0);
    }
    Tensor rows = from_vector<int64_t>(r, {n}, opts(kInt64));
    Tensor cols = from_vector<int64_t>(c, {n}, opts(kInt64));
    Tensor flat_index = from_vector<int64_t>(flat, {n}, opts(kInt64));
    std::vector<int64_t> nonnegative(flat);
    for (int64_t& v : nonnegative) v += v < 0 ? rows_n * cols_n : 0;
    Tensor flat_nonnegative = from_vector<int64_t>(nonnegative, {n}, opts(kInt64));
    // {0, 1} (or [-1, 1]): the hot elements' sums stay exact in every dtype.
    Tensor values = fractional_floats && (dtype == kFloat32 || dtype == kFloat64)
                        ? random_floats({n}, dtype, dev(), rng)
                        : random_values({n}, dtype, dev(), rng, 1);
    Tensor base = dtype_size(dtype) >= 4 ? random_values({rows_n, cols_n}, dtype, dev(), rng)
                                         : zeros({rows_n, cols_n}, opts(dtype));
    Tensor flat_base = base.reshape({rows_n * cols_n});
    // Compared in place, byte for byte (CPU tensors; a GPU result is copied):
    // 64 MiB host copies would dominate the test's time.
    const auto same_bytes = [](const Tensor& a, const Tensor& b) {
      const Tensor ha = a.to(Device(DeviceType::CPU)), hb = b.to(Device(DeviceType::CPU));
      return ha.nbytes() == hb.nbytes() && std::memcmp(ha.data_ptr(), hb.data_ptr(), ha.nbytes()) == 0;
    };
    for (bool accumulate : {false, true}) {
      const auto results = [&] {
        // Through a transposed view of a copy: the same elements, other strides.
        Tensor through_view = base.clone();
        through_view.t().index_put_({cols, rows}, values, accumulate);
        // scatter_/scatter_add_ of the same updates into the flat copy (no wrapping there).
        Tensor scattered = flat_base.clone();
        accumulate ? scattered.scatter_add_(0, flat_nonnegative, values)
                   : scattered.scatter_(0, flat_nonnegative, values);
        return std::vector<Tensor>{base.index_put({rows, cols}, values, accumulate),
                                   base.index_put({rows, cols}, Scalar(1), accumulate),
                                   flat_base.index_put({flat_index}, values, accumulate).reshape({rows_n, cols_n}),
                                   through_view, scattered.reshape({rows_n, cols_n})};
      };
      set_num_threads(1);
      const auto serial = results();
      EXPECT_FALSE(same_bytes(serial[0], base)) << dtype;
      for (size_t k : {2, 3, 4}) {
        EXPECT_TRUE(same_bytes(serial[k], serial[0])) << dtype << " case " << k << ", accumulate " << accumulate;
      }
      for (int t : {2, 3}) {
        if (!thread_counts_matter) break;
        if (t == 3 && dtype != kFloat32) continue;  // (time: one 64 MiB target per call)
        set_num_threads(t);
        const auto parallel = results();
        for (size_t k = 0; k < serial.size(); ++k) {
          EXPECT_TRUE(same_bytes(parallel[k], serial[k]))
              << dtype << " case " << k << ", accumulate " << accumulate << ", " << t << " threads";
        }
      }
      set_num_threads(threads);
    }
    // A bad index first, in the middle or last, in either tensor: nothing written.
    const Tensor before = base.clone();
    for (size_t at : {size_t{0}, static_cast<size_t>(n / 2 + 1), static_cast<size_t>(n - 1)}) {
      for (int in_cols : {0, 1}) {
        const int64_t bad = at == 0 ? -(int64_t{1} << 40) : int64_t{1} << 40;
        std::vector<int64_t> bad_r = r, bad_c = c;
        (in_cols ? bad_c : bad_r)[at] = bad;
        Tensor br = from_vector<int64_t>(bad_r, {n}, opts(kInt64));
        Tensor bc = from_vector<int64_t>(bad_c, {n}, opts(kInt64));
        set_num_threads(2);
        EXPECT_EQ(error_message<IndexError>([&] { base.index_put_({br, bc}, values, in_cols == 1); }),
                  "index " + std::to_string(bad) + " is out of bounds for dimension " + (in_cols ? "1" : "0") +
                      " with size " + std::to_string(in_cols ? cols_n : rows_n))
            << dtype << " at " << at;
        set_num_threads(threads);
        EXPECT_TRUE(same_bytes(base, before)) << dtype << " at " << at;
      }
    }
  }
}

TEST_P(IndexTest, ManyUpdatesIntoALargeTargetFromSeveralThreads) {
  if (gpu_logic()) set_deterministic(true);
  check_many_updates_into_a_large_target(dev(), (int64_t{1} << 16) + 11, {kFloat32, kInt64, kFloat16, kUInt8}, 47,
                                         false, GetParam() != "cpu-sorted");
}

TEST_P(IndexTest, DenseUpdatesIntoALargeTargetFromSeveralThreads) {
  // 4.25 Mi updates into 64 MiB: over 4 per cache line (the threshold), so the
  // CPU takes L2-sized buckets; 8-byte-entry (float32, uint8) and 16-byte-entry
  // (float64) lists; float sums of fractional values (order-sensitive bits).
  // (Not through the sorted path's host run: the CPU's bucket route is what
  // this size tests; the sorted path's steps do not depend on it.)
  if (GetParam() == "cpu-sorted") GTEST_SKIP() << "the CPU's bucket route";
  if (gpu_logic()) set_deterministic(true);
  check_many_updates_into_a_large_target(dev(), (int64_t{1} << 22) + (int64_t{1} << 18) + 11,
                                         {kFloat32, kFloat64, kUInt8}, 53, true, true);
}

TEST_P(IndexTest, AOneElementValueForAMaskIsConvertedAfterTheMaskIsChecked) {
  // self[mask] = <one-element CPU tensor> is PyTorch's masked_fill_: the mask's
  // shape is checked first, then the element is converted to self's dtype.
  Tensor self = zeros({3}, opts(kUInt8));
  Tensor wrong_mask = full({4}, true, opts(kBool));
  Tensor mask = from_vector<bool>({true, false, true}, {3}, opts(kBool));
  // On the CPU whatever the default device (cuda:0 on a machine with a GPU).
  const TensorOptions host = TensorOptions().device(Device(DeviceType::CPU));
  Tensor too_big = full({}, 300, host.dtype(kInt32));
  EXPECT_THROW(self.index_put_({wrong_mask}, too_big), IndexError);
  EXPECT_EQ(error_message<DTypeError>([&] { self.index_put_({mask}, too_big); }),
            "value cannot be converted to type uint8 without overflow");
  self.index_put_({mask}, full({1}, 7.0, host.dtype(kFloat64)));  // any dtype and shape
  EXPECT_EQ(host_values(self), (std::vector<double>{7, 0, 7}));
  // A Scalar argument is converted first, as Python converts it.
  EXPECT_THROW(self.index_put_({wrong_mask}, Scalar(300)), DTypeError);
}

// Every result of an op on CPU tensors lives on the CPU, whatever the default
// device: on a machine with a GPU the default is cuda:0, and a CPU result
// allocated there (self[mask] once was) is written by the CPU through a device
// pointer. Here the default is set to cuda:0; without a GPU an allocation there
// throws, with one the result would be on the wrong device.
TEST(IndexDefaultDevice, CpuOpsAllocateOnTheirOperandsDevice) {
  struct DefaultDeviceScope {  // restored however the test ends
    Device before = default_device();
    DefaultDeviceScope() { set_default_device(Device(DeviceType::CUDA, 0)); }
    ~DefaultDeviceScope() { set_default_device(before); }
  } scope;
  std::mt19937 rng(61);
  const Device cpu(DeviceType::CPU);
  const Tensor self = random_values({6, 5}, kFloat32, cpu, rng);
  const Tensor mask = random_values({6, 5}, kBool, cpu, rng);
  const Tensor row_mask = from_vector<bool>({true, false, true, true, false, true}, TensorOptions().dtype(kBool).device(cpu));
  const Tensor rows = random_index({7}, 6, cpu, rng);
  const Tensor cols = random_index({7}, 5, cpu, rng);
  const Tensor index = random_index({4, 5}, 6, cpu, rng);
  const Tensor src = random_values({4, 5}, kFloat32, cpu, rng);
  const Tensor values = random_values({7}, kFloat32, cpu, rng);
  const auto s = host_values(self), m = host_values(mask);
  std::vector<double> selected;
  for (size_t i = 0; i < s.size(); ++i) {
    if (m[i] != 0) selected.push_back(s[i]);
  }
  std::vector<std::pair<std::string, std::function<Tensor()>>> ops = {
      {"self[mask]", [&] { return self.index({mask}); }},
      {"self[row_mask]", [&] { return self.index({row_mask}); }},
      {"self[rows, cols]", [&] { return self.index({rows, cols}); }},
      {"index_put", [&] { return self.index_put({rows, cols}, values); }},
      {"index_put mask", [&] { return self.index_put({mask}, Scalar(2.0)); }},
      {"gather", [&] { return self.gather(0, index); }},
      {"scatter", [&] { return self.scatter(0, index, src); }},
      {"scatter value", [&] { return self.scatter(0, index, Scalar(1.5)); }},
      {"scatter_add", [&] { return self.scatter_add(0, index, src); }},
      {"scatter_reduce", [&] { return self.scatter_reduce(0, index, src, "amax"); }},
      {"index_add", [&] { return self.index_add(0, rows.narrow(0, 0, 4), src); }},
      {"add", [&] { return self.add(self); }},
      {"clone", [&] { return self.clone(); }},
  };
  for (const auto& [name, op] : ops) {
    Tensor out;
    EXPECT_NO_THROW(out = op()) << name;
    EXPECT_TRUE(out.defined() && out.is_cpu()) << name;
  }
  EXPECT_EQ(host_values(self.index({mask})), selected);
}

TEST_P(IndexTest, ABoolMaskThatIsSelf) {
  // self[mask] = one value is PyTorch's masked_fill_: the mask may be self
  // (its coordinates are taken before anything is written). With accumulate,
  // or a mask that only partly overlaps self, the update is refused.
  const std::string partial =
      "unsupported operation: some elements of the input tensor and the written-to tensor refer to a single "
      "memory location. Please clone() the tensor before performing the operation.";
  Tensor b = from_vector<bool>({true, false, true, true}, opts(kBool));
  const auto before = host_bytes(b);
  EXPECT_EQ(error_message<OverlapError>([&] { b.index_put_({b}, Scalar(true), true); }), partial);
  EXPECT_EQ(host_bytes(b), before);
  Tensor shifted = from_vector<bool>({true, false, true, true, false}, opts(kBool));
  EXPECT_EQ(error_message<OverlapError>([&] { shifted.narrow(0, 0, 4).index_put_({shifted.narrow(0, 1, 4)}, Scalar(true)); }),
            partial);
  b.index_put_({b}, Scalar(false));
  EXPECT_EQ(host_values(b), (std::vector<double>{0, 0, 0, 0}));
  Tensor u = from_vector<uint8_t>({1, 0, 1}, opts(kUInt8));
  // A one-element value on the CPU (whatever the default device) serves any device.
  u.index_put_({u.to(kBool)}, from_vector<uint8_t>({7}, TensorOptions().dtype(kUInt8).device(Device(DeviceType::CPU))));
  EXPECT_EQ(host_values(u), (std::vector<double>{7, 0, 7}));
}

TEST_P(IndexTest, OutOfPlaceIndexPutWithAScalar) {
  std::mt19937 rng(44);
  Tensor self = random_values({4, 5}, kInt32, dev(), rng);
  Tensor rows = from_vector<int64_t>({0, 3, -1, 2}, opts(kInt64));
  Tensor cols = from_vector<int64_t>({4, 0, 1, -5}, opts(kInt64));
  const auto before = host_values(self);
  for (bool accumulate : {false, true}) {
    const auto expected = reference_put_2d(before, 5, host_values(rows), host_values(cols), 4, {7.0}, accumulate, kInt32);
    EXPECT_EQ(host_values(self.index_put({rows, cols}, Scalar(7), accumulate)), expected);
    EXPECT_EQ(host_values(index_put(self, {rows, cols}, Scalar(7), accumulate)), expected);
  }
  EXPECT_EQ(host_values(self), before);  // out of place
  // A bad pair: the first bad value in index order is named.
  Tensor bad_rows = from_vector<int64_t>({0, 6, -9, 2}, opts(kInt64));
  EXPECT_EQ(error_message<IndexError>([&] { (void)self.index_put({bad_rows, cols}, Scalar(7)); }),
            "index 6 is out of bounds for dimension 0 with size 4");
}

TEST_P(IndexTest, CudaEqualsCpu) {
  if (GetParam() != "cuda") GTEST_SKIP() << "compares the CUDA result with the CPU one";
  std::mt19937 rng(30);
  const Device cpu(DeviceType::CPU);
  Tensor rows = random_index({5000}, 64, cpu, rng);
  Tensor cols = random_index({5000}, 64, cpu, rng);
  Tensor values = random_floats({5000}, kFloat32, cpu, rng);
  Tensor base = random_floats({64, 64}, kFloat32, cpu, rng);
  set_deterministic(true);
  for (bool accumulate : {false, true}) {
    EXPECT_EQ(host_bytes(base.to(dev()).index_put({rows.to(dev()), cols.to(dev())}, values.to(dev()), accumulate)),
              host_bytes(base.index_put({rows, cols}, values, accumulate)));
  }
  EXPECT_EQ(host_bytes(base.to(dev()).index({rows, cols})), host_bytes(base.index({rows, cols})));
  // CPU indices are accepted for a CUDA self.
  EXPECT_EQ(host_bytes(base.to(dev()).index({rows})), host_bytes(base.index({rows})));
}

INSTANTIATE_TEST_SUITE_P(Devices, IndexTest, scatter_devices(), device_name);

}  // namespace
}  // namespace strata
