// Differential tests of the scatter family against ATen (libtorch's CPU tensor
// library) on the same random inputs. Built only when ATen is found.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <random>

#include "strata/strata.h"
#include "tests/ops/scatter_test_util.h"

namespace strata {
namespace {

using namespace scatter_test;

const Device kCpu(DeviceType::CPU);

at::ScalarType aten_type(DType dtype) {
  switch (dtype) {
    case kFloat64: return at::kDouble;
    case kInt64: return at::kLong;
    case kInt32: return at::kInt;
    default: return at::kFloat;
  }
}

at::Tensor to_aten(const Tensor& t) {
  const std::vector<double> v = t.to_vector<double>();
  at::Tensor out = at::empty(t.sizes(), at::TensorOptions().dtype(at::kDouble));
  std::copy(v.begin(), v.end(), out.data_ptr<double>());
  return out.to(aten_type(t.dtype()));
}

std::vector<double> aten_values(const at::Tensor& t) {
  const at::Tensor d = t.contiguous().to(at::kDouble);
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

void expect_close(const std::vector<double>& got, const std::vector<double>& expected, double tolerance,
                  const std::string& what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], expected[i], tolerance * (1 + std::fabs(expected[i]))) << what << " at " << i;
  }
}

TEST(ScatterAten, ScatterAddAndReduceMatchATen) {
  std::mt19937 rng(41);
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    for (int64_t dim : {0, 1}) {
      Tensor self = random_values({6, 7}, dtype, kCpu, rng);
      Tensor index = random_index({9, 5}, dim == 0 ? 6 : 7, kCpu, rng);
      if (dim == 1) index = random_index({5, 9}, 7, kCpu, rng);
      Tensor src = random_values(index.sizes(), dtype, kCpu, rng);
      const at::Tensor a_self = to_aten(self), a_index = to_aten(index), a_src = to_aten(src);
      expect_close(host_values(self.scatter_add(dim, index, src)), aten_values(a_self.scatter_add(dim, a_index, a_src)),
                   1e-6, "scatter_add");
      for (const char* reduce : {"sum", "prod", "mean", "amax", "amin"}) {
        for (bool include_self : {true, false}) {
          expect_close(host_values(self.scatter_reduce(dim, index, src, reduce, include_self)),
                       aten_values(a_self.scatter_reduce(dim, a_index, a_src, reduce, include_self)), 1e-5,
                       std::string("scatter_reduce ") + reduce);
        }
      }
    }
  }
}

TEST(ScatterAten, ScatterWithUniqueIndicesAndGatherMatchATen) {
  std::mt19937 rng(42);
  Tensor self = random_values({8, 5}, kFloat32, kCpu, rng);
  std::vector<int64_t> perm(8 * 5);
  for (int64_t c = 0; c < 5; ++c) {
    std::vector<int64_t> rows = {0, 1, 2, 3, 4, 5, 6, 7};
    std::shuffle(rows.begin(), rows.end(), rng);
    for (int64_t r = 0; r < 8; ++r) perm[static_cast<size_t>(r * 5 + c)] = rows[static_cast<size_t>(r)];
  }
  Tensor index = from_vector<int64_t>(perm, {8, 5});
  Tensor src = random_values({8, 5}, kFloat32, kCpu, rng);
  const at::Tensor a_self = to_aten(self), a_index = to_aten(index), a_src = to_aten(src);
  EXPECT_EQ(host_values(self.scatter(0, index, src)), aten_values(a_self.scatter(0, a_index, a_src)));
  EXPECT_EQ(host_values(self.scatter(0, index, Scalar(2.5))), aten_values(a_self.scatter(0, a_index, 2.5)));
  EXPECT_EQ(host_values(self.gather(0, index)), aten_values(a_self.gather(0, a_index)));
  Tensor index1 = random_index({8, 9}, 5, kCpu, rng);
  EXPECT_EQ(host_values(self.gather(1, index1)), aten_values(a_self.gather(1, to_aten(index1))));
}

TEST(ScatterAten, IndexPutIndexAndIndexAddMatchATen) {
  std::mt19937 rng(43);
  for (DType dtype : {kFloat32, kFloat64, kInt64}) {
    Tensor self = random_values({6, 5, 4}, dtype, kCpu, rng);
    Tensor i0 = random_index({3, 1}, 6, kCpu, rng);
    Tensor i2 = from_vector<int64_t>({-1, 0, 3, -4}, Shape{4});
    const at::Tensor a_self = to_aten(self), a_i0 = to_aten(i0), a_i2 = to_aten(i2);
    // Non-adjacent indexed dims: the broadcast index dims [3, 4] come first.
    const at::Tensor a_read = at::index(a_self, {a_i0, c10::nullopt, a_i2});
    const Tensor read = self.index({i0, std::nullopt, i2});
    EXPECT_EQ(read.sizes(), Shape(a_read.sizes().begin(), a_read.sizes().end()));
    EXPECT_EQ(host_values(read), aten_values(a_read));
    Tensor values = random_values({5}, dtype, kCpu, rng);
    const at::Tensor a_values = to_aten(values);
    c10::List<c10::optional<at::Tensor>> a_indices;
    a_indices.push_back(a_i0);
    a_indices.push_back(c10::nullopt);
    a_indices.push_back(a_i2);
    expect_close(host_values(self.index_put({i0, std::nullopt, i2}, values, true)),
                 aten_values(a_self.index_put(a_indices, a_values, true)), 1e-6, "index_put accumulate");
    // index_add_ along each dim with alpha.
    for (int64_t dim : {0, 1, 2}) {
      Shape source_shape = {6, 5, 4};
      source_shape[static_cast<size_t>(dim)] = 7;
      Tensor source = random_values(source_shape, dtype, kCpu, rng);
      Tensor index = random_index({7}, self.size(dim), kCpu, rng);
      expect_close(host_values(self.index_add(dim, index, source, 3)),
                   aten_values(a_self.index_add(dim, to_aten(index), to_aten(source), 3)), 1e-6, "index_add");
    }
  }
}

}  // namespace
}  // namespace strata
