// Factories: empty/zeros/ones/full/arange, the *_like forms, tensor() from
// nested lists, from_vector, fill_/zero_, and their errors.
#include <gtest/gtest.h>

#include <limits>

#include "tests/core/core_test_util.h"

namespace strata {
namespace {

using testing::DeviceTest;
using testing::random_floats;
using testing::random_tensor;

class Factories : public DeviceTest {};
STRATA_INSTANTIATE_DEVICES(Factories);

TEST_P(Factories, ZerosAreZeroEvenInReusedMemory) {
  for (int round = 0; round < 3; ++round) {
    {
      Tensor dirty = full({1000}, 7.5, options());  // returned to the pool at scope end
      EXPECT_EQ(dirty.to_vector<float>()[999], 7.5f);
    }
    Tensor z = zeros({1000}, options());
    for (float v : z.to_vector<float>()) ASSERT_EQ(v, 0.f);
  }
  // Large enough for the parallel zeroing path.
  {
    Tensor dirty = full({100000}, -1, options(kInt64));
  }
  for (int64_t v : zeros({100000}, options(kInt64)).to_vector<int64_t>()) ASSERT_EQ(v, 0);
  Tensor strided = full({300, 300}, 3.0, options(kFloat64));
  strided.slice(1, 0, 300, 3).zero_();
  const std::vector<double> after = strided.to_vector<double>();
  for (int i = 0; i < 300 * 300; ++i) ASSERT_EQ(after[i], i % 3 == 0 ? 0.0 : 3.0);
  for (const DType dtype : {kBool, kUInt8, kInt16, kInt64, kFloat16, kBFloat16, kFloat64}) {
    Tensor z = zeros({3, 5}, options(dtype));
    EXPECT_EQ(z.dtype(), dtype);
    for (double v : z.to_vector<double>()) EXPECT_EQ(v, 0.0);
  }
}

TEST_P(Factories, OnesAndFull) {
  for (double v : ones({2, 3}, options(kInt32)).to_vector<double>()) EXPECT_EQ(v, 1.0);
  // Like zeros (and torch.ones), ones without a dtype is Float32.
  EXPECT_EQ(ones({2, 3}, TensorOptions().device(device())).dtype(), kFloat32);
  EXPECT_EQ(ones_like(ones({2}, options(kInt16))).dtype(), kInt16);
  Tensor f = full({4}, 2.5, options(kFloat16));
  EXPECT_EQ(f.dtype(), kFloat16);
  for (float v : f.to_vector<float>()) EXPECT_EQ(v, 2.5f);
  // Without a dtype the value's kind decides, as in torch.full.
  EXPECT_EQ(full({2}, 3, TensorOptions().device(device())).dtype(), kInt64);
  EXPECT_EQ(full({2}, true, TensorOptions().device(device())).dtype(), kBool);
  EXPECT_EQ(full({2}, 0.5, TensorOptions().device(device())).dtype(), kFloat32);
  EXPECT_EQ(full({2}, int64_t{1} << 40, options(kInt64)).to_vector<int64_t>()[1], int64_t{1} << 40);
}

TEST_P(Factories, FillWritesConvertedValueThroughViews) {
  Tensor t = random_tensor({4, 6}, device(), 70);
  const std::vector<float> before = t.to_vector<float>();
  t.slice(1, 1, 6, 2).fill_(-3);
  const std::vector<float> after = t.to_vector<float>();
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 6; ++j) EXPECT_EQ(after[i * 6 + j], j % 2 == 1 ? -3.f : before[i * 6 + j]);
  }
  t.t().zero_();
  for (float v : t.to_vector<float>()) EXPECT_EQ(v, 0.f);
  Tensor ints = random_tensor({5}, device(), 71).to(kInt32);
  ints.fill_(2.9);  // truncates like a C++ conversion
  for (int32_t v : ints.to_vector<int32_t>()) EXPECT_EQ(v, 2);
  Tensor flags = zeros({3}, options(kBool));
  flags.fill_(5);
  for (uint8_t v : flags.to_vector<uint8_t>()) EXPECT_EQ(v, 1);
  // An expanded tensor may be filled (fill is idempotent).
  Tensor base = random_tensor({1, 3}, device(), 72);
  base.expand({4, 3}).fill_(1.25);
  for (float v : base.to_vector<float>()) EXPECT_EQ(v, 1.25f);
  // A large fill takes the parallel CPU path.
  Tensor big = empty({70000}, options(kInt16));
  big.fill_(-7);
  for (int16_t v : big.to_vector<int16_t>()) ASSERT_EQ(v, -7);
}

TEST_P(Factories, FillOverflowThrowsAndLeavesTheTensor) {
  Tensor t = full({3}, 9, options(kUInt8));
  EXPECT_STRATA_ERROR(t.fill_(256), DTypeError, "value cannot be converted to type uint8 without overflow");
  EXPECT_STRATA_ERROR(t.fill_(-256), DTypeError, "value cannot be converted to type uint8 without overflow");
  EXPECT_STRATA_ERROR(t.fill_(-0.5), DTypeError, "value cannot be converted to type uint8 without overflow");
  EXPECT_STRATA_ERROR(full({2}, 1e5, options(kFloat16)), DTypeError,
                      "value cannot be converted to type float16 without overflow");
  for (uint8_t v : t.to_vector<uint8_t>()) EXPECT_EQ(v, 9);
}

// PyTorch lets a negative integer wrap into uint8 when its magnitude fits:
// fill_(-1) writes 255, full(-255) 1.
TEST_P(Factories, NegativeIntegerWrapsIntoUInt8) {
  Tensor t = full({3}, 9, options(kUInt8));
  t.fill_(-1);
  EXPECT_EQ(t.to_vector<uint8_t>(), (std::vector<uint8_t>{255, 255, 255}));
  EXPECT_EQ(full({2}, -255, options(kUInt8)).to_vector<uint8_t>(), (std::vector<uint8_t>{1, 1}));
  EXPECT_EQ(full({}, -128, options(kUInt8)).item<int64_t>(), 128);
}

TEST_P(Factories, Arange) {
  Tensor a = arange(5, TensorOptions().device(device()));
  EXPECT_EQ(a.dtype(), kInt64);
  EXPECT_EQ(a.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(arange(2, 11, 3, TensorOptions().device(device())).to_vector<int64_t>(), (std::vector<int64_t>{2, 5, 8}));
  EXPECT_EQ(arange(5, 0, -2, TensorOptions().device(device())).to_vector<int64_t>(), (std::vector<int64_t>{5, 3, 1}));
  Tensor f = arange(0, 1, 0.25, TensorOptions().device(device()));
  EXPECT_EQ(f.dtype(), kFloat32);
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{0.f, 0.25f, 0.5f, 0.75f}));
  EXPECT_EQ(arange(4, options(kFloat64)).to_vector<double>(), (std::vector<double>{0, 1, 2, 3}));
  EXPECT_EQ(arange(3, 3, 1, options()).numel(), 0);
  EXPECT_STRATA_ERROR(arange(0, 5, 0, options()), ValueError, "step must be nonzero");
  // Huge steps and ranges wider than int64 count without overflowing.
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min(), kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(arange(0, 10, kMax, options(kInt64)).to_vector<int64_t>(), (std::vector<int64_t>{0}));
  EXPECT_EQ(arange(5, -5, kMin, options(kInt64)).to_vector<int64_t>(), (std::vector<int64_t>{5}));
  EXPECT_EQ(arange(kMin, kMax, int64_t{1} << 62, options(kInt64)).to_vector<int64_t>(),
            (std::vector<int64_t>{kMin, -(int64_t{1} << 62), 0, int64_t{1} << 62}));
  EXPECT_STRATA_ERROR(arange(kMin, kMax, 1, options()), ValueError, "invalid size, possible overflow?");
  EXPECT_STRATA_ERROR(arange(0.0, 1e300, 1.0, options()), ValueError, "invalid size, possible overflow?");
  EXPECT_STRATA_ERROR(arange(5, 0, 1, options()), ValueError, "upper bound and larger bound inconsistent with step sign");
}

TEST_P(Factories, LikeFactoriesCopyShapeDTypeAndDevice) {
  Tensor like = random_tensor({2, 5}, device(), 73).to(kInt16).t();
  Tensor e = empty_like(like);
  EXPECT_EQ(e.sizes(), (Shape{5, 2}));
  EXPECT_EQ(e.dtype(), kInt16);
  EXPECT_EQ(e.device(), device());
  EXPECT_TRUE(e.is_contiguous());
  for (double v : zeros_like(like).to_vector<double>()) EXPECT_EQ(v, 0.0);
  for (double v : ones_like(like, kFloat64).to_vector<double>()) EXPECT_EQ(v, 1.0);
  EXPECT_EQ(ones_like(like, kFloat64).dtype(), kFloat64);
  Tensor f = full_like(like, 4);
  EXPECT_EQ(f.dtype(), kInt16);
  for (double v : f.to_vector<double>()) EXPECT_EQ(v, 4.0);
}

TEST_P(Factories, TensorFromNestedLists) {
  Tensor i = tensor({{1, 2, 3}, {4, 5, 6}}, TensorOptions().device(device()));
  EXPECT_EQ(i.dtype(), kInt64);
  EXPECT_EQ(i.sizes(), (Shape{2, 3}));
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  Tensor f = tensor({1, 2.5}, TensorOptions().device(device()));
  EXPECT_EQ(f.dtype(), kFloat32);
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{1.f, 2.5f}));
  Tensor b = tensor({true, false}, TensorOptions().device(device()));
  EXPECT_EQ(b.dtype(), kBool);
  EXPECT_EQ(tensor({true, 2}, TensorOptions().device(device())).dtype(), kInt64);
  Tensor s = tensor(3.5, TensorOptions().device(device()));
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item<double>(), 3.5);
  Tensor h = tensor({{0.5}, {1.5}}, options(kFloat16));
  EXPECT_EQ(h.dtype(), kFloat16);
  EXPECT_EQ(h.sizes(), (Shape{2, 1}));
  const int64_t big = (int64_t{1} << 53) + 1;  // exact in int64, not in double
  EXPECT_EQ(tensor({big}, TensorOptions().device(device())).item<int64_t>(), big);
  EXPECT_STRATA_ERROR(tensor({{1, 2}, {3}}, TensorOptions().device(device())), ShapeError,
                      "expected sequence of length 2 at dim 1 (got 1)");
}

TEST_P(Factories, FromVector) {
  const std::vector<float> values = random_floats(12, 74);
  Tensor t = from_vector(values, {3, 4}, TensorOptions().device(device()));
  EXPECT_EQ(t.dtype(), kFloat32);
  EXPECT_EQ(t.sizes(), (Shape{3, 4}));
  EXPECT_EQ(t.to_vector<float>(), values);
  Tensor d = from_vector(values, {12}, options(kFloat64));
  EXPECT_EQ(d.dtype(), kFloat64);
  EXPECT_EQ(d.to_vector<float>(), values);
  EXPECT_STRATA_ERROR(from_vector(values, {5}, TensorOptions().device(device())), ShapeError,
                      "from_vector: 12 values cannot fill a tensor of shape [5]");
}

TEST_P(Factories, BadSizesThrowNamingTheShape) {
  EXPECT_STRATA_ERROR(empty({2, -1}, options()), ShapeError, "Trying to create tensor with negative dimension -1: [2, -1]");
  const int64_t huge = int64_t{1} << 40;
  EXPECT_STRATA_ERROR(empty({huge, huge}, options()), ShapeError,
                      "Trying to create tensor with shape [1099511627776, 1099511627776]: the number of elements "
                      "overflows int64");
  EXPECT_STRATA_ERROR(zeros({int64_t{1} << 61, 8}, options(kUInt8)), ShapeError,
                      "Trying to create tensor with shape [2305843009213693952, 8]: the number of elements overflows "
                      "int64");
  EXPECT_STRATA_ERROR(empty({int64_t{1} << 62}, options(kFloat64)), ShapeError,
                      "Trying to create tensor with shape [4611686018427387904] and dtype float64: the size in bytes "
                      "overflows int64");
  // A zero size makes any shape empty.
  EXPECT_EQ(empty({huge, huge, 0}, options()).numel(), 0);
}

}  // namespace
}  // namespace strata
