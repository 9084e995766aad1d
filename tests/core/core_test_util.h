// Helpers shared by the core tests: device parameterization and random data.
#pragma once

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "strata/strata.h"

namespace strata::testing {

/// Tests parameterized over {CPU, CUDA}; CUDA cases skip without a GPU.
class DeviceTest : public ::testing::TestWithParam<Device> {
 protected:
  void SetUp() override {
    if (GetParam().is_cuda() && !cuda::is_available()) GTEST_SKIP() << "strata: no CUDA device";
  }
  Device device() const { return GetParam(); }
  TensorOptions options(DType dtype = kFloat32) const { return TensorOptions().dtype(dtype).device(GetParam()); }
};

inline std::string device_name(const ::testing::TestParamInfo<Device>& info) {
  return info.param.is_cuda() ? "CUDA" : "CPU";
}

#define STRATA_INSTANTIATE_DEVICES(Suite)                                                              \
  INSTANTIATE_TEST_SUITE_P(Devices, Suite, ::testing::Values(::strata::kCPU, ::strata::Device("cuda")), \
                           ::strata::testing::device_name)

/// `n` uniform values in [lo, hi) from a fixed seed.
inline std::vector<float> random_floats(size_t n, unsigned seed, float lo = -10.f, float hi = 10.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> out(n);
  for (float& v : out) v = dist(gen);
  return out;
}

/// A float32 tensor of fresh random values with `shape` on `device`.
inline Tensor random_tensor(const Shape& shape, const Device& device, unsigned seed) {
  int64_t n = 1;
  for (const int64_t s : shape) n *= s;
  return from_vector(random_floats(static_cast<size_t>(n), seed), shape, TensorOptions().device(device));
}

/// Expects `statement` to throw `ErrorType` whose message() equals `text`.
#define EXPECT_STRATA_ERROR(statement, ErrorType, text)                               \
  do {                                                                               \
    try {                                                                            \
      statement;                                                                     \
      ADD_FAILURE() << "expected " #ErrorType " from " #statement;                   \
    } catch (const ErrorType& strata_error_) {                                       \
      EXPECT_EQ(strata_error_.message(), std::string(text));                         \
    } catch (const std::exception& strata_other_) {                                  \
      ADD_FAILURE() << "expected " #ErrorType ", got: " << strata_other_.what();      \
    }                                                                                \
  } while (0)

}  // namespace strata::testing
