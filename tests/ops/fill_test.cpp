// zero_, fill_, zeros, ones and full on every dtype and device: values, layouts
// (strided, expanded, empty), storage identity and the overflow error.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "ops/elementwise_test_util.h"
#include "strata/strata.h"

namespace strata {
namespace {

using testing::all_dtypes;
using testing::cast_to;
using testing::throws_with;

class Fill : public ::testing::TestWithParam<DeviceType> {
 protected:
  void SetUp() override { STRATA_SKIP_WITHOUT_DEVICE(GetParam()); }
  TensorOptions on(DType dtype) const { return TensorOptions().dtype(dtype).device(Device(GetParam())); }
  Tensor random(const Shape& shape, DType dtype) { return testing::random_tensor(shape, dtype, GetParam(), rng_); }
  std::mt19937 rng_{2024};
};

INSTANTIATE_TEST_SUITE_P(Devices, Fill, ::testing::Values(DeviceType::CPU, DeviceType::CUDA), testing::DeviceName());

TEST_P(Fill, FactoriesOnEveryDType) {
  for (DType dt : all_dtypes()) {
    SCOPED_TRACE(::testing::Message() << dt);
    for (const Shape& shape : {Shape{3, 3}, Shape{}, Shape{70000}, Shape{2, 0, 3}}) {
      int64_t n = 1;
      for (int64_t s : shape) n *= s;
      const Tensor z = zeros(shape, on(dt));
      EXPECT_EQ(z.dtype(), dt);
      EXPECT_EQ(z.sizes(), shape);
      EXPECT_EQ(z.to_vector<double>(), std::vector<double>(n, 0.0));
      EXPECT_EQ(ones(shape, on(dt)).to_vector<double>(), std::vector<double>(n, 1.0));
      const double value = dt == kBool ? 1.0 : dt == kUInt8 ? 200.0 : is_integral(dt) ? -7.0 : -2.75;
      EXPECT_EQ(full(shape, value, on(dt)).to_vector<double>(), std::vector<double>(n, cast_to(dt, value)));
    }
  }
}

TEST_P(Fill, ZeroAndFillOverwriteRandomDataInPlace) {
  for (DType dt : all_dtypes()) {
    SCOPED_TRACE(::testing::Message() << dt);
    const Tensor x = random({50, 41}, dt);  // random: zeros would hide unwritten elements
    const Tensor handle = x;
    void* data = x.data_ptr();
    void* storage = x.storage().data();
    const Tensor& r = x.fill_(dt == kBool ? Scalar(true) : Scalar(3));
    EXPECT_TRUE(r.is_same(x));
    EXPECT_EQ(x.data_ptr(), data);
    EXPECT_EQ(x.storage().data(), storage);
    EXPECT_EQ(handle.to_vector<double>(), std::vector<double>(50 * 41, dt == kBool ? 1.0 : 3.0));
    x.zero_();
    EXPECT_EQ(x.data_ptr(), data);
    EXPECT_EQ(handle.to_vector<double>(), std::vector<double>(50 * 41, 0.0));
  }
}

TEST_P(Fill, StridedViewsWriteOnlyTheirElements) {
  for (DType dt : {kFloat32, kInt8, kFloat16, kInt64}) {
    SCOPED_TRACE(::testing::Message() << dt);
    const Tensor x = random({6, 8}, dt);
    auto want = x.to_vector<double>();
    x.slice(1, 1, 8, 3).fill_(5);  // columns 1, 4, 7
    for (int r = 0; r < 6; ++r) {
      for (int c : {1, 4, 7}) want[r * 8 + c] = 5;
    }
    EXPECT_EQ(x.to_vector<double>(), want);
    x.t().select(0, 2).zero_();  // column 2 through a transposed view
    for (int r = 0; r < 6; ++r) want[r * 8 + 2] = 0;
    EXPECT_EQ(x.to_vector<double>(), want);
    x.select(0, 3).zero_();  // a contiguous row inside a larger tensor
    for (int c = 0; c < 8; ++c) want[3 * 8 + c] = 0;
    EXPECT_EQ(x.to_vector<double>(), want);
  }
}

TEST_P(Fill, LargeStridedFillMatchesAcrossThreads) {
  const Tensor x = random({400, 300}, kFloat32);
  const int threads = get_num_threads();
  set_num_threads(std::max(threads, 2));
  x.t().slice(0, 0, 300, 2).fill_(1.5);  // every other column
  set_num_threads(threads);
  const auto v = x.to_vector<double>();
  for (int r = 0; r < 400; r += 37) {
    EXPECT_EQ(v[r * 300 + 0], 1.5);
    EXPECT_EQ(v[r * 300 + 298], 1.5);
  }
}

TEST_P(Fill, ExpandedTensorsMayBeFilled) {
  // Fill is idempotent, so an output that overlaps itself is fine (as in PyTorch).
  const Tensor x = random({1, 5}, kFloat32);
  x.expand({4, 5}).fill_(2.0);
  EXPECT_EQ(x.to_vector<double>(), std::vector<double>(5, 2.0));
  x.expand({3, 5}).zero_();
  EXPECT_EQ(x.to_vector<double>(), std::vector<double>(5, 0.0));
}

TEST_P(Fill, EmptyAndZeroDim) {
  const Tensor e = random({0, 4}, kFloat32);
  EXPECT_NO_THROW(e.fill_(1));
  EXPECT_NO_THROW(e.zero_());
  const Tensor s = random({}, kInt32);
  s.fill_(-9);
  EXPECT_EQ(s.item<int64_t>(), -9);
  s.zero_();
  EXPECT_EQ(s.item<int64_t>(), 0);
}

TEST_P(Fill, OverflowingValueThrowsAndLeavesTensorUnchanged) {
  const Tensor u8 = random({4}, kUInt8);
  const auto before = u8.to_vector<double>();
  EXPECT_TRUE(throws_with<DTypeError>([&] { u8.fill_(300); }, "value cannot be converted to type"));
  EXPECT_TRUE(throws_with<DTypeError>([&] { u8.fill_(-256); }, "without overflow"));
  EXPECT_TRUE(throws_with<DTypeError>([&] { u8.fill_(-1.5); }, "without overflow"));
  EXPECT_EQ(u8.to_vector<double>(), before);
  const Tensor h = random({4}, kFloat16);
  EXPECT_THROW(h.fill_(1e6), DTypeError);
}

TEST(FillCuda, CudaMatchesCpu) {
  if (!cuda::is_available()) GTEST_SKIP() << "strata: no CUDA device";
  for (DType dt : all_dtypes()) {
    const Tensor c = zeros({33, 65}, TensorOptions(dt).device(kCPU));
    const Tensor g = zeros({33, 65}, TensorOptions(dt).device("cuda"));
    c.slice(1, 3, 60, 4).fill_(1);
    g.slice(1, 3, 60, 4).fill_(1);
    EXPECT_EQ(g.to_vector<double>(), c.to_vector<double>());
    const Tensor big = full({1 << 22}, 1, TensorOptions(dt).device("cuda"));
    big.zero_();
    EXPECT_EQ(big.to_vector<double>(), std::vector<double>(1 << 22, 0.0));
  }
}

}  // namespace
}  // namespace strata
