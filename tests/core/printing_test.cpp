// Printing in PyTorch's style (expected texts are what torch prints for the
// same values, with "torch." replaced by "strata.").
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "tests/core/core_test_util.h"

namespace strata {
namespace {

using testing::DeviceTest;

class Printing : public DeviceTest {
 protected:
  // The text for this device: CUDA tensors add device='cuda:0' before the dtype.
  std::string expect(const std::string& body, const std::string& dtype_suffix = "") const {
    std::string out = "tensor(" + body;
    if (device().is_cuda()) out += ", device='cuda:0'";
    if (!dtype_suffix.empty()) out += ", " + dtype_suffix;
    return out + ")";
  }
  TensorOptions on_device() const { return TensorOptions().device(device()); }
};
STRATA_INSTANTIATE_DEVICES(Printing);

TEST_P(Printing, IntegralFloatsGetATrailingDot) {
  Tensor t = tensor({{1.f, 2.f}, {3.f, 4.f}}, on_device());
  EXPECT_EQ(t.to_string(), expect("[[1., 2.],\n        [3., 4.]]"));
  std::ostringstream os;
  os << t;
  EXPECT_EQ(os.str(), t.to_string());
  EXPECT_EQ(tensor({-1.f, 10.f}, on_device()).to_string(), expect("[-1., 10.]"));
}

TEST_P(Printing, FractionsUseFourDecimals) {
  EXPECT_EQ(tensor({1.5f, 2.f}, on_device()).to_string(), expect("[1.5000, 2.0000]"));
  EXPECT_EQ(tensor({-0.25f, 10.125f, 0.f}, on_device()).to_string(), expect("[-0.2500, 10.1250,  0.0000]"));
}

TEST_P(Printing, WideRangesUseScientificNotation) {
  EXPECT_EQ(tensor({1e-5f, 1.f}, on_device()).to_string(), expect("[1.0000e-05, 1.0000e+00]"));
  EXPECT_EQ(tensor({1.f, 10000.f}, on_device()).to_string(), expect("[1.0000e+00, 1.0000e+04]"));
  EXPECT_EQ(tensor({1e9, 2e9}, on_device()).to_string(), expect("[1.0000e+09, 2.0000e+09]"));
}

TEST_P(Printing, NonFiniteValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(from_vector(std::vector<float>{1.f, nan, inf, -inf}, on_device()).to_string(),
            expect("[1., nan, inf, -inf]"));
  EXPECT_EQ(from_vector(std::vector<float>{0.5f, nan}, on_device()).to_string(), expect("[0.5000,    nan]"));
}

TEST_P(Printing, ZerosAndNonFiniteOnlyPrintInIntMode) {
  // torch: no finite nonzero value leaves the formatter in int mode.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(zeros({3}, on_device()).to_string(), expect("[0., 0., 0.]"));
  EXPECT_EQ(from_vector(std::vector<float>{0.f, nan, -inf}, on_device()).to_string(), expect("[0., nan, -inf]"));
  EXPECT_EQ(zeros({}, TensorOptions().dtype(kFloat64).device(device())).to_string(),
            expect("0.", "dtype=strata.float64"));
  EXPECT_EQ(from_vector(std::vector<float>{-0.f, 0.f}, on_device()).to_string(), expect("[-0., 0.]"));
}

TEST_P(Printing, IntegersBoolsAndDTypeSuffixes) {
  EXPECT_EQ(tensor({1, 2, 3}, on_device()).to_string(), expect("[1, 2, 3]"));
  EXPECT_EQ(tensor({-10, 2}, on_device()).to_string(), expect("[-10,   2]"));
  EXPECT_EQ(tensor({1, 2}, TensorOptions().dtype(kInt32).device(device())).to_string(),
            expect("[1, 2]", "dtype=strata.int32"));
  EXPECT_EQ(tensor({true, false}, on_device()).to_string(), expect("[ True, False]"));
  EXPECT_EQ(tensor({1.5}, TensorOptions().dtype(kFloat16).device(device())).to_string(),
            expect("[1.5000]", "dtype=strata.float16"));
  EXPECT_EQ(tensor({2.0}, TensorOptions().dtype(kFloat64).device(device())).to_string(),
            expect("[2.]", "dtype=strata.float64"));
  EXPECT_EQ(tensor({200}, TensorOptions().dtype(kUInt8).device(device())).to_string(),
            expect("[200]", "dtype=strata.uint8"));
}

TEST_P(Printing, ZeroDimAndEmpty) {
  EXPECT_EQ(tensor(3.f, on_device()).to_string(), expect("3."));
  EXPECT_EQ(tensor(7, on_device()).to_string(), expect("7"));
  EXPECT_EQ(tensor(0.125, on_device()).to_string(), expect("0.1250"));
  EXPECT_EQ(zeros({0}, on_device()).to_string(), expect("[]"));
  EXPECT_EQ(zeros({2, 0}, on_device()).to_string(), expect("[]", "size=(2, 0)"));
  EXPECT_EQ(zeros({0}, TensorOptions().dtype(kInt64).device(device())).to_string(),
            expect("[]", "dtype=strata.int64"));
}

TEST_P(Printing, LongRowsWrapAtEightyColumns) {
  EXPECT_EQ(arange(20, TensorOptions().dtype(kFloat32).device(device())).to_string(),
            expect("[ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n"
                   "        14., 15., 16., 17., 18., 19.]"));
}

TEST_P(Printing, SuffixesMoveToANewLineWhenTheyDoNotFit) {
  if (device().is_cuda()) {
    EXPECT_EQ(arange(14, TensorOptions().dtype(kInt32).device(device())).to_string(),
              "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13],\n"
              "       device='cuda:0', dtype=strata.int32)");
  } else {
    EXPECT_EQ(arange(14, TensorOptions().dtype(kInt32).device(device())).to_string(),
              "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13],\n"
              "       dtype=strata.int32)");
  }
  EXPECT_EQ(tensor(true, on_device()).to_string(), expect("True"));
}

TEST_P(Printing, MoreThanAThousandElementsAreSummarized) {
  EXPECT_EQ(arange(2000, on_device()).to_string(), expect("[   0,    1,    2,  ..., 1997, 1998, 1999]"));
  EXPECT_EQ(arange(3000, on_device()).view({1000, 3}).to_string(),
            expect("[[   0,    1,    2],\n"
                   "        [   3,    4,    5],\n"
                   "        [   6,    7,    8],\n"
                   "        ...,\n"
                   "        [2991, 2992, 2993],\n"
                   "        [2994, 2995, 2996],\n"
                   "        [2997, 2998, 2999]]"));
}

TEST_P(Printing, ThreeDimensionsSeparateBlocksWithABlankLine) {
  EXPECT_EQ(arange(8, on_device()).view({2, 2, 2}).to_string(),
            expect("[[[0, 1],\n         [2, 3]],\n\n        [[4, 5],\n         [6, 7]]]"));
}

TEST_P(Printing, NonContiguousTensorsPrintInLogicalOrder) {
  EXPECT_EQ(arange(6, on_device()).view({2, 3}).t().to_string(), expect("[[0, 3],\n        [1, 4],\n        [2, 5]]"));
}

}  // namespace
}  // namespace strata
