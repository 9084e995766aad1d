// Helpers shared by the elementwise op tests (fill, add): device parameters,
// fresh random data per dtype, and a double-precision reference of PyTorch's
// conversions.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "strata/strata.h"

namespace strata::testing {

inline const std::vector<DType>& all_dtypes() {
  static const std::vector<DType> dtypes = {kBool,    kUInt8,    kInt8,    kInt16,   kInt32,
                                            kInt64,   kFloat16,  kBFloat16, kFloat32, kFloat64};
  return dtypes;
}

/// Parameter name generator for device-parameterized suites: "CPU" / "CUDA", so
/// that ctest's cuda entry picks the CUDA cases by name.
struct DeviceName {
  std::string operator()(const ::testing::TestParamInfo<DeviceType>& info) const {
    return info.param == DeviceType::CPU ? "CPU" : "CUDA";
  }
};

#define STRATA_SKIP_WITHOUT_DEVICE(type)                                          \
  do {                                                                             \
    if ((type) == ::strata::DeviceType::CUDA && !::strata::cuda::is_available()) { \
      GTEST_SKIP() << "strata: no CUDA device";                                    \
    }                                                                              \
  } while (0)

/// Random values that every dtype holds exactly: 0/1 for Bool, small integers
/// (non-negative for UInt8), multiples of 1/4 below 32 in magnitude for floats.
inline std::vector<double> random_values(DType dtype, int64_t n, std::mt19937& rng) {
  std::vector<double> values(static_cast<size_t>(n));
  std::uniform_int_distribution<int> small(-40, 40);
  std::uniform_int_distribution<int> quarter(-120, 120);
  for (double& v : values) {
    if (dtype == kBool) {
      v = (rng() & 1) ? 1.0 : 0.0;
    } else if (dtype == kUInt8) {
      v = static_cast<double>(rng() % 60);
    } else if (is_integral(dtype)) {
      v = small(rng);
    } else {
      v = quarter(rng) / 4.0;
    }
  }
  return values;
}

inline Tensor random_tensor(const Shape& shape, DType dtype, DeviceType device, std::mt19937& rng) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return from_vector(random_values(dtype, n, rng), shape, TensorOptions().dtype(dtype).device(Device(device)));
}

/// `value` converted to `dtype` as C++ (and PyTorch) converts: integers wrap,
/// Bool is != 0, floating types round.
inline double cast_to(DType dtype, double value) {
  switch (dtype) {
    case DType::Bool: return value != 0.0 ? 1.0 : 0.0;
    case DType::UInt8: return static_cast<uint8_t>(static_cast<int64_t>(value));
    case DType::Int8: return static_cast<int8_t>(static_cast<int64_t>(value));
    case DType::Int16: return static_cast<int16_t>(static_cast<int64_t>(value));
    case DType::Int32: return static_cast<int32_t>(static_cast<int64_t>(value));
    case DType::Int64: return static_cast<double>(static_cast<int64_t>(value));
    case DType::Float16: return static_cast<float>(Half(static_cast<float>(value)));
    case DType::BFloat16: return static_cast<float>(BFloat16(static_cast<float>(value)));
    case DType::Float32: return static_cast<float>(value);
    case DType::Float64: return value;
  }
  return value;
}

/// Allowed relative error of a result computed in `compute` and stored as
/// `out` against the exact value (0 for integer results).
inline double tolerance(DType compute, DType out) {
  auto eps = [](DType d) {
    switch (d) {
      case DType::Float16: return 1e-3;
      case DType::BFloat16: return 8e-3;
      case DType::Float32: return 1e-6;
      case DType::Float64: return 1e-14;
      default: return 0.0;
    }
  };
  return std::max(eps(compute), eps(out));
}

inline ::testing::AssertionResult near_values(const std::vector<double>& got, const std::vector<double>& want,
                                              double rel_tol) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "sizes differ: " << got.size() << " vs " << want.size();
  }
  for (size_t i = 0; i < got.size(); ++i) {
    const double diff = std::fabs(got[i] - want[i]);
    const bool both_nan = std::isnan(got[i]) && std::isnan(want[i]);
    if (!both_nan && diff > rel_tol * std::max(1.0, std::fabs(want[i]))) {
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << ", want " << want[i];
    }
  }
  return ::testing::AssertionSuccess();
}

/// Runs `fn` and expects it to throw E whose message contains `text`.
template <typename E, typename Fn>
::testing::AssertionResult throws_with(Fn&& fn, const std::string& text) {
  try {
    fn();
  } catch (const E& e) {
    if (std::string(e.what()).find(text) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "message \"" << e.what() << "\" lacks \"" << text << "\"";
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw another type: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

}  // namespace strata::testing
