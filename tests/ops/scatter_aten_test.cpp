// Differential tests of the scatter family against ATen (libtorch's CPU tensor
// library) on the same random inputs. Built only when ATen is found.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "strata/strata.h"
#include "tests/ops/scatter_aten_util.h"
#include "tests/ops/scatter_test_util.h"

namespace strata {
namespace {

using namespace scatter_test;

const Device kCpu(DeviceType::CPU);

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

// ---- differential cases over every dtype, non-contiguous operands and error texts ----

struct AtenScatterCase {
  Shape self_shape;
  Shape index_shape;
  Shape src_shape;
  int64_t dim;
};

const std::vector<AtenScatterCase> kAtenCases = {
    {{6, 7}, {4, 5}, {5, 6}, 0},
    {{6, 7}, {5, 3}, {6, 3}, 1},
    {{3, 4, 5}, {2, 3, 4}, {3, 3, 4}, 2},
};

// scatter_ (unique destinations), scatter_add_ and scatter_reduce_ (every
// reduce, both include_self) for every dtype. Small integers with at most a
// few updates per element: exact in every dtype, so the comparison is exact.
TEST(ScatterAten, ScatterFamilyEveryDtypeMatchesATen) {
  DeterministicScope deterministic(true);  // sums in index order, as ATen's CPU loop
  std::mt19937 rng(51);
  for (DType dtype : kAllDTypes) {
    for (const AtenScatterCase& c : kAtenCases) {
      const size_t d = static_cast<size_t>(c.dim);
      const std::string where = to_string(dtype) + " dim " + std::to_string(c.dim);
      Tensor self = random_values(c.self_shape, dtype, kCpu, rng);
      Tensor src = random_values(c.src_shape, dtype, kCpu, rng);
      Tensor unique = unique_index(c.index_shape, c.dim, c.self_shape[d], rng);
      Tensor index = random_index(c.index_shape, c.self_shape[d], kCpu, rng);
      const at::Tensor a_self = to_aten(self), a_src = to_aten(src);
      const at::Tensor a_unique = to_aten(unique), a_index = to_aten(index);
      expect_same(self.scatter(c.dim, unique, src), a_self.scatter(c.dim, a_unique, a_src), "scatter " + where);
      expect_same(self.scatter_add(c.dim, index, src), a_self.scatter_add(c.dim, a_index, a_src),
                  "scatter_add " + where);
      for (const char* reduce : {"sum", "prod", "mean", "amax", "amin"}) {
        if (dtype == kBool && std::string(reduce) == "mean") continue;  // ATen: not implemented for 'Bool'
        const int magnitude = std::string(reduce) == "prod" ? 2 : 8;
        Tensor rself = random_values(c.self_shape, dtype, kCpu, rng, magnitude);
        Tensor rsrc = random_values(c.src_shape, dtype, kCpu, rng, magnitude);
        for (bool include_self : {true, false}) {
          expect_same(rself.scatter_reduce(c.dim, index, rsrc, reduce, include_self),
                      to_aten(rself).scatter_reduce(c.dim, a_index, to_aten(rsrc), reduce, include_self),
                      std::string("scatter_reduce ") + reduce + " include_self=" + std::to_string(include_self) +
                          " " + where);
        }
      }
    }
  }
}

// Rounding sums: many random floats into a few elements, in deterministic mode
// (strata sums in index order like ATen's CPU loop): the same bits.
TEST(ScatterAten, RoundingSumsMatchATenBitForBitInDeterministicMode) {
  DeterministicScope deterministic(true);
  std::mt19937 rng(52);
  for (DType dtype : {kFloat32, kFloat64, kFloat16, kBFloat16}) {
    Tensor self = random_floats({8, 3}, dtype, kCpu, rng);
    Tensor index = random_index({700, 3}, 8, kCpu, rng);
    Tensor src = random_floats({700, 3}, dtype, kCpu, rng);
    const at::Tensor a_self = to_aten(self), a_index = to_aten(index), a_src = to_aten(src);
    expect_same(self.scatter_add(0, index, src), a_self.scatter_add(0, a_index, a_src), "scatter_add " + to_string(dtype));
    for (bool include_self : {true, false}) {
      expect_same(self.scatter_reduce(0, index, src, "mean", include_self),
                  a_self.scatter_reduce(0, a_index, a_src, "mean", include_self),
                  "mean include_self=" + std::to_string(include_self) + " " + to_string(dtype));
    }
    Tensor source = random_floats({700, 3}, dtype, kCpu, rng);
    Tensor index1 = random_index({700}, 8, kCpu, rng);
    expect_same(self.index_add(0, index1, source, 0.5), a_self.index_add(0, to_aten(index1), to_aten(source), 0.5),
                "index_add " + to_string(dtype));
    // An alpha no float holds exactly, into a vector (ATen's serial loop:
    // for the 16-bit types alpha and the product are rounded to the dtype).
    Tensor vec = random_floats({8}, dtype, kCpu, rng);
    Tensor values = random_floats({700}, dtype, kCpu, rng);
    for (const double alpha : {0.1, -2.7}) {
      expect_same(vec.index_add(0, index1, values, alpha), to_aten(vec).index_add(0, to_aten(index1), to_aten(values), alpha),
                  "1-D index_add alpha " + std::to_string(alpha) + " " + to_string(dtype));
    }
  }
}

// BFloat16 sums and products that meet a NaN (of either sign, any payload) give
// c10::BFloat16's one NaN, 0x7fc0, as ATen's scalar loops do, in both modes
// and on any route (4096 updates into 64 slots; assignments and amax/amin
// copy the NaN's bits unchanged, as ATen). ATen's vectorized division (the
// mean) writes 0xffff instead: not compared here.
TEST(ScatterAten, BFloat16NaNResultsHaveATensBits) {
  std::mt19937 rng(static_cast<uint32_t>(::testing::UnitTest::GetInstance()->random_seed()));
  const int64_t n = 4096, slots = 64;
  std::vector<uint16_t> bits(static_cast<size_t>(n));
  for (auto& b : bits) {
    b = rng() % 8 == 0 ? static_cast<uint16_t>(0x7f80u | (rng() & 0x807fu) | 1u)  // a NaN
                       : static_cast<uint16_t>((0x3f00u + rng() % 256u) | (rng() % 2 != 0 ? 0x8000u : 0u));
  }
  Tensor src = empty({n}, TensorOptions().dtype(kBFloat16).device(kCpu));
  std::memcpy(src.data_ptr(), bits.data(), bits.size() * sizeof(uint16_t));
  const Tensor self = random_floats({slots}, kBFloat16, kCpu, rng);
  const Tensor index = random_index({n}, slots, kCpu, rng);
  const at::Tensor a_self = to_aten(self), a_index = to_aten(index);
  const at::Tensor a_src = at::empty({n}, at::TensorOptions().dtype(at::kBFloat16));  // the bits, not the values
  std::memcpy(a_src.data_ptr(), bits.data(), bits.size() * sizeof(uint16_t));
  const auto same_bits = [](const Tensor& got, const at::Tensor& expected, const std::string& what) {
    const Tensor g = got.contiguous();
    const at::Tensor e = expected.contiguous();
    ASSERT_EQ(g.numel(), e.numel()) << what;
    ASSERT_EQ(std::memcmp(g.data_ptr(), e.data_ptr(), static_cast<size_t>(g.numel()) * 2), 0) << what;
  };
  for (bool deterministic : {false, true}) {
    DeterministicScope scope(deterministic);
    const std::string mode = deterministic ? " (deterministic)" : "";
    same_bits(self.scatter_add(0, index, src), a_self.scatter_add(0, a_index, a_src), "scatter_add" + mode);
    same_bits(self.index_add(0, index, src), a_self.index_add(0, a_index, a_src), "index_add" + mode);
    same_bits(self.index_add(0, index, src, 2), a_self.index_add(0, a_index, a_src, 2), "index_add alpha 2" + mode);
    same_bits(self.index_put({index}, src, true), a_self.index_put(aten_indices({a_index}), a_src, true),
              "index_put accumulate" + mode);
    for (const char* reduce : {"sum", "prod", "amax", "amin"}) {
      for (bool include_self : {true, false}) {
        same_bits(self.scatter_reduce(0, index, src, reduce, include_self),
                  a_self.scatter_reduce(0, a_index, a_src, reduce, include_self),
                  std::string(reduce) + (include_self ? "" : " without self") + mode);
      }
    }
  }
}

// scatter_ with a Scalar for every dtype, including a floating value written
// into an integer tensor (converted like ATen's value.to<T>()).
TEST(ScatterAten, ScatterScalarEveryDtypeMatchesATen) {
  std::mt19937 rng(53);
  for (DType dtype : kAllDTypes) {
    Tensor self = random_values({5, 6}, dtype, kCpu, rng);
    Tensor index = random_index({7, 6}, 5, kCpu, rng);
    const at::Tensor a_self = to_aten(self), a_index = to_aten(index);
    expect_same(self.scatter(0, index, Scalar(2.5)), a_self.scatter(0, a_index, 2.5), "2.5 into " + to_string(dtype));
    expect_same(self.scatter(0, index, Scalar(3)), a_self.scatter(0, a_index, 3), "3 into " + to_string(dtype));
    expect_same(self.scatter(0, index, Scalar(true)), a_self.scatter(0, a_index, true), "true into " + to_string(dtype));
  }
}

// gather with int32 and int64 indices for every dtype. This ATen (1.13) takes
// only int64 gather indices; the int32 call is compared with ATen's int64 one.
TEST(ScatterAten, GatherInt32AndInt64IndexMatchATen) {
  std::mt19937 rng(54);
  for (DType dtype : kAllDTypes) {
    Tensor self = random_values({4, 5, 6}, dtype, kCpu, rng);
    const at::Tensor a_self = to_aten(self);
    for (int64_t dim : {0, 1, 2}) {
      Shape index_shape = {3, 4, 5};
      index_shape[static_cast<size_t>(dim)] = 8;  // may exceed self along dim
      Tensor index = random_index(index_shape, self.size(dim), kCpu, rng);
      const at::Tensor expected = a_self.gather(dim, to_aten(index));
      expect_same(self.gather(dim, index), expected, "gather int64 " + to_string(dtype));
      expect_same(self.gather(dim, index.to(kInt32)), expected, "gather int32 " + to_string(dtype));
    }
  }
}

// index_put_ with unique (row, col) pairs (accumulate=false is then defined)
// and with duplicates (accumulate=true), int64 and int32 indices, a bool mask,
// and index() reads with bool and uint8 masks, for every dtype. This ATen
// refuses int32 advanced indices ("long, byte or bool"; newer ones take int):
// the int32 call is compared with ATen's int64 one.
TEST(ScatterAten, IndexPutAndIndexEveryDtypeMatchATen) {
  DeterministicScope deterministic(true);
  std::mt19937 rng(55);
  std::vector<int64_t> pairs(8 * 6);
  std::iota(pairs.begin(), pairs.end(), 0);
  for (DType dtype : kAllDTypes) {
    Tensor self = random_values({8, 6}, dtype, kCpu, rng, 4);
    const at::Tensor a_self = to_aten(self);
    std::shuffle(pairs.begin(), pairs.end(), rng);
    std::vector<int64_t> r(pairs.begin(), pairs.begin() + 20), c(pairs.begin(), pairs.begin() + 20);
    for (size_t i = 0; i < r.size(); ++i) {
      r[i] = r[i] / 6 - (i % 3 == 0 ? 8 : 0);  // every third wraps from below
      c[i] = c[i] % 6;
    }
    Tensor rows = from_vector<int64_t>(r), cols = from_vector<int64_t>(c);
    Tensor values = random_values({20}, dtype, kCpu, rng, 4);
    const at::Tensor a_rows = to_aten(rows), a_cols = to_aten(cols), a_values = to_aten(values);
    const ATenIndices a_pair = aten_indices({a_rows, a_cols});
    const std::string where = to_string(dtype);
    expect_same(self.index_put({rows, cols}, values, false), a_self.index_put(a_pair, a_values, false),
                "index_put unique " + where);
    expect_same(self.index_put({rows.to(kInt32), cols.to(kInt32)}, values, false),
                a_self.index_put(a_pair, a_values, false), "index_put int32 " + where);
    expect_same(self.index({rows, cols}), at::index(a_self, a_pair), "index " + where);
    expect_same(self.index({rows.to(kInt32), std::nullopt}), at::index(a_self, aten_indices({a_rows, c10::nullopt})),
                "index int32 " + where);
    // Duplicates accumulate; values [6] broadcast over self[dup_rows] of [30, 6].
    Tensor dup_rows = random_index({30}, 8, kCpu, rng);
    Tensor row_values = random_values({6}, dtype, kCpu, rng, 2);
    const ATenIndices a_dup = aten_indices({to_aten(dup_rows)});
    expect_same(self.index_put({dup_rows}, row_values, true), a_self.index_put(a_dup, to_aten(row_values), true),
                "index_put accumulate " + where);
    expect_same(self.index_put({dup_rows.to(kInt32)}, row_values, true),
                a_self.index_put(a_dup, to_aten(row_values), true), "index_put accumulate int32 " + where);
    // Bool masks: the full shape, and a row mask with a trailing whole dim.
    Tensor mask = random_values({8, 6}, kBool, kCpu, rng);
    Tensor row_mask = random_values({8}, kBool, kCpu, rng);
    const at::Tensor a_mask = to_aten(mask), a_row_mask = to_aten(row_mask);
    expect_same(self.index({mask}), at::index(a_self, aten_indices({a_mask})), "mask read " + where);
    expect_same(self.index({row_mask}), at::index(a_self, aten_indices({a_row_mask})), "row mask read " + where);
    expect_same(self.index({mask.to(kUInt8)}), at::index(a_self, aten_indices({a_mask.to(at::kByte)})),
                "uint8 mask read " + where);
    Tensor fill = random_values({1}, dtype, kCpu, rng, 4);
    expect_same(self.index_put({mask}, fill, false), a_self.index_put(aten_indices({a_mask}), to_aten(fill), false),
                "mask put " + where);
    int64_t true_count = 0;
    for (double m : host_values(mask)) true_count += m != 0 ? 1 : 0;
    Tensor mask_values = random_values({true_count}, dtype, kCpu, rng, 4);
    expect_same(self.index_put({mask}, mask_values, true),
                a_self.index_put(aten_indices({a_mask}), to_aten(mask_values), true), "mask accumulate " + where);
    Tensor row_values2 = random_values({6}, dtype, kCpu, rng, 4);
    expect_same(self.index_put({row_mask}, row_values2, false),
                a_self.index_put(aten_indices({a_row_mask}), to_aten(row_values2), false), "row mask put " + where);
  }
}

// index_add_ along each dim with alpha: an integer alpha for integer dtypes,
// 0.5 for floating ones; int64 and int32 indices.
TEST(ScatterAten, IndexAddWithAlphaEveryNumericDtypeMatchesATen) {
  DeterministicScope deterministic(true);
  std::mt19937 rng(56);
  for (DType dtype : kNumericDTypes) {
    const Scalar alpha = is_floating_point(dtype) ? Scalar(0.5) : dtype == kUInt8 ? Scalar(2) : Scalar(-3);
    Tensor self = random_values({4, 5, 6}, dtype, kCpu, rng, 3);
    const at::Tensor a_self = to_aten(self);
    for (int64_t dim : {0, 1, 2}) {
      Shape source_shape = {4, 5, 6};
      source_shape[static_cast<size_t>(dim)] = 5;
      Tensor source = random_values(source_shape, dtype, kCpu, rng, 3);
      Tensor index = random_index({5}, self.size(dim), kCpu, rng);
      const at::Tensor expected = is_floating_point(dtype)
                                      ? a_self.index_add(dim, to_aten(index), to_aten(source), 0.5)
                                      : a_self.index_add(dim, to_aten(index), to_aten(source), alpha.to_int64());
      const std::string where = to_string(dtype) + " dim " + std::to_string(dim);
      expect_same(self.index_add(dim, index, source, alpha), expected, "index_add " + where);
      expect_same(self.index_add(dim, index.to(kInt32), source, alpha), expected, "index_add int32 " + where);
    }
  }
}

// index_add_ on Bool with the default alpha: ATen computes self |= source.
TEST(ScatterAten, IndexAddOnBoolMatchesATen) {
  std::mt19937 rng(57);
  Tensor self = random_values({5, 4}, kBool, kCpu, rng);
  Tensor source = random_values({3, 4}, kBool, kCpu, rng);
  Tensor index = from_vector<int64_t>({4, 0, 4});
  const at::Tensor expected = to_aten(self).index_add(0, to_aten(index), to_aten(source));
  Tensor got;
  EXPECT_EQ(strata_error([&] { got = self.index_add(0, index, source); }), "<no error>");
  if (got.defined()) expect_same(got, expected, "index_add bool");
  // alpha as a Bool: 0 adds nothing, 2 ors like 1.
  for (int64_t alpha : {0, 2}) {
    expect_same(self.index_add(0, index, source, alpha),
                to_aten(self).index_add(0, to_aten(index), to_aten(source), alpha),
                "index_add bool alpha " + std::to_string(alpha));
  }
}

// Non-contiguous operands, the same views on both sides: transposed self,
// stepped-slice src/source/values, transposed or selected (strided) indices.
TEST(ScatterAten, NonContiguousOperandsMatchATen) {
  DeterministicScope deterministic(true);
  std::mt19937 rng(58);
  for (DType dtype : {kFloat32, kInt32, kFloat16}) {
    const std::string where = to_string(dtype);
    Tensor base = random_values({7, 6}, dtype, kCpu, rng);
    Tensor src_base = random_values({5, 14}, dtype, kCpu, rng);
    Tensor index_base = random_index({7, 4}, 6, kCpu, rng);  // transposed: [4, 7], values < 6
    Tensor unique_base = unique_index({7, 4}, 1, 6, rng);
    const at::Tensor a_base = to_aten(base), a_src_base = to_aten(src_base);
    const at::Tensor a_index_base = to_aten(index_base), a_unique_base = to_aten(unique_base);
    Tensor self = base.t();                            // [6, 7]
    Tensor src = src_base.slice(1, 0, 14, 2);          // [5, 7]
    Tensor index = index_base.t(), unique = unique_base.t();  // [4, 7]
    const at::Tensor a_self = a_base.t(), a_src = a_src_base.slice(1, 0, 14, 2);
    const at::Tensor a_index = a_index_base.t(), a_unique = a_unique_base.t();
    expect_same(self.scatter(0, unique, src), a_self.scatter(0, a_unique, a_src), "scatter " + where);
    expect_same(self.scatter_add(0, index, src), a_self.scatter_add(0, a_index, a_src), "scatter_add " + where);
    for (const char* reduce : {"sum", "prod", "mean", "amax", "amin"}) {
      for (bool include_self : {true, false}) {
        expect_same(self.scatter_reduce(0, index, src, reduce, include_self),
                    a_self.scatter_reduce(0, a_index, a_src, reduce, include_self),
                    std::string("scatter_reduce ") + reduce + " include_self=" + std::to_string(include_self) + " " +
                        where);
      }
    }
    // In place along dim 1 through the transposed view, with a [6, 3] index
    // (every other column of [6, 6]) and a [6, 4] src (every other of [6, 8]).
    Tensor base_copy = base.clone();
    at::Tensor a_base_copy = a_base.clone();
    Tensor index_wide = random_index({6, 6}, 7, kCpu, rng);
    Tensor src_wide = random_values({6, 8}, dtype, kCpu, rng);
    for (bool include_self : {true, false}) {
      base_copy.t().scatter_reduce_(1, index_wide.slice(1, 0, 6, 2), src_wide.slice(1, 0, 8, 2), "mean", include_self);
      a_base_copy.t().scatter_reduce_(1, to_aten(index_wide).slice(1, 0, 6, 2), to_aten(src_wide).slice(1, 0, 8, 2),
                                      "mean", include_self);
      expect_same(base_copy, a_base_copy, "scatter_reduce_ mean in place, include_self=" +
                                              std::to_string(include_self) + " " + where);
    }
    // gather with a strided int32 index ([6, 3]: every other column of [6, 6]).
    Tensor gather_index = random_index({6, 6}, 7, kCpu, rng);
    expect_same(self.gather(1, gather_index.to(kInt32).slice(1, 0, 6, 2)),
                a_self.gather(1, to_aten(gather_index).slice(1, 0, 6, 2)), "gather strided int32 " + where);
    // index_put_ through strided indices (columns of two-column tensors) and values.
    Tensor pair_rows = random_index({9, 2}, 6, kCpu, rng), pair_cols = random_index({9, 2}, 7, kCpu, rng);
    Tensor values_base = random_values({18}, dtype, kCpu, rng);
    const at::Tensor a_pair_rows = to_aten(pair_rows), a_pair_cols = to_aten(pair_cols);
    expect_same(self.index_put({pair_rows.select(1, 1), pair_cols.to(kInt32).select(1, 0)},
                               values_base.slice(0, 0, 18, 2), true),
                a_self.index_put(aten_indices({a_pair_rows.select(1, 1), a_pair_cols.select(1, 0)}),
                                 to_aten(values_base).slice(0, 0, 18, 2), true),
                "index_put strided " + where);
    expect_same(self.index({pair_rows.to(kInt32).select(1, 0)}), at::index(a_self, aten_indices({a_pair_rows.select(1, 0)})),
                "index strided " + where);
    // index_add_: transposed self, strided source, strided int32 index.
    for (int64_t dim : {0, 1}) {
      Tensor source_base = random_values(dim == 0 ? Shape{9, 14} : Shape{9, 6}, dtype, kCpu, rng);
      Tensor source = dim == 0 ? source_base.slice(1, 0, 14, 2) : source_base.t();  // [9, 7] / [6, 9]
      at::Tensor a_source = dim == 0 ? to_aten(source_base).slice(1, 0, 14, 2) : to_aten(source_base).t();
      Tensor index_pairs = random_index({9, 2}, self.size(dim), kCpu, rng);
      const Scalar alpha = is_floating_point(dtype) ? Scalar(0.5) : Scalar(2);
      const at::Tensor expected =
          is_floating_point(dtype) ? a_self.index_add(dim, to_aten(index_pairs).to(at::kInt).select(1, 1), a_source, 0.5)
                                   : a_self.index_add(dim, to_aten(index_pairs).to(at::kInt).select(1, 1), a_source, 2);
      expect_same(self.index_add(dim, index_pairs.to(kInt32).select(1, 1), source, alpha), expected,
                  "index_add strided dim " + std::to_string(dim) + " " + where);
    }
  }
}

// ---- error texts: the same invalid call through ATen and strata ----

struct ErrorCase {
  std::string name;
  std::function<void()> strata_call;
  std::function<void()> aten_call;
};

void expect_same_errors(const std::vector<ErrorCase>& cases) {
  for (const ErrorCase& c : cases) {
    const std::string expected = aten_error(c.aten_call);
    EXPECT_NE(expected, "<no error>") << c.name << ": ATen accepts the call; the case is wrong";
    EXPECT_EQ(strata_error(c.strata_call), expected) << c.name;
  }
}

/// index_put_ and index() with the one index tensor `index`: the same error
/// from strata and ATen.
void expect_same_index_errors(const Tensor& self, const at::Tensor& a_self, const Tensor& index,
                              const std::string& label) {
  expect_same_errors({
      {"index_put_ " + label, [&] { self.index_put_({index}, Scalar(1.0)); },
       [&] { a_self.clone().index_put_(aten_indices({to_aten(index)}), at::scalar_tensor(1.0)); }},
      {"index " + label, [&] { (void)self.index({index}); },
       [&] { (void)at::index(a_self, aten_indices({to_aten(index)})); }},
  });
}

TEST(ScatterAtenErrors, IndexAndSrcDtypeTexts) {
  Tensor self = zeros({5, 4});
  Tensor index = zeros({2, 4}, TensorOptions().dtype(kInt64));
  Tensor src = ones({2, 4});
  const at::Tensor a_self = at::zeros({5, 4}), a_index = at::zeros({2, 4}, at::kLong), a_src = at::ones({2, 4});
  expect_same_errors({
      {"scatter_add_ float index", [&] { self.scatter_add_(0, index.to(kFloat32), src); },
       [&] { a_self.clone().scatter_add_(0, a_index.to(at::kFloat), a_src); }},
      {"scatter_reduce_ float index", [&] { self.scatter_reduce_(0, index.to(kFloat32), src, "sum"); },
       [&] { a_self.clone().scatter_reduce_(0, a_index.to(at::kFloat), a_src, "sum"); }},
      {"scatter_ int32 index", [&] { self.scatter_(0, index.to(kInt32), src); },
       [&] { a_self.clone().scatter_(0, a_index.to(at::kInt), a_src); }},
      {"scatter_add_ self/src dtype", [&] { self.scatter_add_(0, index, src.to(kFloat64)); },
       [&] { a_self.clone().scatter_add_(0, a_index, a_src.to(at::kDouble)); }},
      {"scatter_reduce_ self/src dtype", [&] { self.scatter_reduce_(0, index, src.to(kFloat64), "amax"); },
       [&] { a_self.clone().scatter_reduce_(0, a_index, a_src.to(at::kDouble), "amax"); }},
      {"index_add_ self/source dtype",
       [&] { self.index_add_(0, zeros({2}, TensorOptions().dtype(kInt64)), src.to(kFloat64)); },
       [&] { a_self.clone().index_add_(0, at::zeros({2}, at::kLong), a_src.to(at::kDouble)); }},
      {"index_put_ value dtype", [&] { self.index_put_({index.select(1, 0)}, ones({2, 4}, TensorOptions().dtype(kFloat64))); },
       [&] { a_self.clone().index_put_(aten_indices({a_index.select(1, 0)}), at::ones({2, 4}, at::kDouble)); }},
      {"empty index, self/src dtype still checked",
       [&] { self.scatter_add_(0, zeros({0, 4}, TensorOptions().dtype(kInt64)), src.to(kFloat64)); },
       [&] { a_self.clone().scatter_add_(0, at::zeros({0, 4}, at::kLong), a_src.to(at::kDouble)); }},
  });
  // gather with a float index: this ATen (1.13) says "Expected dtype int64";
  // current PyTorch takes int32 too and says "int32/int64" (semantics.md), which
  // strata follows, so the text is checked against semantics.md instead.
  EXPECT_EQ(strata_error([&] { (void)self.gather(0, index.to(kFloat32)); }),
            "gather(): Expected dtype int32/int64 for index");
  EXPECT_NE(aten_error([&] { (void)a_self.gather(0, a_index.to(at::kFloat)); }), "<no error>");
}

TEST(ScatterAtenErrors, ShapeTexts) {
  Tensor self = zeros({5, 4});
  const TensorOptions long_opts = TensorOptions().dtype(kInt64);
  const at::Tensor a_self = at::zeros({5, 4});
  expect_same_errors({
      {"scatter_add_ index rank != self rank", [&] { self.scatter_add_(0, zeros({2}, long_opts), ones({2})); },
       [&] { a_self.clone().scatter_add_(0, at::zeros({2}, at::kLong), at::ones({2})); }},
      {"scatter_ index rank != src rank", [&] { self.scatter_(0, zeros({2, 4}, long_opts), ones({2, 4, 1})); },
       [&] { a_self.clone().scatter_(0, at::zeros({2, 4}, at::kLong), at::ones({2, 4, 1})); }},
      {"scatter_add_ index larger than self apart from dim",
       [&] { self.scatter_add_(0, zeros({2, 5}, long_opts), ones({2, 5})); },
       [&] { a_self.clone().scatter_add_(0, at::zeros({2, 5}, at::kLong), at::ones({2, 5})); }},
      {"scatter_reduce_ index larger than src", [&] { self.scatter_reduce_(1, zeros({3, 4}, long_opts), ones({2, 4}), "prod"); },
       [&] { a_self.clone().scatter_reduce_(1, at::zeros({3, 4}, at::kLong), at::ones({2, 4}), "prod"); }},
      {"index_add_ 2-D index", [&] { self.index_add_(0, zeros({2, 1}, long_opts), ones({2, 4})); },
       [&] { a_self.clone().index_add_(0, at::zeros({2, 1}, at::kLong), at::ones({2, 4})); }},
      {"index_add_ index count != source.size(dim)", [&] { self.index_add_(0, zeros({3}, long_opts), ones({2, 4})); },
       [&] { a_self.clone().index_add_(0, at::zeros({3}, at::kLong), at::ones({2, 4})); }},
      {"index_put_ value shape", [&] { self.index_put_({zeros({2}, long_opts)}, ones({3})); },
       [&] { a_self.clone().index_put_(aten_indices({at::zeros({2}, at::kLong)}), at::ones({3})); }},
      {"index_put_ accumulate value shape", [&] { self.index_put_({zeros({2}, long_opts)}, ones({3}), true); },
       [&] { a_self.clone().index_put_(aten_indices({at::zeros({2}, at::kLong)}), at::ones({3}), true); }},
      {"index mask shape", [&] { (void)self.index({zeros({4}, TensorOptions().dtype(kBool))}); },
       [&] { (void)at::index(a_self, aten_indices({at::zeros({4}, at::kBool)})); }},
      {"index_add_ dim beyond source's dims", [&] { self.index_add_(1, zeros({1}, long_opts), ones({1})); },
       [&] { a_self.clone().index_add_(1, at::zeros({1}, at::kLong), at::ones({1})); }},
  });
  // Where this ATen (1.13) differs from current PyTorch (semantics.md), strata
  // follows the current text and these are not compared:
  //  - index_add_ source [2, 3] into self [5, 4] along 0: 1.13 reports add_'s
  //    broadcast error, current "source tensor shape must match self tensor
  //    shape, excluding the specified dimension. Got self.shape = ...";
  //  - index()/index_put_ with a float index: 1.13 "long, byte or bool",
  //    current "long, int, byte or bool".
}

TEST(ScatterAtenErrors, OutOfRangeIndexTexts) {
  Tensor self = zeros({5, 4});
  const at::Tensor a_self = at::zeros({5, 4});
  std::vector<int64_t> values = {0, 1, 2, 3, 4, 0, 1, 2};
  for (int64_t bad : {5, 9, -1}) {
    values[6] = bad;  // a single bad value
    Tensor index = from_vector<int64_t>(values, {2, 4});
    const at::Tensor a_index = to_aten(index);
    Tensor index1 = from_vector<int64_t>({0, bad, 1});
    const std::string b = std::to_string(bad);
    expect_same_errors({
        {"scatter_ " + b, [&] { self.scatter_(0, index, ones({2, 4})); },
         [&] { a_self.clone().scatter_(0, a_index, at::ones({2, 4})); }},
        {"scatter_ scalar " + b, [&] { self.scatter_(0, index, Scalar(1.0)); },
         [&] { a_self.clone().scatter_(0, a_index, 1.0); }},
        {"scatter_add_ " + b, [&] { self.scatter_add_(0, index, ones({2, 4})); },
         [&] { a_self.clone().scatter_add_(0, a_index, at::ones({2, 4})); }},
        {"gather " + b, [&] { (void)self.gather(0, index); }, [&] { (void)a_self.gather(0, a_index); }},
        // index_add_ is left out on purpose: PyTorch's CPU kernel says "index
        // out of range in self" (or scatter's text, on its scatter_add_ route),
        // without the value; strata gives every op of the family the same
        // IndexError naming the value, the dimension and its size
        // (tests/ops/scatter_test.cpp checks index_add_'s).
    });
    if (bad != -1) expect_same_index_errors(self, a_self, index1, b);  // negatives wrap in index/index_put_
  }
}

// Bad values at both ends of the index: ATen's CPU names the first one in
// index order.
TEST(ScatterAtenErrors, TheFirstBadIndexInIndexOrderIsNamed) {
  Tensor self = zeros({5, 4});
  const at::Tensor a_self = at::zeros({5, 4});
  for (const auto& [first, last] : {std::pair<int64_t, int64_t>{9, -3}, {-3, 9}, {-1, 5}, {6, 8}, {8, 6}}) {
    Tensor index = from_vector<int64_t>({first, 0, 1, 2, 3, 4, 0, last}, {2, 4});
    const at::Tensor a_index = to_aten(index);
    const std::string which = std::to_string(first) + " ... " + std::to_string(last);
    expect_same_errors({
        {"scatter_ " + which, [&] { self.scatter_(0, index, ones({2, 4})); },
         [&] { a_self.clone().scatter_(0, a_index, at::ones({2, 4})); }},
        {"scatter_add_ " + which, [&] { self.scatter_add_(0, index, ones({2, 4})); },
         [&] { a_self.clone().scatter_add_(0, a_index, at::ones({2, 4})); }},
        {"scatter_reduce_ " + which, [&] { self.scatter_reduce_(0, index, ones({2, 4}), "amin", false); },
         [&] { a_self.clone().scatter_reduce_(0, a_index, at::ones({2, 4}), "amin", false); }},
        {"gather " + which, [&] { (void)self.gather(0, index); }, [&] { (void)a_self.gather(0, a_index); }},
    });
    // index/index_put_ wrap negatives: only bad values of both signs out of [-5, 5).
    Tensor wide = from_vector<int64_t>({first < 0 ? first - 3 : first, 0, last < 0 ? last - 3 : last});
    expect_same_index_errors(self, a_self, wide,
                             std::to_string(wide.to_vector<int64_t>()[0]) + " ... " +
                                 std::to_string(wide.to_vector<int64_t>()[2]));
  }
}

// A Scalar value that the dtype cannot hold: ATen refuses it ("value cannot be
// converted to type uint8_t without overflow"), for scatter_ and for the value
// of index_put_ (a Python scalar becomes a tensor of self's dtype first), as
// strata's own fill_ does; strata refuses with fill_'s text and leaves self
// unchanged. A negative integer whose magnitude fits wraps into UInt8 in both
// (-1 is 255, -255 is 1; -256 and -1.5 are refused).
TEST(ScatterAtenErrors, ScalarValueThatOverflowsTheDtypeIsRefused) {
  struct Case {
    DType dtype;
    Scalar value;
    double aten_value;
  };
  const TensorOptions long_opts = TensorOptions().dtype(kInt64);
  for (const Case& c : {Case{kUInt8, Scalar(300), 300.0}, Case{kInt8, Scalar(128), 128.0},
                        Case{kFloat16, Scalar(1e6), 1e6}, Case{kInt16, Scalar(-40000), -40000.0}}) {
    Tensor self = zeros({4}, TensorOptions().dtype(c.dtype));
    const at::Tensor a_self = at::zeros({4}, aten_type(c.dtype));
    const std::string fill_text = strata_error([&] { self.clone().fill_(c.value); });
    EXPECT_NE(fill_text, "<no error>") << c.dtype;
    EXPECT_NE(aten_error([&] { a_self.clone().scatter_(0, at::zeros({1}, at::kLong), c.aten_value); }), "<no error>");
    EXPECT_EQ(strata_error([&] { self.scatter_(0, zeros({1}, long_opts), c.value); }), fill_text)
        << "scatter_ " << c.value << " into " << c.dtype;
    EXPECT_EQ(strata_error([&] { self.index_put_({zeros({1}, long_opts)}, c.value); }), fill_text)
        << "index_put_ " << c.value << " into " << c.dtype;
    EXPECT_EQ(host_values(self), (std::vector<double>{0, 0, 0, 0})) << c.dtype;
  }
  for (const int64_t v : {int64_t{-1}, int64_t{-255}, int64_t{-256}}) {
    Tensor self = zeros({4}, TensorOptions().dtype(kUInt8));
    const at::Tensor a_self = at::zeros({4}, at::kByte);
    const Tensor index = from_vector<int64_t>({2, 0}, long_opts);
    const at::Tensor a_index = at::tensor({2, 0}, at::kLong);
    const std::string ours = strata_error([&] { self.scatter_(0, index, Scalar(v)); });
    const std::string theirs = aten_error([&] { a_self.scatter_(0, a_index, v); });
    EXPECT_EQ(ours == "<no error>", theirs == "<no error>") << v << ": " << ours << " / " << theirs;
    EXPECT_EQ(host_values(self), aten_values(a_self)) << v;
    EXPECT_EQ(strata_error([&] { self.fill_(v); }) == "<no error>", aten_error([&] { a_self.fill_(v); }) == "<no error>");
    EXPECT_EQ(host_values(self), aten_values(a_self)) << v;
  }
  Tensor self = zeros({4}, TensorOptions().dtype(kUInt8));
  EXPECT_NE(strata_error([&] { self.scatter_(0, zeros({1}, long_opts), Scalar(-1.5)); }), "<no error>");
  EXPECT_NE(aten_error([&] { at::zeros({4}, at::kByte).scatter_(0, at::zeros({1}, at::kLong), -1.5); }), "<no error>");
}

// scatter_reduce_ "mean" on Bool: ATen has no such kernel and refuses it
// ("... not implemented for 'Bool'"; the text names an ATen kernel, so only
// the refusal is compared).
TEST(ScatterAtenErrors, MeanOnBoolIsRefused) {
  Tensor self = from_vector<bool>({true, false, false});
  Tensor index = from_vector<int64_t>({0, 1, 1});
  Tensor src = from_vector<bool>({true, true, false});
  EXPECT_NE(aten_error([&] { to_aten(self).scatter_reduce_(0, to_aten(index), to_aten(src), "mean"); }), "<no error>");
  EXPECT_NE(strata_error([&] { self.scatter_reduce_(0, index, src, "mean"); }), "<no error>");
}

// A floating alpha for an integral index_add_: ATen (1.13, and current
// PyTorch: index_add has no alpha check, add_stub gets alpha.to<int>()) accepts
// it and truncates the alpha; strata refuses it with add_'s alpha text, which
// scatter_test.cpp (ChecksFollowPyTorchTexts) asserts. Disabled until the two
// are reconciled; run with --gtest_also_run_disabled_tests.
TEST(ScatterAten, IndexAddFloatAlphaOnIntegerSelfMatchesATen) {
  std::mt19937 rng(60);
  for (DType dtype : {kInt32, kInt64, kUInt8}) {
    Tensor self = random_values({5, 3}, dtype, kCpu, rng);
    Tensor source = random_values({4, 3}, dtype, kCpu, rng);
    Tensor index = random_index({4}, 5, kCpu, rng);
    for (double alpha : {0.5, 2.5}) {
      const at::Tensor expected = to_aten(self).index_add(0, to_aten(index), to_aten(source), alpha);
      Tensor got;
      EXPECT_EQ(strata_error([&] { got = self.index_add(0, index, source, alpha); }), "<no error>") << dtype;
      if (got.defined()) expect_same(got, expected, "index_add alpha " + std::to_string(alpha));
    }
  }
}

// An empty index skips the index's dtype and shape checks (PyTorch): both
// libraries accept these calls and leave self as it was.
TEST(ScatterAtenErrors, EmptyIndexSkipsTheIndexChecks) {
  std::mt19937 rng(59);
  Tensor self = random_values({5, 4}, kFloat32, kCpu, rng);
  Tensor src = random_values({2, 4}, kFloat32, kCpu, rng);
  const at::Tensor a_self = to_aten(self), a_src = to_aten(src);
  const TensorOptions float_opts = TensorOptions().dtype(kFloat32);
  EXPECT_EQ(aten_error([&] { a_self.clone().scatter_(0, at::zeros({0, 4}, at::kFloat), a_src); }), "<no error>");
  EXPECT_EQ(strata_error([&] { expect_same(self.scatter(0, zeros({0, 4}, float_opts), src), a_self, "scatter"); }),
            "<no error>");
  EXPECT_EQ(aten_error([&] { a_self.clone().scatter_add_(0, at::zeros({0}, at::kFloat), a_src); }), "<no error>");
  EXPECT_EQ(strata_error([&] { expect_same(self.scatter_add(0, zeros({0}, float_opts), src), a_self, "scatter_add"); }),
            "<no error>");
  EXPECT_EQ(strata_error([&] {
              expect_same(self.scatter_reduce(0, zeros({0}, float_opts), src, "prod", false), a_self, "scatter_reduce");
            }),
            "<no error>");
  EXPECT_EQ(strata_error([&] { expect_same(self.scatter(0, zeros({0}, float_opts), Scalar(2.0)), a_self, "scatter value"); }),
            "<no error>");
  // gather: an empty result of the index's shape, whatever its rank and dtype.
  for (const Shape& shape : {Shape{0}, Shape{0, 7, 2}}) {
    for (DType index_dtype : {kInt64, kFloat32}) {
      const at::Tensor a_index = at::zeros(at::IntArrayRef(shape), aten_type(index_dtype));
      at::Tensor expected;
      EXPECT_EQ(aten_error([&] { expected = a_self.gather(shape.size() == 1 ? 0 : 1, a_index); }), "<no error>");
      Tensor got;
      EXPECT_EQ(strata_error([&] { got = self.gather(shape.size() == 1 ? 0 : 1, zeros(shape, TensorOptions().dtype(index_dtype))); }),
                "<no error>")
          << index_dtype << " " << shape.size() << "-D";
      if (got.defined() && expected.defined()) expect_same(got, expected, "gather empty");
    }
  }
  // The dim is still checked.
  expect_same_errors({{"empty index, dim out of range",
                       [&] { self.scatter_(3, zeros({0}, TensorOptions().dtype(kInt64)), src); },
                       [&] { a_self.clone().scatter_(3, at::zeros({0}, at::kLong), a_src); }}});
}

// b[b] = false: one bool mask and a one-element value go to masked_fill_ in
// ATen before its overlap checks (and masked_fill_ refuses only a partial
// overlap), so ATen accepts it; with accumulate=true the overlap is refused.
TEST(ScatterAtenErrors, BoolMaskThatIsSelfFollowsATen) {
  Tensor b = from_vector<bool>({true, false, true});
  at::Tensor a_b = to_aten(b);
  EXPECT_EQ(strata_error([&] { b.index_put_({b}, Scalar(false)); }),
            aten_error([&] { a_b.index_put_(aten_indices({a_b}), at::scalar_tensor(false, at::kBool)); }));
  expect_same(b, a_b, "b[b] = false");
  Tensor c = from_vector<bool>({true, false, true});
  at::Tensor a_c = to_aten(c);
  expect_same_errors({{"c.index_put_({c}, false, accumulate)", [&] { c.index_put_({c}, Scalar(false), true); },
                       [&] { a_c.index_put_(aten_indices({a_c}), at::scalar_tensor(false, at::kBool), true); }}});
}

}  // namespace
}  // namespace strata
