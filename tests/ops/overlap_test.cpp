// PyTorch's memory-overlap rules, observed through the ops that apply them: the
// written tensor may not overlap itself (an expanded output) nor partially overlap
// an input; full overlap (x.add_(x)) is fine; layouts too hard to classify cheaply
// are not checked, as in PyTorch.
#include <gtest/gtest.h>

#include <random>

#include "ops/elementwise_test_util.h"
#include "strata/strata.h"

namespace strata {
namespace {

using testing::throws_with;

constexpr const char* kInternalText =
    "unsupported operation: more than one element of the written-to tensor refers to a single memory location. "
    "Please clone() the tensor before performing the operation.";
constexpr const char* kPartialText =
    "unsupported operation: some elements of the input tensor and the written-to tensor refer to a single memory "
    "location. Please clone() the tensor before performing the operation.";

class Overlap : public ::testing::TestWithParam<DeviceType> {
 protected:
  void SetUp() override { STRATA_SKIP_WITHOUT_DEVICE(GetParam()); }
  Tensor random(const Shape& shape) { return testing::random_tensor(shape, kFloat32, GetParam(), rng_); }
  std::mt19937 rng_{42};
};

INSTANTIATE_TEST_SUITE_P(Devices, Overlap, ::testing::Values(DeviceType::CPU, DeviceType::CUDA),
                         testing::DeviceName());

TEST_P(Overlap, ExpandedOutputHasInternalOverlap) {
  const Tensor x = random({1, 5});
  const auto before = x.to_vector<double>();
  const Tensor expanded = x.expand({4, 5});
  EXPECT_TRUE(throws_with<OverlapError>([&] { expanded.add_(random({4, 5})); }, kInternalText));
  EXPECT_TRUE(throws_with<OverlapError>([&] { add_out(expanded, random({4, 5}), random({5})); }, kInternalText));
  const Tensor column = random({3, 1}).expand({3, 6});
  EXPECT_TRUE(throws_with<OverlapError>([&] { column += 1; }, kInternalText));
  EXPECT_EQ(x.to_vector<double>(), before);
}

TEST_P(Overlap, DenseLayoutsHaveNoInternalOverlap) {
  const Tensor x = random({4, 6});
  EXPECT_NO_THROW(x.add_(1));
  EXPECT_NO_THROW(x.t().add_(1));                              // permuted but dense
  EXPECT_NO_THROW(x.unsqueeze(1).add_(1));                     // a size-1 dim with any stride
  EXPECT_NO_THROW(x.as_strided({4, 1, 6}, {6, 0, 1}).add_(1));  // size-1 dim with stride 0
  EXPECT_NO_THROW(x.slice(1, 0, 6, 2).add_(1));                 // not dense: too hard, unchecked
}

TEST_P(Overlap, OverlappingStridesThatAreNotExpandedAreNotChecked) {
  // Rows that share elements (as unfold makes) are "too hard" in PyTorch: no error.
  const Tensor x = random({8});
  const Tensor windows = x.as_strided({3, 4}, {2, 1});
  EXPECT_NO_THROW(windows.add_(random({3, 4})));
}

TEST_P(Overlap, FullOverlapIsAllowed) {
  const Tensor x = random({3, 4});
  const auto before = x.to_vector<double>();
  x.add_(x);
  const auto after = x.to_vector<double>();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(after[i], 2 * before[i]);
  // Another handle with the same range and strides is a full overlap too.
  const Tensor same_view = x.view({3, 4});
  EXPECT_NO_THROW(x.add_(same_view));
  EXPECT_NO_THROW(add_out(x, same_view, x));
}

TEST_P(Overlap, PartialOverlapWithAnInputThrows) {
  const Tensor x = random({10});
  const auto before = x.to_vector<double>();
  EXPECT_TRUE(throws_with<OverlapError>([&] { x.slice(0, 1).add_(x.slice(0, 0, 9)); }, kPartialText));
  EXPECT_TRUE(throws_with<OverlapError>([&] { x.slice(0, 0, 9).add_(x.slice(0, 1)); }, kPartialText));
  // Same range, other strides: a square tensor and its transpose.
  const Tensor sq = x.slice(0, 0, 9).view({3, 3});
  EXPECT_TRUE(throws_with<OverlapError>([&] { sq.add_(sq.t()); }, kPartialText));
  // The second input of add_out is checked as well.
  EXPECT_TRUE(throws_with<OverlapError>([&] { add_out(x.slice(0, 0, 5), random({5}), x.slice(0, 2, 7)); },
                                        kPartialText));
  EXPECT_EQ(x.to_vector<double>(), before);
}

TEST_P(Overlap, DisjointRangesEmptyTensorsAndOtherStoragesPass) {
  const Tensor x = random({10});
  EXPECT_NO_THROW(x.slice(0, 0, 5).add_(x.slice(0, 5, 10)));
  EXPECT_NO_THROW(x.slice(0, 0, 0).add_(x.slice(0, 0, 0)));
  EXPECT_NO_THROW(x.add_(random({10})));
  // An expanded input is not dense: too hard to classify, so it is allowed.
  EXPECT_NO_THROW(x.add_(x.slice(0, 0, 1).expand({10})));
}

}  // namespace
}  // namespace strata
