// Shared helpers of the scatter-family tests: devices, random data, host
// snapshots and a row-major multi-index walker for the reference loops.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "strata/strata.h"
#include "tests/ops/scatter_sorted_stand_in.h"

namespace strata::scatter_test {

inline const std::vector<DType> kAllDTypes = {kBool,    kUInt8,   kInt8,    kInt16,   kInt32,
                                              kInt64,   kFloat16, kBFloat16, kFloat32, kFloat64};
inline const std::vector<DType> kNumericDTypes = {kUInt8,   kInt8,    kInt16,   kInt32,  kInt64,
                                                  kFloat16, kBFloat16, kFloat32, kFloat64};

/// Device parameter: "cpu", "cuda" (skips without a GPU), or "cpu-sorted": the
/// CPU with the CUDA deterministic sorted path's own steps standing in for the
/// CPU kernels wherever a GPU would take that path
/// (scatter_sorted_stand_in.h), so that deterministic-mode tests also check the
/// GPU's sorted-path logic where there is no GPU.
class DeviceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "cuda" && !cuda::is_available()) GTEST_SKIP() << "no CUDA device";
    set_deterministic(false);
    if (GetParam() == "cpu-sorted") stand_in_.emplace();
  }
  void TearDown() override {
    set_deterministic(false);
    stand_in_.reset();
  }
  Device dev() const { return Device(GetParam() == "cpu-sorted" ? "cpu" : GetParam()); }
  TensorOptions opts(DType dtype) const { return TensorOptions().dtype(dtype).device(dev()); }
  /// Whether the GPU's code runs the scatter updates: on "cuda", and on
  /// "cpu-sorted" in deterministic mode. Tests that need one definite winner
  /// among duplicates set deterministic mode where this is true.
  bool gpu_logic() const { return GetParam() != "cpu"; }

 private:
  std::optional<SortedPathOnHost> stand_in_;
};

inline std::string device_name(const ::testing::TestParamInfo<std::string>& info) {
  if (info.param == "cuda") return "CUDA";
  return info.param == "cpu-sorted" ? "CPUSorted" : "CPU";
}

/// The device parameters of the scatter-family suites.
inline auto scatter_devices() { return ::testing::Values("cpu", "cuda", "cpu-sorted"); }

/// Small integer values (exact in every dtype, so sums and products compare
/// exactly): [-8, 8] for signed types, [0, 15] for unsigned, {0, 1} for Bool.
inline Tensor random_values(const Shape& shape, DType dtype, const Device& device, std::mt19937& rng,
                            int magnitude = 8) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) {
    if (dtype == kBool) {
      x = static_cast<double>(rng() % 2);
    } else if (dtype == kUInt8) {
      x = static_cast<double>(rng() % (2 * magnitude));
    } else {
      x = static_cast<double>(static_cast<int>(rng() % (2 * magnitude + 1)) - magnitude);
    }
  }
  return from_vector<double>(v, shape, TensorOptions().dtype(dtype).device(device));
}

/// Uniform floats in [-1, 1) (for bitwise determinism checks).
inline Tensor random_floats(const Shape& shape, DType dtype, const Device& device, std::mt19937& rng) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = dist(rng);
  return from_vector<double>(v, shape, TensorOptions().dtype(dtype).device(device));
}

/// Int64 indices uniform in [0, bound).
inline Tensor random_index(const Shape& shape, int64_t bound, const Device& device, std::mt19937& rng) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t& x : v) x = static_cast<int64_t>(rng() % static_cast<uint64_t>(bound));
  return from_vector<int64_t>(v, shape, TensorOptions().dtype(kInt64).device(device));
}

/// The tensor's bytes in row-major order, on the host.
inline std::vector<uint8_t> host_bytes(const Tensor& t) {
  const Tensor c = t.contiguous().to(Device(DeviceType::CPU));
  std::vector<uint8_t> out(c.nbytes());
  if (!out.empty()) std::memcpy(out.data(), c.data_ptr(), out.size());
  return out;
}

inline std::vector<double> host_values(const Tensor& t) { return t.to_vector<double>(); }

/// Rounds a double to what a tensor of `dtype` stores.
inline double round_to(DType dtype, double v) {
  return from_vector<double>({v}, Shape{1}, TensorOptions().dtype(dtype).device(Device(DeviceType::CPU)))
      .to_vector<double>()[0];
}

/// Calls fn(multi_index) for every position of `shape` in row-major order.
inline void for_each_index(const Shape& shape, const std::function<void(const std::vector<int64_t>&)>& fn) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<int64_t> idx(shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    fn(idx);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

/// Row-major linear position of `idx` in `shape`.
inline int64_t linear_of(const Shape& shape, const std::vector<int64_t>& idx) {
  int64_t lin = 0;
  for (size_t d = 0; d < shape.size(); ++d) lin = lin * shape[d] + idx[d];
  return lin;
}

/// self[index[p] along dim] <reduce>= src[p] for every position p of the index,
/// in index order, on row-major host values; each step rounded to `dtype`.
/// reduce "assign" overwrites. PyTorch's rules: include_self=false starts a
/// touched element from the identity; mean divides by the count (+1 with self)
/// and floors for integers.
inline std::vector<double> reference_scatter(std::vector<double> self, const Shape& self_shape, int64_t dim,
                                      const std::vector<double>& index, const Shape& index_shape,
                                      const std::vector<double>& src, const Shape& src_shape,
                                      const std::string& reduce, bool include_self, DType dtype) {
  if (dim < 0) dim += static_cast<int64_t>(self_shape.size());
  const double inf = std::numeric_limits<double>::infinity();
  std::map<int64_t, int64_t> counts;
  for_each_index(index_shape, [&](const std::vector<int64_t>& at) {
    std::vector<int64_t> target = at;
    target[static_cast<size_t>(dim)] = static_cast<int64_t>(index[static_cast<size_t>(linear_of(index_shape, at))]);
    const int64_t p = linear_of(self_shape, target);
    double& dst = self[static_cast<size_t>(p)];
    const double v = src[static_cast<size_t>(linear_of(src_shape, at))];
    if (!include_self && counts.count(p) == 0) {
      dst = reduce == "prod" ? 1.0 : reduce == "amax" ? -inf : reduce == "amin" ? inf : 0.0;
    }
    ++counts[p];
    if (reduce == "assign") {
      dst = v;
    } else if (reduce == "sum" || reduce == "mean") {
      dst = round_to(dtype, dst + v);
    } else if (reduce == "prod") {
      dst = round_to(dtype, dst * v);
    } else if (reduce == "amax") {
      dst = std::isnan(v) || v > dst ? v : dst;
    } else if (reduce == "amin") {
      dst = std::isnan(v) || v < dst ? v : dst;
    }
  });
  if (reduce == "mean") {
    for (auto [p, c] : counts) {
      const double n = static_cast<double>(c + (include_self ? 1 : 0));
      double& dst = self[static_cast<size_t>(p)];
      dst = is_floating_point(dtype) ? round_to(dtype, dst / n) : std::floor(dst / n);
    }
  }
  return self;
}

/// An int64 index of `shape` whose entries along `dim` are distinct for every
/// fixed position of the other dims (taken from a permutation of [0, bound)),
/// so that scatter_ writes every destination at most once.
inline std::vector<int64_t> unique_along(const Shape& shape, int64_t dim, int64_t bound, std::mt19937& rng) {
  std::vector<int64_t> out(static_cast<size_t>(std::accumulate(shape.begin(), shape.end(), int64_t{1},
                                                               std::multiplies<int64_t>())));
  Shape lanes = shape;
  lanes[static_cast<size_t>(dim)] = 1;
  for_each_index(lanes, [&](const std::vector<int64_t>& lane) {
    std::vector<int64_t> perm(static_cast<size_t>(bound));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int64_t> at = lane;
    for (int64_t k = 0; k < shape[static_cast<size_t>(dim)]; ++k) {
      at[static_cast<size_t>(dim)] = k;
      out[static_cast<size_t>(linear_of(shape, at))] = perm[static_cast<size_t>(k)];
    }
  });
  return out;
}

/// index_add_'s reference: self.select(dim, index[i]) += alpha * source.select(dim, i)
/// ("or" for Bool), rounded to `dtype`.
inline std::vector<double> reference_index_add(std::vector<double> self, const Shape& self_shape, int64_t dim,
                                        const std::vector<double>& index, const std::vector<double>& source,
                                        const Shape& source_shape, double alpha, DType dtype) {
  for_each_index(source_shape, [&](const std::vector<int64_t>& at) {
    std::vector<int64_t> target = at;
    target[static_cast<size_t>(dim)] = static_cast<int64_t>(index[static_cast<size_t>(at[static_cast<size_t>(dim)])]);
    double& dst = self[static_cast<size_t>(linear_of(self_shape, target))];
    const double v = source[static_cast<size_t>(linear_of(source_shape, at))];
    dst = dtype == kBool ? static_cast<double>(dst != 0 || v != 0) : round_to(dtype, dst + alpha * v);
  });
  return self;
}

/// Message of the exception `fn` throws as E (fails the test otherwise).
template <typename E, typename Fn>
std::string error_message(Fn&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.message();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
    return {};
  }
  ADD_FAILURE() << "no exception thrown";
  return {};
}

}  // namespace strata::scatter_test
