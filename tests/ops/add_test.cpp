// add, operator+, add(Tensor, Scalar), add_out, add_ and += against a reference
// computed here in double precision, on every available device.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernels/common/fast_divmod.h"
#include "kernels/common/offset_calc.h"
#include "ops/elementwise_test_util.h"
#include "strata/strata.h"

namespace strata {
namespace {

using testing::all_dtypes;
using testing::cast_to;
using testing::near_values;
using testing::throws_with;

// Row-major index of `in_shape` (right-aligned, size-1 dims broadcast) for the
// element `linear` of `out_shape`.
int64_t broadcast_source(const Shape& out_shape, const Shape& in_shape, int64_t linear) {
  int64_t index = 0;
  int64_t in_stride = 1;
  for (int64_t d = static_cast<int64_t>(out_shape.size()) - 1; d >= 0; --d) {
    const int64_t coord = linear % out_shape[d];
    linear /= out_shape[d];
    const int64_t in_d = d - static_cast<int64_t>(out_shape.size() - in_shape.size());
    if (in_d < 0) continue;
    if (in_shape[in_d] != 1) index += coord * in_stride;
    in_stride *= in_shape[in_d];
  }
  return index;
}

// PyTorch's add in double precision: inputs converted to the compute type, a +
// alpha * b rounded to it, then converted to the output dtype.
std::vector<double> reference_add(const std::vector<double>& a, const Shape& a_shape, const std::vector<double>& b,
                                  const Shape& b_shape, double alpha, DType compute, DType out,
                                  const Shape& out_shape) {
  int64_t n = 1;
  for (int64_t s : out_shape) n *= s;
  std::vector<double> result(static_cast<size_t>(n));
  const double alpha_c = compute == kBool ? (alpha != 0 ? 1.0 : 0.0) : alpha;
  for (int64_t i = 0; i < n; ++i) {
    const double x = cast_to(compute, a[broadcast_source(out_shape, a_shape, i)]);
    const double y = cast_to(compute, b[broadcast_source(out_shape, b_shape, i)]);
    result[i] = cast_to(out, cast_to(compute, x + alpha_c * y));
  }
  return result;
}

Scalar non_unit_alpha(DType result) {
  if (result == kBool) return Scalar(false);
  if (is_integral(result)) return Scalar(-3);
  return Scalar(-1.5);
}

class AddOnDevice : public ::testing::TestWithParam<DeviceType> {
 protected:
  void SetUp() override { STRATA_SKIP_WITHOUT_DEVICE(GetParam()); }
  Device device() const { return Device(GetParam()); }
  TensorOptions on(DType dtype) const { return TensorOptions().dtype(dtype).device(device()); }
  Tensor random(const Shape& shape, DType dtype) { return testing::random_tensor(shape, dtype, GetParam(), rng_); }
  std::mt19937 rng_{1234};
};

INSTANTIATE_TEST_SUITE_P(Devices, AddOnDevice, ::testing::Values(DeviceType::CPU, DeviceType::CUDA),
                         testing::DeviceName());

TEST_P(AddOnDevice, EveryDTypePairMatchesDoubleReference) {
  const Shape a_shape{4, 6};
  const Shape b_shape{6};
  for (DType da : all_dtypes()) {
    for (DType db : all_dtypes()) {
      SCOPED_TRACE(::testing::Message() << da << " + " << db);
      const Tensor a = random(a_shape, da);
      const Tensor b = random(b_shape, db);
      const std::vector<double> av = a.to_vector<double>();
      const std::vector<double> bv = b.to_vector<double>();
      const DType result = promote_types(da, db);
      EXPECT_EQ(result_type(a, b), result);
      for (const Scalar& alpha : {Scalar(1), non_unit_alpha(result)}) {
        const double alpha_d = alpha.to_double();
        const double tol = testing::tolerance(result, result);
        const Tensor sum = alpha_d == 1 ? a + b : add(a, b, alpha);
        EXPECT_EQ(sum.dtype(), result);
        EXPECT_EQ(sum.sizes(), a_shape);
        EXPECT_EQ(sum.device(), device());
        EXPECT_TRUE(near_values(sum.to_vector<double>(),
                                reference_add(av, a_shape, bv, b_shape, alpha_d, result, result, a_shape), tol));
        // Inputs are never modified by the out-of-place form.
        EXPECT_EQ(a.to_vector<double>(), av);
        EXPECT_EQ(b.to_vector<double>(), bv);

        // out= into Float64 (every result casts to it) and into a's dtype.
        const Tensor out64 = empty(a_shape, on(kFloat64));
        add_out(out64, a, b, alpha);
        EXPECT_TRUE(near_values(out64.to_vector<double>(),
                                reference_add(av, a_shape, bv, b_shape, alpha_d, result, kFloat64, a_shape), tol));

        // In place: allowed exactly when the result type casts to a's dtype.
        const Tensor self = a.clone();
        if (can_cast(result, da)) {
          self.add_(b, alpha);
          EXPECT_TRUE(near_values(self.to_vector<double>(),
                                  reference_add(av, a_shape, bv, b_shape, alpha_d, result, da, a_shape),
                                  testing::tolerance(result, da)));
        } else {
          EXPECT_TRUE(throws_with<DTypeError>([&] { self.add_(b, alpha); }, "can't be cast to the desired output type"));
          EXPECT_EQ(self.to_vector<double>(), av);
        }
      }
    }
  }
}

TEST_P(AddOnDevice, TensorPlusScalarPromotesByCategory) {
  for (DType dt : all_dtypes()) {
    SCOPED_TRACE(::testing::Message() << dt);
    const Tensor a = random({3, 5}, dt);
    const std::vector<double> av = a.to_vector<double>();
    // int scalar: the tensor's dtype unless Bool; float scalar: floats stay, others become Float32.
    const DType with_int = dt == kBool ? kInt64 : dt;
    const DType with_float = is_floating_point(dt) ? dt : kFloat32;
    const Tensor s1 = a + 7;
    EXPECT_EQ(s1.dtype(), with_int);
    EXPECT_TRUE(near_values(s1.to_vector<double>(), reference_add(av, {3, 5}, {7.0}, {}, 1, with_int, with_int, {3, 5}),
                            testing::tolerance(with_int, with_int)));
    const Tensor s2 = 2.5 + a;
    EXPECT_EQ(s2.dtype(), with_float);
    EXPECT_TRUE(near_values(s2.to_vector<double>(),
                            reference_add(av, {3, 5}, {2.5}, {}, 1, with_float, with_float, {3, 5}),
                            testing::tolerance(with_float, with_float)));
    if (with_int != kBool) {
      const Tensor s3 = add(a, Scalar(4), is_floating_point(with_int) ? Scalar(0.5) : Scalar(-2));
      const double alpha = is_floating_point(with_int) ? 0.5 : -2;
      EXPECT_TRUE(near_values(s3.to_vector<double>(),
                              reference_add(av, {3, 5}, {4.0}, {}, alpha, with_int, with_int, {3, 5}),
                              testing::tolerance(with_int, with_int)));
    }
    EXPECT_EQ(a.to_vector<double>(), av);
  }
}

TEST(AddPromotion, ThreeBucketsFollowPyTorch) {
  const Tensor f32 = zeros({2}, kFloat32);
  const Tensor f64 = zeros({2}, kFloat64);
  const Tensor i32 = zeros({2}, kInt32);
  const Tensor i64 = zeros({2}, kInt64);
  const Tensor u8 = zeros({2}, kUInt8);
  const Tensor i8 = zeros({2}, kInt8);
  const Tensor b = zeros({2}, kBool);
  const Tensor f64_0d = zeros({}, kFloat64);
  const Tensor i64_0d = zeros({}, kInt64);
  EXPECT_EQ(result_type(f32, f64), kFloat64);
  EXPECT_EQ(result_type(i64, f32), kFloat32);
  EXPECT_EQ(result_type(i32, Scalar(5)), kInt32);
  EXPECT_EQ(result_type(i32, i64_0d), kInt32);
  EXPECT_EQ(result_type(b, u8), kUInt8);
  EXPECT_EQ(result_type(b, i64), kInt64);
  EXPECT_EQ(result_type(u8, i8), kInt16);
  EXPECT_EQ(result_type(f32, f64_0d), kFloat32);
  EXPECT_EQ(result_type(i32, f64_0d), kFloat64);
  EXPECT_EQ(result_type(i32, Scalar(2.5)), kFloat32);
  EXPECT_EQ(result_type(b, Scalar(true)), kBool);
  EXPECT_EQ(result_type(b, Scalar(3)), kInt64);
  EXPECT_EQ(result_type(f64_0d, Scalar(1)), kFloat64);
  EXPECT_EQ(result_type(i64_0d, Scalar(1.5)), kFloat32);
  // Values are never inspected: a huge int scalar does not widen int8.
  EXPECT_EQ(result_type(i8, Scalar(int64_t{1} << 40)), kInt8);
}

TEST_P(AddOnDevice, BroadcastPatternsMatchReference) {
  struct Case {
    Shape a, b;
  };
  const std::vector<Case> cases = {
      {{5, 7}, {7}},        {{5, 1}, {1, 7}}, {{5, 7}, {}},         {{}, {5, 7}},       {{2, 3, 4}, {3, 1}},
      {{1, 3, 1}, {3, 1, 7}}, {{4, 1, 6}, {5, 1}}, {{1}, {3, 3}},     {{0, 3}, {3}},      {{3, 1}, {0}},
  };
  for (const Case& c : cases) {
    for (DType da : {kFloat32, kInt64, kFloat16}) {
      SCOPED_TRACE(::testing::Message() << "a" << ::testing::PrintToString(c.a) << " b"
                                        << ::testing::PrintToString(c.b) << " " << da);
      const Tensor a = random(c.a, da);
      const Tensor b = random(c.b, kFloat32);
      const Tensor sum = add(a, b, 2);
      const Shape shape = broadcast_shapes(c.a, c.b);
      EXPECT_EQ(sum.sizes(), shape);
      const DType result = result_type(a, b);
      EXPECT_TRUE(near_values(sum.to_vector<double>(),
                              reference_add(a.to_vector<double>(), c.a, b.to_vector<double>(), c.b, 2, result, result,
                                            shape),
                              testing::tolerance(result, result)));
    }
  }
}

TEST_P(AddOnDevice, NonContiguousOperandsMatchReference) {
  const Tensor base_a = random({6, 8}, kFloat32);
  const Tensor base_b = random({8, 6}, kFloat32);
  const Tensor row = random({1, 8}, kFloat32);
  struct Case {
    const char* name;
    Tensor a, b;
  };
  const std::vector<Case> cases = {
      {"transposed", base_a, base_b.t()},
      {"both transposed", base_a.t(), base_b},
      {"sliced with step", base_a.slice(1, 0, 8, 2), base_b.t().slice(1, 1, 8, 2)},
      {"narrowed rows", base_a.narrow(0, 2, 3), base_b.t().narrow(0, 1, 3)},
      {"expanded", base_a, row.expand({6, 8})},
      {"selected column", base_a.select(1, 3), base_b.select(0, 2)},
      {"permuted 3-d", base_a.view({6, 2, 4}).permute({2, 0, 1}), base_b.t().reshape({6, 2, 4}).permute({2, 0, 1})},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Shape shape = broadcast_shapes(c.a.sizes(), c.b.sizes());
    const auto want = reference_add(c.a.to_vector<double>(), c.a.sizes(), c.b.to_vector<double>(), c.b.sizes(), -1.5,
                                    kFloat32, kFloat32, shape);
    EXPECT_TRUE(near_values(add(c.a, c.b, -1.5).to_vector<double>(), want, 1e-6));
    // The same through an out= tensor that is itself non-contiguous.
    const Tensor out_t = empty({shape.rbegin(), shape.rend()}, on(kFloat32));
    const Tensor out = shape.size() >= 2 ? out_t.permute([&] {
      Shape p;
      for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) p.push_back(d);
      return p;
    }())
                                         : out_t;
    add_out(out, c.a, c.b, -1.5);
    EXPECT_TRUE(near_values(out.to_vector<double>(), want, 1e-6));
  }
}

TEST_P(AddOnDevice, InPlaceKeepsStorageAndIsVisibleThroughEveryHandle) {
  const Tensor x = random({4, 5}, kFloat32);
  const Tensor y = random({5}, kFloat32);
  const std::vector<double> before = x.to_vector<double>();
  const Tensor handle = x;            // shares the tensor
  const Tensor view = x.select(0, 2);  // shares the storage
  void* data = x.data_ptr();
  void* storage_data = x.storage().data();
  const size_t storage_bytes = x.storage().nbytes();

  const Tensor& returned = x.add_(y, 2);
  EXPECT_TRUE(returned.is_same(x));
  EXPECT_EQ(x.data_ptr(), data);
  EXPECT_EQ(x.storage().data(), storage_data);
  EXPECT_EQ(x.storage().nbytes(), storage_bytes);
  const auto want = reference_add(before, {4, 5}, y.to_vector<double>(), {5}, 2, kFloat32, kFloat32, {4, 5});
  EXPECT_TRUE(near_values(x.to_vector<double>(), want, 1e-6));
  EXPECT_TRUE(near_values(handle.to_vector<double>(), want, 1e-6));
  EXPECT_TRUE(near_values(view.to_vector<double>(), std::vector<double>(want.begin() + 10, want.begin() + 15), 1e-6));

  // += on a view writes through to the base.
  view += 1;
  EXPECT_DOUBLE_EQ(x.to_vector<double>()[12], want[12] + 1);
  EXPECT_EQ(x.data_ptr(), data);

  // Seed example 2: z.add_(u) keeps z's memory and converts Int64 into Float32.
  const Tensor z = zeros({3, 3}, on(kFloat32));
  const Tensor u = tensor({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}, on(kInt64));
  void* z_data = z.data_ptr();
  const Tensor s = z + u;
  EXPECT_EQ(s.dtype(), kFloat32);
  EXPECT_EQ(z.to_vector<float>(), std::vector<float>(9, 0.0f));
  z.add_(u);
  EXPECT_EQ(z.data_ptr(), z_data);
  EXPECT_EQ(z.to_vector<float>(), s.to_vector<float>());
  EXPECT_EQ(z.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST_P(AddOnDevice, FullOverlapIsAllowed) {
  const Tensor x = random({7, 3}, kInt32);
  const std::vector<double> before = x.to_vector<double>();
  x.add_(x, 3);
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(x.to_vector<double>()[i], 4 * before[i]);
  // out= aliasing an input exactly.
  const Tensor a = random({33}, kFloat64);
  const Tensor b = random({33}, kFloat64);
  const auto want = reference_add(a.to_vector<double>(), {33}, b.to_vector<double>(), {33}, 1, kFloat64, kFloat64, {33});
  add_out(b, a, b);
  EXPECT_TRUE(near_values(b.to_vector<double>(), want, 1e-14));
}

TEST_P(AddOnDevice, IntegersWrapAndBoolIsLogicalOr) {
  const Tensor i8 = from_vector(std::vector<int8_t>{127, -128, 100}, on(kInt8));
  EXPECT_EQ((i8 + 1).to_vector<int64_t>(), (std::vector<int64_t>{-128, -127, 101}));
  const Tensor u8 = from_vector(std::vector<uint8_t>{250, 3, 0}, on(kUInt8));
  EXPECT_EQ(add(u8, u8, 2).to_vector<int64_t>(), (std::vector<int64_t>{238, 9, 0}));
  const Tensor i64 = from_vector(std::vector<int64_t>{INT64_MAX, 5}, on(kInt64));
  EXPECT_EQ((i64 + 1).to_vector<int64_t>(), (std::vector<int64_t>{INT64_MIN, 6}));
  const Tensor p = from_vector(std::vector<bool>{true, false, true, false}, on(kBool));
  const Tensor q = from_vector(std::vector<bool>{true, true, false, false}, on(kBool));
  EXPECT_EQ((p + q).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1, 0}));
  EXPECT_EQ(add(p, q, false).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1, 0}));
  EXPECT_EQ((p + q).dtype(), kBool);
}

TEST_P(AddOnDevice, HalfAndBFloat16ComputeInFloat) {
  // 2048 + 1 is not a half (spacing 2 there) but 2048 + 1 + 1 via float rounding once is.
  const Tensor h = full({4}, 2048.0, on(kFloat16));
  const Tensor one = full({4}, 1.0, on(kFloat16));
  EXPECT_EQ(add(h, one, 2).to_vector<float>(), std::vector<float>(4, 2050.0f));
  const Tensor bf = full({4}, 256.0, on(kBFloat16));
  EXPECT_EQ(add(bf, full({4}, 1.0, on(kBFloat16)), 3).to_vector<float>(), std::vector<float>(4, 260.0f));
  // 0.1 (double) becomes a Half first, then adds in float.
  const Tensor z = zeros({2}, on(kFloat16));
  EXPECT_EQ((z + 0.1).to_vector<float>(), std::vector<float>(2, static_cast<float>(Half(0.1f))));
}

TEST_P(AddOnDevice, ZeroDimTensorsAndScalars) {
  const Tensor x = random({3, 4}, kFloat32);
  const Tensor s = full({}, 2.0, on(kFloat64));  // 0-dim: does not promote a Float32 tensor
  const Tensor r = add(x, s, 3);
  EXPECT_EQ(r.dtype(), kFloat32);
  EXPECT_TRUE(near_values(r.to_vector<double>(),
                          reference_add(x.to_vector<double>(), {3, 4}, {2.0}, {}, 3, kFloat32, kFloat32, {3, 4}), 1e-6));
  const Tensor r2 = add(s, x, 3);  // 0-dim first, alpha on the tensor
  EXPECT_TRUE(near_values(r2.to_vector<double>(),
                          reference_add({2.0}, {}, x.to_vector<double>(), {3, 4}, 3, kFloat32, kFloat32, {3, 4}), 1e-6));
  const Tensor both = full({}, 1.5, on(kFloat32)) + full({}, 2.0, on(kFloat32));
  EXPECT_EQ(both.dim(), 0);
  EXPECT_FLOAT_EQ(both.item<float>(), 3.5f);
  const Tensor acc = full({}, 1.0, on(kFloat64));
  acc.add_(full({}, 4.0, on(kInt64)), 2);
  EXPECT_DOUBLE_EQ(acc.item<double>(), 9.0);
  acc += 0.5;
  EXPECT_DOUBLE_EQ(acc.item<double>(), 9.5);
}

TEST_P(AddOnDevice, EmptyTensorsReturnAtOnce) {
  const Tensor a = random({0, 4}, kFloat32);
  const Tensor b = random({4}, kFloat32);
  const Tensor r = a + b;
  EXPECT_EQ(r.sizes(), (Shape{0, 4}));
  EXPECT_EQ(r.numel(), 0);
  a.add_(b);
  EXPECT_EQ(a.numel(), 0);
  // Shapes are still checked for empty tensors.
  EXPECT_THROW(a + random({3}, kFloat32), ShapeError);
}

TEST_P(AddOnDevice, ResultsLargerThanTheCachesAreExact) {
  // Above 16 MiB the CPU writes an out-of-place result with streaming stores
  // (aligned 32-byte blocks after a scalar head, a scalar tail): every element,
  // for any thread count, odd lengths, inputs that start mid-vector.
  const int threads = get_num_threads();
  for (DType dt : {kFloat32, kInt64, kUInt8}) {
    SCOPED_TRACE(::testing::Message() << dt);
    const int64_t n = (int64_t{17} << 20) / static_cast<int64_t>(element_size(dt)) + 13;
    const Tensor a = random({n + 3}, dt).slice(0, 3, n + 3);  // starts 3 elements in
    const Tensor b = random({n}, dt);
    const Scalar alpha = is_floating_point(dt) ? Scalar(0.5) : Scalar(3);
    const auto expected =
        reference_add(a.to_vector<double>(), {n}, b.to_vector<double>(), {n}, alpha.to_double(), dt, dt, {n});
    for (int t : {1, 2, 3}) {
      set_num_threads(t);
      const Tensor sum = add(a, b, alpha);
      EXPECT_TRUE(near_values(sum.to_vector<double>(), expected, testing::tolerance(dt, dt))) << t << " threads";
      // A sentinel first: the pool may hand back the block of the previous
      // result, which would hide an element left unwritten.
      Tensor out = full({n}, 7, TensorOptions().dtype(dt).device(a.device()));
      add_out(out, a, b, alpha);
      EXPECT_TRUE(near_values(out.to_vector<double>(), expected, testing::tolerance(dt, dt))) << t << " threads";
    }
    set_num_threads(threads);
  }
}

TEST_P(AddOnDevice, LargeResultsDoNotDependOnThreadCount) {
  const int threads = get_num_threads();
  for (DType dt : {kFloat32, kInt16, kFloat16, kFloat64}) {
    SCOPED_TRACE(::testing::Message() << dt);
    const Tensor a = random({300, 513}, dt);
    const Tensor b = random({513}, dt);
    const Tensor c = random({300, 1}, dt);
    const Tensor d = random({300, 513}, dt);  // same shape: one contiguous run split across threads
    // An inexact alpha for floats, so that a fused multiply-add on one path would show.
    const Scalar alpha = is_floating_point(dt) ? Scalar(0.1) : Scalar(3);
    set_num_threads(1);
    const auto one = add(a, b, alpha).to_vector<double>();
    const auto one_bc = add(c, b, alpha).to_vector<double>();
    const auto one_dense = add(a, d, alpha).to_vector<double>();
    set_num_threads(std::max(threads, 2));
    const auto many = add(a, b, alpha).to_vector<double>();
    const auto many_bc = add(c, b, alpha).to_vector<double>();
    const auto many_dense = add(a, d, alpha).to_vector<double>();
    set_num_threads(threads);
    EXPECT_EQ(one, many);
    EXPECT_EQ(one_bc, many_bc);
    EXPECT_EQ(one_dense, many_dense);
    const double alpha_d = alpha.to_double();
    const double tol = testing::tolerance(dt, dt);
    EXPECT_TRUE(near_values(
        many, reference_add(a.to_vector<double>(), {300, 513}, b.to_vector<double>(), {513}, alpha_d, dt, dt, {300, 513}),
        tol));
    EXPECT_TRUE(near_values(
        many_bc, reference_add(c.to_vector<double>(), {300, 1}, b.to_vector<double>(), {513}, alpha_d, dt, dt, {300, 513}),
        tol));
    EXPECT_TRUE(near_values(many_dense,
                            reference_add(a.to_vector<double>(), {300, 513}, d.to_vector<double>(), {300, 513}, alpha_d,
                                          dt, dt, {300, 513}),
                            tol));
  }
}

// ---- errors: type, text, and the written tensor unchanged --------------------------

TEST_P(AddOnDevice, IncompatibleShapesThrow) {
  const Tensor a = random({2, 3}, kFloat32);
  const Tensor b = random({4}, kFloat32);
  EXPECT_TRUE(throws_with<ShapeError>([&] { (void)(a + b); },
                                      "The size of tensor a (3) must match the size of tensor b (4) at non-singleton "
                                      "dimension 1"));
  const auto before = a.to_vector<double>();
  EXPECT_TRUE(throws_with<ShapeError>([&] { a.add_(b); }, "must match the size of tensor b (4)"));
  EXPECT_EQ(a.to_vector<double>(), before);
}

TEST_P(AddOnDevice, InPlaceSelfIsNeverBroadcast) {
  const Tensor x = random({1, 3, 1}, kFloat32);
  const Tensor y = random({3, 1, 7}, kFloat32);
  const auto before = x.to_vector<double>();
  EXPECT_TRUE(throws_with<ShapeError>([&] { x.add_(y); },
                                      "output with shape [1, 3, 1] doesn't match the broadcast shape [3, 3, 7]"));
  EXPECT_EQ(x.to_vector<double>(), before);
  // Broadcasting other into self is fine.
  const Tensor big = random({5, 3, 4, 1}, kFloat32);
  EXPECT_NO_THROW(big.add_(random({3, 1, 1}, kFloat32)));
  // add_out never resizes out.
  const Tensor out = empty({3}, on(kFloat32));
  EXPECT_TRUE(throws_with<ShapeError>([&] { add_out(out, random({3, 3}, kFloat32), random({3}, kFloat32)); },
                                      "output with shape [3] doesn't match the broadcast shape [3, 3]"));
}

TEST_P(AddOnDevice, ResultThatCannotBeCastToSelfThrows) {
  const Tensor l = random({4}, kInt64);
  const auto before = l.to_vector<double>();
  EXPECT_TRUE(throws_with<DTypeError>([&] { l.add_(random({4}, kFloat32)); },
                                      "result type Float can't be cast to the desired output type Long"));
  EXPECT_TRUE(throws_with<DTypeError>([&] { l += 1.5; }, "result type Float can't be cast to the desired output type Long"));
  const Tensor bools = random({4}, kBool);
  EXPECT_TRUE(throws_with<DTypeError>([&] { bools.add_(random({4}, kUInt8)); },
                                      "result type Byte can't be cast to the desired output type Bool"));
  EXPECT_TRUE(throws_with<DTypeError>([&] { add_out(empty({4}, on(kInt32)), random({4}, kInt32), random({4}, kFloat64)); },
                                      "result type Double can't be cast to the desired output type Int"));
  EXPECT_EQ(l.to_vector<double>(), before);
  // Narrowing within a category is allowed.
  const Tensor i32 = random({4}, kInt32);
  EXPECT_NO_THROW(i32.add_(random({4}, kInt64)));
  EXPECT_NO_THROW(random({4}, kUInt8).add_(random({4}, kInt32)));
}

TEST_P(AddOnDevice, AlphaRules) {
  const Tensor i = random({4}, kInt32);
  const Tensor f = random({4}, kFloat32);
  const Tensor b = random({4}, kBool);
  const auto before = i.to_vector<double>();
  EXPECT_TRUE(throws_with<DTypeError>([&] { (void)add(i, i, 1.5); },
                                      "For integral input tensors, argument alpha must not be a floating point number."));
  EXPECT_TRUE(throws_with<DTypeError>([&] { i.add_(i, 0.5); }, "argument alpha must not be a floating point number"));
  EXPECT_TRUE(throws_with<DTypeError>([&] { (void)add(f, f, true); }, "Boolean alpha only supported for Boolean results."));
  EXPECT_TRUE(throws_with<DTypeError>([&] { (void)add(b, b, 1.0); }, "alpha must not be a floating point number"));
  EXPECT_EQ(i.to_vector<double>(), before);
  EXPECT_NO_THROW((void)add(b, b, 2));  // integral alpha is fine for Bool
  EXPECT_NO_THROW((void)add(f, f, 2));
  EXPECT_NO_THROW((void)add(i, f, 0.5));  // checked against the Float result
}

// alpha converts to the result's dtype with PyTorch's checked conversion: one
// the dtype cannot hold is refused (not wrapped or made infinite), checked
// against the result, not the operands; a negative integer wraps into uint8.
TEST_P(AddOnDevice, AlphaMustFitTheResultDType) {
  const Tensor i8 = random({6}, kInt8);
  const Tensor h = random({6}, kFloat16);
  Tensor f = random({6}, kFloat32);
  const auto before = f.to_vector<double>();
  const auto text = [](const char* type) {
    return std::string("value cannot be converted to type ") + type + " without overflow";
  };
  EXPECT_TRUE(throws_with<DTypeError>([&] { (void)add(i8, i8, 300); }, text("int8")));
  EXPECT_TRUE(throws_with<DTypeError>([&] { (void)add(h, h, 1e5); }, text("float16")));
  EXPECT_TRUE(throws_with<DTypeError>([&] { f.add_(f, 1e39); }, text("float32")));
  EXPECT_TRUE(throws_with<DTypeError>([&] { add_out(f, i8, i8, 300); }, text("int8")));
  EXPECT_EQ(f.to_vector<double>(), before);
  // int8 + int32 is an int32 result: 300 fits.
  const Tensor i32 = random({6}, kInt32);
  const auto a = i8.to_vector<double>();
  const auto b = i32.to_vector<double>();
  const auto sum = add(i8, i32, 300).to_vector<double>();
  for (size_t k = 0; k < a.size(); ++k) EXPECT_EQ(sum[k], a[k] + 300 * b[k]) << k;
  // uint8 with alpha -1: a - b modulo 256.
  const Tensor u = random({6}, kUInt8);
  const Tensor v = random({6}, kUInt8);
  const auto ua = u.to_vector<double>();
  const auto ub = v.to_vector<double>();
  const auto diff = add(u, v, -1).to_vector<double>();
  for (size_t k = 0; k < ua.size(); ++k) {
    EXPECT_EQ(diff[k], static_cast<uint8_t>(static_cast<int>(ua[k]) - static_cast<int>(ub[k]))) << k;
  }
  EXPECT_TRUE(throws_with<DTypeError>([&] { (void)add(u, v, -256); }, text("uint8")));
}

TEST_P(AddOnDevice, OverlappingOutputsThrow) {
  const Tensor x = random({4}, kFloat32);
  const Tensor expanded = x.unsqueeze(0).expand({3, 4});
  const auto before = x.to_vector<double>();
  EXPECT_TRUE(throws_with<OverlapError>([&] { expanded.add_(random({3, 4}, kFloat32)); },
                                        "unsupported operation: more than one element of the written-to tensor refers "
                                        "to a single memory location. Please clone() the tensor before performing the "
                                        "operation."));
  EXPECT_EQ(x.to_vector<double>(), before);

  const Tensor y = random({10}, kFloat32);
  const auto y_before = y.to_vector<double>();
  EXPECT_TRUE(throws_with<OverlapError>([&] { y.slice(0, 1).add_(y.slice(0, 0, 9)); },
                                        "unsupported operation: some elements of the input tensor and the written-to "
                                        "tensor refer to a single memory location. Please clone() the tensor before "
                                        "performing the operation."));
  const Tensor sq = random({3, 3}, kFloat32);
  EXPECT_TRUE(throws_with<OverlapError>([&] { sq.add_(sq.t()); }, "some elements of the input tensor"));
  EXPECT_TRUE(throws_with<OverlapError>([&] { add_out(y.slice(0, 0, 9), y.slice(0, 1), y.slice(0, 1)); },
                                        "some elements of the input tensor"));
  EXPECT_EQ(y.to_vector<double>(), y_before);
  // Disjoint halves of one storage are fine, and so are expanded inputs.
  EXPECT_NO_THROW(y.slice(0, 0, 5).add_(y.slice(0, 5)));
  EXPECT_NO_THROW(random({3, 4}, kFloat32).add_(expanded));
}

TEST(AddDevicesCuda, MixedDevicesThrowAndOneCpuScalarIsAllowed) {
  if (!cuda::is_available()) GTEST_SKIP() << "strata: no CUDA device";
  std::mt19937 rng(7);
  const Tensor g = testing::random_tensor({3}, kFloat32, DeviceType::CUDA, rng);
  const Tensor c = testing::random_tensor({3}, kFloat32, DeviceType::CPU, rng);
  EXPECT_TRUE(throws_with<DeviceError>([&] { (void)(g + c); },
                                       "Expected all tensors to be on the same device, but found at least two devices, "
                                       "cuda:0 and cpu!"));
  EXPECT_TRUE(throws_with<DeviceError>([&] { c.add_(g); }, "Expected all tensors to be on the same device"));
  const Tensor s = full({}, 2.0, TensorOptions().dtype(kFloat32).device(kCPU));  // 0-dim CPU
  const Tensor r = g + s;
  EXPECT_EQ(r.device(), Device("cuda:0"));
  const auto gv = g.to_vector<double>();
  for (size_t i = 0; i < gv.size(); ++i) EXPECT_DOUBLE_EQ(r.to_vector<double>()[i], gv[i] + 2.0);
  EXPECT_TRUE(throws_with<DeviceError>([&] { add_out(empty({}, TensorOptions().device("cuda")), s, s); },
                                       "Trying to pass too many CPU scalars to non-CPU kernel!"));
}

TEST(AddCuda, CudaResultsEqualCpuResults) {
  if (!cuda::is_available()) GTEST_SKIP() << "strata: no CUDA device";
  std::mt19937 rng(99);
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{1000, 257}, {257}}, {{1 << 20}, {1 << 20}}, {{64, 1}, {1, 300}}, {{5, 6, 7}, {}}, {{9}, {9}}, {{1023}, {1}}};
  for (DType da : all_dtypes()) {
    for (DType db : {da, kFloat32, kInt64}) {
      for (const auto& [sa, sb] : shapes) {
        SCOPED_TRACE(::testing::Message() << da << " + " << db);
        const Tensor a = testing::random_tensor(sa, da, DeviceType::CPU, rng);
        const Tensor b = testing::random_tensor(sb, db, DeviceType::CPU, rng);
        const DType result = result_type(a, b);
        const Scalar alpha = non_unit_alpha(result);
        const Tensor want = add(a, b, alpha);
        const Tensor got = add(a.to(Device("cuda")), b.to(Device("cuda")), alpha);
        EXPECT_EQ(got.to_vector<double>(), want.to_vector<double>());
      }
    }
  }
  // In place on the GPU keeps the pointer and matches the CPU.
  const Tensor x = testing::random_tensor({512, 512}, kFloat32, DeviceType::CPU, rng);
  const Tensor y = testing::random_tensor({512}, kFloat32, DeviceType::CPU, rng);
  const Tensor xg = x.to(Device("cuda"));
  void* p = xg.data_ptr();
  xg.add_(y.to(Device("cuda")), 0.25);
  x.add_(y, 0.25);
  EXPECT_EQ(xg.data_ptr(), p);
  EXPECT_EQ(xg.to_vector<float>(), x.to_vector<float>());
  // Misaligned (offset-by-one) views take the unvectorized path and still agree.
  const Tensor mis = x.view({-1}).slice(0, 1, 100001);
  EXPECT_EQ((mis.to(Device("cuda")).slice(0, 0) + 1.0).to_vector<float>(), (mis + 1.0).to_vector<float>());
  const Tensor mis_g = xg.view({-1}).slice(0, 1, 100001);
  const Tensor out_g = empty({100000}, TensorOptions().device("cuda"));
  add_out(out_g, mis_g, mis_g, 2);
  EXPECT_EQ(out_g.to_vector<float>(), add(mis, mis, 2).to_vector<float>());
}

// The CUDA strided kernels' 32-bit index arithmetic, checked on the host.
TEST(AddIndexing, FastDivmodMatchesDivision) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<uint32_t> numerator(0, INT32_MAX);
  for (uint32_t d : {1u, 2u, 3u, 7u, 10u, 255u, 256u, 1000u, 65537u, 1u << 20, 123456789u, (1u << 31) - 1}) {
    const kernels::FastDivmod fast(d);
    for (uint32_t n : {0u, 1u, d - 1, d, d + 1, static_cast<uint32_t>(INT32_MAX), static_cast<uint32_t>(INT32_MAX) - 1}) {
      if (n > static_cast<uint32_t>(INT32_MAX)) continue;
      EXPECT_EQ(fast.div(n), n / d) << n << " / " << d;
    }
    for (int i = 0; i < 2000; ++i) {
      const uint32_t n = numerator(rng);
      ASSERT_EQ(fast.div(n), n / d) << n << " / " << d;
    }
  }
}

TEST(AddIndexing, OffsetCalculatorMatchesElementOffsets) {
  kernels::ElementwiseDesc desc;
  desc.ndim = 3;
  desc.sizes[0] = 7;
  desc.sizes[1] = 5;
  desc.sizes[2] = 9;
  desc.numel = 7 * 5 * 9;
  desc.num_operands = 3;
  const int64_t strides[3][3] = {{4, 28, 140}, {0, 8, 40}, {36, 0, 4}};
  for (int k = 0; k < 3; ++k) {
    for (int d = 0; d < 3; ++d) desc.operands[k].byte_strides[d] = strides[k][d];
  }
  const bool ignored[3] = {false, false, false};
  const kernels::OffsetCalculator32<3> calc(desc, ignored);
  for (int64_t i = 0; i < desc.numel; ++i) {
    int64_t want[3];
    kernels::element_offsets(desc, i, want);
    uint32_t got[3];
    calc.get(static_cast<uint32_t>(i), got);
    for (int k = 0; k < 3; ++k) ASSERT_EQ(got[k], static_cast<uint32_t>(want[k])) << "element " << i;
  }
}

}  // namespace
}  // namespace strata
