// Views: geometry of each view op, writes through views seen in the base,
// reshape as view or copy, and every error path.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <random>

#include "tests/core/core_test_util.h"

namespace strata {
namespace {

using testing::DeviceTest;
using testing::random_floats;
using testing::random_tensor;

class Views : public DeviceTest {
 protected:
  // Writes fresh values through `view` (a view of the contiguous `base`) and
  // checks that exactly the elements the view's geometry names changed in base.
  void expect_write_through(const Tensor& base, const Tensor& view, unsigned seed) {
    ASSERT_EQ(view.storage(), base.storage());
    ASSERT_EQ(base.storage_offset(), 0);
    const std::vector<float> before = base.to_vector<float>();
    std::vector<float> expected = before;
    Tensor values = random_tensor(view.sizes(), device(), seed);
    const std::vector<float> written = values.to_vector<float>();
    bool has_stride_zero = false;
    for (int64_t d = 0; d < view.dim(); ++d) has_stride_zero |= view.stride(d) == 0 && view.size(d) > 1;
    if (has_stride_zero) {
      // An expanded view may only be filled (each location gets one value).
      view.fill_(written.empty() ? 0.f : written[0]);
    } else {
      view.copy_(values);
    }
    // Walk the view's multi-indices in row-major order.
    std::vector<int64_t> index(view.dim(), 0);
    for (int64_t flat = 0; flat < view.numel(); ++flat) {
      int64_t offset = view.storage_offset();
      for (int64_t d = 0; d < view.dim(); ++d) offset += index[d] * view.stride(d);
      expected[offset] = has_stride_zero ? written[0] : written[flat];
      for (int64_t d = view.dim() - 1; d >= 0; --d) {
        if (++index[d] < view.size(d)) break;
        index[d] = 0;
      }
    }
    EXPECT_EQ(base.to_vector<float>(), expected);
    // And the view reads back what was written.
    if (!has_stride_zero) EXPECT_EQ(view.to_vector<float>(), written);
  }

  Tensor base(const Shape& shape, unsigned seed) { return random_tensor(shape, device(), seed); }
};
STRATA_INSTANTIATE_DEVICES(Views);

TEST_P(Views, ViewGeometryAndWriteThrough) {
  Tensor b = base({2, 3, 4}, 10);
  Tensor v = b.view({6, 4});
  EXPECT_EQ(v.sizes(), (Shape{6, 4}));
  EXPECT_EQ(v.strides(), (Shape{4, 1}));
  expect_write_through(b, v, 11);
  Tensor w = b.view({4, -1});
  EXPECT_EQ(w.sizes(), (Shape{4, 6}));
  expect_write_through(b, w, 12);
  // A transposed tensor can still be viewed along its contiguous chunks.
  Tensor t = b.transpose(0, 2);  // [4, 3, 2] strides [1, 4, 12]
  Tensor tv = t.view({4, 3, 2, 1});
  EXPECT_EQ(tv.strides(), (Shape{1, 4, 12, 12}));
  expect_write_through(b, tv, 13);
}

TEST_P(Views, ViewOfIncompatibleStridesThrows) {
  Tensor b = base({2, 3, 4}, 14);
  EXPECT_STRATA_ERROR(b.transpose(0, 1).view({-1}), ShapeError,
                      "view size is not compatible with input tensor's size and stride (at least one dimension spans "
                      "across two contiguous subspaces). Use .reshape(...) instead.");
  EXPECT_STRATA_ERROR(b.view({5, 5}), ShapeError, "shape '[5, 5]' is invalid for input of size 24");
  EXPECT_STRATA_ERROR(b.view({-1, -1}), ShapeError, "only one dimension can be inferred");
  EXPECT_STRATA_ERROR(b.view({-1, 5}), ShapeError, "shape '[-1, 5]' is invalid for input of size 24");
}

TEST_P(Views, ReshapeIsAViewWhenStridesAllowElseACopy) {
  Tensor b = base({3, 4}, 15);
  Tensor v = b.reshape({2, 6});
  EXPECT_EQ(v.storage(), b.storage());
  expect_write_through(b, v, 16);
  Tensor t = b.t();
  Tensor c = t.reshape({12});
  EXPECT_NE(c.storage(), b.storage());
  EXPECT_EQ(c.to_vector<float>(), t.contiguous().to_vector<float>());
  const std::vector<float> before = b.to_vector<float>();
  c.fill_(0.5);
  EXPECT_EQ(b.to_vector<float>(), before);
}

TEST_P(Views, SelectGeometryWriteThroughAndErrors) {
  Tensor b = base({3, 4}, 17);
  Tensor row = b.select(0, 1);
  EXPECT_EQ(row.sizes(), (Shape{4}));
  EXPECT_EQ(row.strides(), (Shape{1}));
  EXPECT_EQ(row.storage_offset(), 4);
  expect_write_through(b, row, 18);
  Tensor column = b.select(1, -1);
  EXPECT_EQ(column.strides(), (Shape{4}));
  EXPECT_EQ(column.storage_offset(), 3);
  expect_write_through(b, column, 19);
  Tensor element = column.select(0, 2);
  EXPECT_EQ(element.dim(), 0);
  EXPECT_EQ(element.storage_offset(), 11);
  expect_write_through(b, element, 20);
  EXPECT_STRATA_ERROR(b.select(0, 5), IndexError, "select(): index 5 out of range for tensor of size [3, 4] at dimension 0");
  EXPECT_STRATA_ERROR(b.select(1, -5), IndexError, "select(): index -5 out of range for tensor of size [3, 4] at dimension 1");
  EXPECT_STRATA_ERROR(b.select(2, 0), IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_STRATA_ERROR(element.select(0, 0), IndexError, "select() cannot be applied to a 0-dim tensor.");
}

TEST_P(Views, SliceAndNarrow) {
  Tensor b = base({10, 3}, 21);
  Tensor s = b.slice(0, 1, 8, 3);  // rows 1, 4, 7
  EXPECT_EQ(s.sizes(), (Shape{3, 3}));
  EXPECT_EQ(s.strides(), (Shape{9, 1}));
  EXPECT_EQ(s.storage_offset(), 3);
  expect_write_through(b, s, 22);
  // Python clamping of start and end.
  EXPECT_EQ(b.slice(0, -3).sizes(), (Shape{3, 3}));
  EXPECT_EQ(b.slice(0, -100, 100).sizes(), (Shape{10, 3}));
  EXPECT_EQ(b.slice(0, 7, 2).sizes(), (Shape{0, 3}));
  EXPECT_EQ(b.slice(1, 1, -1).sizes(), (Shape{10, 1}));
  Tensor n = b.narrow(1, 1, 2);
  EXPECT_EQ(n.sizes(), (Shape{10, 2}));
  EXPECT_EQ(n.storage_offset(), 1);
  expect_write_through(b, n, 23);
  EXPECT_EQ(b.narrow(0, -2, 2).storage_offset(), 24);
  EXPECT_STRATA_ERROR(b.slice(0, 0, 5, 0), ValueError, "slice step must be positive");
  EXPECT_STRATA_ERROR(b.narrow(0, 8, 3), IndexError, "start (8) + length (3) exceeds dimension size (10).");
  EXPECT_STRATA_ERROR(b.narrow(0, 11, 0), IndexError,
                      "start out of range (expected to be in range of [-10, 10], but got 11)");
  EXPECT_STRATA_ERROR(b.narrow(0, 0, -1), ShapeError, "narrow(): length must be non-negative.");
}

TEST_P(Views, SliceWithAHugeStepTakesTheFirstElement) {
  // (end - start + step - 1) / step and stride * step must not overflow.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  Tensor b = base({10, 3}, 40);
  Tensor s = b.slice(0, 2, 10, kMax);
  EXPECT_EQ(s.sizes(), (Shape{1, 3}));
  EXPECT_EQ(s.storage_offset(), 6);
  expect_write_through(b, s, 41);
  Tensor column = b.slice(1, 1, 3, kMax - 1);
  EXPECT_EQ(column.sizes(), (Shape{10, 1}));
  EXPECT_EQ(column.storage_offset(), 1);
  expect_write_through(b, column, 42);
  EXPECT_EQ(b.slice(0, 4, 4, kMax).sizes(), (Shape{0, 3}));
}

TEST_P(Views, ViewToAnOverflowingShapeThrows) {
  Tensor b = base({2, 4}, 43);
  // 4 * (2^62 + 2) wraps to 8 in int64: without an overflow check this would
  // be a "view" of 2^64 + 8 elements over 8.
  constexpr int64_t kWraps = (int64_t{1} << 62) + 2;
  EXPECT_STRATA_ERROR(b.view({4, kWraps}), ShapeError, "shape '[4, 4611686018427387906]' is invalid for input of size 8");
  EXPECT_STRATA_ERROR(b.reshape({kWraps, 4}), ShapeError,
                      "shape '[4611686018427387906, 4]' is invalid for input of size 8");
  constexpr int64_t kBig = int64_t{1} << 62;
  EXPECT_STRATA_ERROR(b.reshape({kBig, 4, -1}), ShapeError,
                      "shape '[4611686018427387904, 4, -1]' is invalid for input of size 8");
  Tensor empty_base = zeros({0, 3}, options());
  EXPECT_EQ(empty_base.view({kBig, 4, 0}).sizes(), (Shape{kBig, 4, 0}));
  EXPECT_STRATA_ERROR(empty_base.view({0, -1}), ShapeError,
                      "cannot reshape tensor of 0 elements into shape [0, -1] because the unspecified dimension size "
                      "-1 can be any value and is ambiguous");
  EXPECT_EQ(empty_base.view({-1, 6}).sizes(), (Shape{0, 6}));
}

TEST_P(Views, TransposePermuteAndT) {
  Tensor b = base({2, 3, 4}, 24);
  Tensor t = b.transpose(0, -1);
  EXPECT_EQ(t.sizes(), (Shape{4, 3, 2}));
  EXPECT_EQ(t.strides(), (Shape{1, 4, 12}));
  EXPECT_FALSE(t.is_contiguous());
  expect_write_through(b, t, 25);
  Tensor p = b.permute({1, 2, 0});
  EXPECT_EQ(p.sizes(), (Shape{3, 4, 2}));
  EXPECT_EQ(p.strides(), (Shape{4, 1, 12}));
  expect_write_through(b, p, 26);
  Tensor m = base({3, 5}, 27);
  EXPECT_EQ(m.t().strides(), (Shape{1, 5}));
  expect_write_through(m, m.t(), 28);
  EXPECT_EQ(base({4}, 29).t().sizes(), (Shape{4}));
  EXPECT_STRATA_ERROR(b.t(), ShapeError, "t() expects a tensor with <= 2 dimensions, but self is 3D");
  EXPECT_STRATA_ERROR(b.permute({0, 1}), ShapeError,
                      "permute(sparse_coo): number of dimensions in the tensor input does not match the length of "
                      "the desired ordering of dimensions i.e. input.dim() = 3 is not equal to len(dims) = 2");
  EXPECT_STRATA_ERROR(b.permute({0, 1, 1}), ShapeError, "permute(): duplicate dims are not allowed.");
  EXPECT_STRATA_ERROR(b.transpose(0, 3), IndexError,
                      "Dimension out of range (expected to be in range of [-3, 2], but got 3)");
}

TEST_P(Views, ExpandGivesStrideZeroAndErrors) {
  Tensor b = base({3, 1}, 30);
  Tensor e = b.expand({2, 3, 4});
  EXPECT_EQ(e.sizes(), (Shape{2, 3, 4}));
  EXPECT_EQ(e.strides(), (Shape{0, 1, 0}));
  expect_write_through(b, e, 31);
  const std::vector<float> host = b.to_vector<float>();
  const std::vector<float> expanded = b.expand({3, -1}).expand_as(e).to_vector<float>();
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      for (int k = 0; k < 4; ++k) EXPECT_EQ(expanded[(i * 3 + j) * 4 + k], host[j]);
    }
  }
  EXPECT_STRATA_ERROR(b.expand({3, 4, 2}).numel(), ShapeError,
                      "The expanded size of the tensor (4) must match the existing size (3) at non-singleton "
                      "dimension 1.  Target sizes: [3, 4, 2].  Tensor sizes: [3, 1]");
  EXPECT_STRATA_ERROR(b.expand({-1, 3, 1}), ShapeError,
                      "The expanded size of the tensor (-1) isn't allowed in a leading, non-existing dimension 0");
  EXPECT_STRATA_ERROR(b.expand({3}), ShapeError,
                      std::string("expand(") + (b.is_cuda() ? "CUDA" : "CPU") +
                          "FloatType{[3, 1]}, size=[3]): the number of sizes provided (1) must be greater or equal to "
                          "the number of dimensions in the tensor (2)");
}

TEST_P(Views, UnsqueezeSqueezeFlatten) {
  Tensor b = base({3, 4}, 32);
  Tensor u = b.unsqueeze(1);
  EXPECT_EQ(u.sizes(), (Shape{3, 1, 4}));
  EXPECT_EQ(u.strides(), (Shape{4, 4, 1}));
  expect_write_through(b, u, 33);
  Tensor last = b.unsqueeze(-1);
  EXPECT_EQ(last.sizes(), (Shape{3, 4, 1}));
  EXPECT_EQ(last.strides(), (Shape{4, 1, 1}));
  EXPECT_EQ(u.squeeze().sizes(), (Shape{3, 4}));
  EXPECT_EQ(u.squeeze(1).sizes(), (Shape{3, 4}));
  EXPECT_EQ(u.squeeze(0).sizes(), (Shape{3, 1, 4}));
  expect_write_through(b, u.unsqueeze(0).squeeze(), 34);
  EXPECT_STRATA_ERROR(b.unsqueeze(3), IndexError, "Dimension out of range (expected to be in range of [-3, 2], but got 3)");
  Tensor c = base({2, 3, 4}, 35);
  Tensor f = c.flatten(1);
  EXPECT_EQ(f.sizes(), (Shape{2, 12}));
  EXPECT_EQ(f.storage(), c.storage());
  expect_write_through(c, f, 36);
  EXPECT_EQ(c.flatten().sizes(), (Shape{24}));
  Tensor copied = c.transpose(0, 1).flatten();
  EXPECT_NE(copied.storage(), c.storage());
  EXPECT_EQ(copied.to_vector<float>(), c.transpose(0, 1).contiguous().to_vector<float>());
  EXPECT_EQ(full({}, 2.0, options()).flatten().sizes(), (Shape{1}));
  EXPECT_EQ(full({}, 2.0, options()).flatten(-1, 0).sizes(), (Shape{1}));
  EXPECT_STRATA_ERROR(full({}, 2.0, options()).flatten(1), IndexError,
                      "Dimension out of range (expected to be in range of [-1, 0], but got 1)");
  EXPECT_STRATA_ERROR(c.flatten(2, 1), ShapeError, "flatten() has invalid args: start_dim cannot come after end_dim");
}

TEST_P(Views, AsStridedWithinStorage) {
  Tensor b = base({12}, 37);
  Tensor a = b.as_strided({3, 2}, {4, 1}, 1);
  EXPECT_EQ(a.storage_offset(), 1);
  expect_write_through(b, a, 38);
  EXPECT_EQ(b.slice(0, 2).as_strided({2}, {3}).storage_offset(), 2);
  EXPECT_STRATA_ERROR(b.as_strided({4, 4}, {4, 1}), ShapeError,
                      "setStorage: sizes [4, 4], strides [4, 1], storage offset 0, and itemsize 4 requiring a "
                      "storage size of 64 are out of bounds for storage of size " +
                          std::to_string(b.storage().nbytes()));
  // Extents past int64 are refused, not wrapped into a small "valid" size.
  EXPECT_STRATA_ERROR(b.as_strided({3}, {int64_t{1} << 62}), ShapeError,
                      "setStorage: sizes [3], strides [4611686018427387904], storage offset 0, and itemsize 4 "
                      "requiring a storage size of more than 2^63 are out of bounds for storage of size " +
                          std::to_string(b.storage().nbytes()));
  EXPECT_STRATA_ERROR(b.as_strided({2}, {1}, std::numeric_limits<int64_t>::max()), ShapeError,
                      "setStorage: sizes [2], strides [1], storage offset 9223372036854775807, and itemsize 4 "
                      "requiring a storage size of more than 2^63 are out of bounds for storage of size " +
                          std::to_string(b.storage().nbytes()));
  // A size-1 dim may have any stride; copying from it never multiplies that stride.
  Tensor one_row = b.as_strided({1, 3}, {std::numeric_limits<int64_t>::max(), 1}, 2);
  const std::vector<float> host = b.to_vector<float>();
  EXPECT_EQ(one_row.clone().to_vector<float>(), (std::vector<float>{host[2], host[3], host[4]}));
  // A 0-element view anywhere is fine; a negative offset never is.
  EXPECT_EQ(b.as_strided({0, 5}, {1, 1}, 100).numel(), 0);
  EXPECT_STRATA_ERROR(b.as_strided({2}, {1}, -1), ShapeError, "Tensor: invalid storage offset -1");
}

TEST_P(Views, ViewsOfViewsKeepOffsets) {
  Tensor b = base({4, 5, 6}, 39);
  Tensor v = b.slice(0, 1, 3).select(2, 4).t().unsqueeze(0).narrow(1, 1, 3);  // [1, 3, 2]
  EXPECT_EQ(v.sizes(), (Shape{1, 3, 2}));
  EXPECT_EQ(v.strides(), (Shape{30, 6, 30}));
  EXPECT_EQ(v.storage_offset(), 30 + 4 + 6);
  expect_write_through(b, v, 40);
}

TEST_P(Views, RandomViewChainsWriteThrough) {
  std::mt19937 gen(41);
  auto pick = [&gen](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(gen); };
  for (int trial = 0; trial < 40; ++trial) {
    Tensor b = base({4, 5, 6}, 100 + trial);
    Tensor v = b;
    for (int step = 0; step < 4 && v.dim() > 0; ++step) {
      const int64_t d = pick(0, v.dim() - 1);
      switch (pick(0, 5)) {
        case 0:
          if (v.dim() > 1 && v.size(d) > 0) v = v.select(d, pick(-v.size(d), v.size(d) - 1));
          break;
        case 1: v = v.slice(d, pick(-v.size(d), v.size(d)), pick(0, v.size(d)), pick(1, 3)); break;
        case 2: v = v.transpose(d, pick(0, v.dim() - 1)); break;
        case 3: v = v.unsqueeze(pick(0, v.dim())); break;
        case 4: v = v.squeeze(); break;
        case 5: {
          Shape dims(v.dim());
          for (int64_t i = 0; i < v.dim(); ++i) dims[i] = i;
          std::shuffle(dims.begin(), dims.end(), gen);
          v = v.permute(dims);
          break;
        }
      }
    }
    if (v.dim() == 0) continue;
    expect_write_through(b, v, 200 + trial);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "trial " << trial << " sizes " << v.to_string();
      return;
    }
  }
}

}  // namespace
}  // namespace strata
