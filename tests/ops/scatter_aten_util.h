// Shared helpers of the scatter-family differential tests against ATen
// (scatter_aten_test.cpp, scatter_fuzz_aten_test.cpp): dtype and tensor
// conversions, ATen index lists, exact comparison and error capture.
#pragma once

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "strata/strata.h"
#include "tests/ops/scatter_test_util.h"

namespace strata::scatter_test {

inline at::ScalarType aten_type(DType dtype) {
  switch (dtype) {
    case kBool: return at::kBool;
    case kUInt8: return at::kByte;
    case kInt8: return at::kChar;
    case kInt16: return at::kShort;
    case kInt32: return at::kInt;
    case kInt64: return at::kLong;
    case kFloat16: return at::kHalf;
    case kBFloat16: return at::kBFloat16;
    case kFloat32: return at::kFloat;
    case kFloat64: return at::kDouble;
  }
  ADD_FAILURE() << "no ATen type for " << dtype;
  return at::kFloat;
}

/// A contiguous ATen tensor with the values, shape and dtype of `t`.
inline at::Tensor to_aten(const Tensor& t) {
  const std::vector<double> v = t.to_vector<double>();
  at::Tensor out = at::empty(t.sizes(), at::TensorOptions().dtype(at::kDouble));
  std::copy(v.begin(), v.end(), out.data_ptr<double>());
  return out.to(aten_type(t.dtype()));
}

/// The values of an ATen tensor in row-major order.
inline std::vector<double> aten_values(const at::Tensor& t) {
  const at::Tensor d = t.contiguous().to(at::kDouble);
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

using ATenIndices = c10::List<c10::optional<at::Tensor>>;

inline ATenIndices aten_indices(std::initializer_list<c10::optional<at::Tensor>> items) {
  ATenIndices out;
  for (const auto& item : items) out.push_back(item);
  return out;
}

/// Exact comparison of the values (and shapes) of a strata and an ATen result.
inline void expect_same(const Tensor& got, const at::Tensor& expected, const std::string& what) {
  ASSERT_EQ(got.sizes(), Shape(expected.sizes().begin(), expected.sizes().end())) << what;
  const std::vector<double> g = host_values(got), e = aten_values(expected);
  for (size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(e[i])) {
      ASSERT_TRUE(std::isnan(g[i])) << what << " at " << i;
    } else {
      ASSERT_EQ(g[i], e[i]) << what << " at " << i;
    }
  }
}

/// The message ATen raises: what() up to the first newline (ATen appends
/// "Exception raised from ..." and a backtrace), or "<no error>". Any
/// std::exception: besides c10::Error, this ATen's Scalar conversions throw a
/// plain std::runtime_error.
template <typename Fn>
std::string aten_error(Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    const std::string what = e.what();
    return what.substr(0, what.find('\n'));
  }
  return "<no error>";
}

/// The message strata raises (message(): what() without the " [file:line]"
/// suffix), or "<no error>".
template <typename Fn>
std::string strata_error(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.message();
  }
  return "<no error>";
}

/// Int64 indices of `shape` distinct along `dim` (unique_along), so that
/// scatter_ writes each element once.
inline Tensor unique_index(const Shape& shape, int64_t dim, int64_t bound, std::mt19937& rng) {
  return from_vector<int64_t>(unique_along(shape, dim, bound, rng), shape);
}

/// Sets the deterministic mode for a scope and restores the default
/// (non-deterministic) mode when it ends.
struct DeterministicScope {
  explicit DeterministicScope(bool on) { set_deterministic(on); }
  ~DeterministicScope() { set_deterministic(false); }
};

}  // namespace strata::scatter_test
