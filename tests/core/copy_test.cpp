// copy_: dtype conversions (every pair, rounding of the 16-bit floats),
// broadcasting, strided destinations, overlap refusal, CPU<->CUDA transfers, and
// the elementwise iteration descriptor behind it.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "kernels/common/convert.h"
#include "kernels/common/offset_calc.h"
#include "src/ops/elementwise_iter.h"
#include "tests/core/core_test_util.h"

namespace strata {
namespace {

using testing::DeviceTest;
using testing::random_floats;
using testing::random_tensor;

constexpr DType kAllDTypes[] = {kBool,    kUInt8,    kInt8,    kInt16,   kInt32,
                                kInt64,   kFloat16,  kBFloat16, kFloat32, kFloat64};

// The expected value of `v` converted to `to`, as a double (reference written
// independently of the kernels: truncation toward zero, != 0 for bool, and
// the 16-bit formats through Half/BFloat16).
double reference_convert(double v, DType to) {
  switch (to) {
    case kBool: return v != 0.0 ? 1.0 : 0.0;
    case kUInt8:
    case kInt8:
    case kInt16:
    case kInt32:
    case kInt64: return std::trunc(v);
    case kFloat16: return static_cast<float>(Half(static_cast<float>(v)));
    case kBFloat16: return static_cast<float>(BFloat16(static_cast<float>(v)));
    case kFloat32: return static_cast<float>(v);
    case kFloat64: return v;
  }
  return v;
}

// Source values both dtypes hold without overflow: integers below 100 (plus
// eighths for the floating types), some zeros, negatives unless either side is
// unsigned; rounded to what `from` stores.
std::vector<double> source_values(DType from, DType to, size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> whole(0, 99);
  std::uniform_int_distribution<int> eighths(0, 7);
  std::vector<double> values(n);
  for (size_t i = 0; i < n; ++i) {
    double v = whole(gen) % 5 == 0 ? 0.0 : whole(gen);
    if (is_floating_point(from)) v += eighths(gen) / 8.0;  // exact in every float format below 128
    if (from != kUInt8 && to != kUInt8 && whole(gen) % 2 == 0) v = -v;
    values[i] = reference_convert(v, from);
  }
  return values;
}

class Copy : public DeviceTest {};
STRATA_INSTANTIATE_DEVICES(Copy);

TEST_P(Copy, EveryDTypePairConverts) {
  for (const DType from : kAllDTypes) {
    for (const DType to : kAllDTypes) {
      const std::vector<double> values = source_values(from, to, 37, 100 + static_cast<unsigned>(from));
      Tensor src = from_vector(values, {37}, options(from));
      ASSERT_EQ(src.dtype(), from);
      Tensor dst = src.to(to);
      ASSERT_EQ(dst.dtype(), to);
      const std::vector<double> got = dst.to_vector<double>();
      for (size_t i = 0; i < values.size(); ++i) {
        ASSERT_EQ(got[i], reference_convert(values[i], to))
            << to_string(from) << " -> " << to_string(to) << " at " << i << " value " << values[i];
      }
      // The same pair through a strided destination and a strided source.
      Tensor wide = zeros({37, 2}, options(to));
      wide.select(1, 1).copy_(from_vector(values, {37, 1}, options(from)).select(1, 0));
      const std::vector<double> strided = wide.to_vector<double>();
      for (size_t i = 0; i < values.size(); ++i) {
        ASSERT_EQ(strided[2 * i + 1], reference_convert(values[i], to)) << to_string(from) << " -> " << to_string(to);
        ASSERT_EQ(strided[2 * i], 0.0);
      }
    }
  }
}

// Bits of float32 values converted on the device.
std::vector<uint16_t> half_bits_of(const std::vector<float>& values, const TensorOptions& options, DType dtype) {
  Tensor t = from_vector(values, options).to(dtype);
  std::vector<uint16_t> bits;
  if (dtype == kFloat16) {
    for (Half h : t.to_vector<Half>()) bits.push_back(h.bits);
  } else {
    for (BFloat16 b : t.to_vector<BFloat16>()) bits.push_back(b.bits);
  }
  return bits;
}

TEST_P(Copy, Float16RoundsToNearestEven) {
  const float two_m11 = std::ldexp(1.0f, -11);
  const std::vector<float> values = {
      1.0f + two_m11,             // halfway between 1 and 1+2^-10: even is 1.0
      1.0f + 3 * two_m11,         // halfway between 1+2^-10 and 1+2^-9: even is 1+2^-9
      1.0f + two_m11 + std::ldexp(1.0f, -20),  // above halfway: rounds up
      65504.0f,                   // largest half
      65519.0f,                   // rounds down to 65504
      65520.0f,                   // halfway to 65536: overflows to inf
      -1e6f,                      // -inf
      std::ldexp(1.0f, -24),      // smallest subnormal
      std::ldexp(1.0f, -25),      // halfway to 0: even is 0
      3 * std::ldexp(1.0f, -25),  // halfway between 1 and 2 ulps: 2
      std::ldexp(1.0f, -14),      // smallest normal
      -0.0f,
      std::numeric_limits<float>::infinity(),
  };
  const std::vector<uint16_t> expected = {0x3C00, 0x3C02, 0x3C01, 0x7BFF, 0x7BFF, 0x7C00, 0xFC00,
                                          0x0001, 0x0000, 0x0002, 0x0400, 0x8000, 0x7C00};
  EXPECT_EQ(half_bits_of(values, options(), kFloat16), expected);
  const uint16_t nan_bits = half_bits_of({std::numeric_limits<float>::quiet_NaN()}, options(), kFloat16)[0];
  EXPECT_EQ(nan_bits & 0x7C00, 0x7C00);
  EXPECT_NE(nan_bits & 0x03FF, 0);
  // Back to float: subnormals and the largest value are exact.
  const std::vector<float> back = from_vector(values, options()).to(kFloat16).to(kFloat32).to_vector<float>();
  EXPECT_EQ(back[7], std::ldexp(1.0f, -24));
  EXPECT_EQ(back[3], 65504.0f);
  EXPECT_TRUE(std::isinf(back[5]));
}

TEST_P(Copy, BFloat16RoundsToNearestEven) {
  const float two_m8 = std::ldexp(1.0f, -8);
  const std::vector<float> values = {1.0f + two_m8, 1.0f + 3 * two_m8, 1.0f + two_m8 + std::ldexp(1.0f, -20),
                                     -2.0f, std::numeric_limits<float>::max(), 0.0f};
  const std::vector<uint16_t> expected = {0x3F80, 0x3F82, 0x3F81, 0xC000, 0x7F80, 0x0000};
  EXPECT_EQ(half_bits_of(values, options(), kBFloat16), expected);
  const uint16_t nan_bits = half_bits_of({std::numeric_limits<float>::quiet_NaN()}, options(), kBFloat16)[0];
  EXPECT_EQ(nan_bits & 0x7F80, 0x7F80);
  EXPECT_NE(nan_bits & 0x007F, 0);
}

TEST_P(Copy, ToBoolIsNonZero) {
  const std::vector<float> values = {0.5f, -0.0f, 0.0f, std::numeric_limits<float>::quiet_NaN(), -3.0f, 1e-30f};
  const std::vector<uint8_t> expected = {1, 0, 0, 1, 1, 1};
  EXPECT_EQ(from_vector(values, options()).to(kBool).to_vector<uint8_t>(), expected);
  EXPECT_EQ(from_vector(values, options()).to(kFloat16).to(kBool).to_vector<uint8_t>(),
            (std::vector<uint8_t>{1, 0, 0, 1, 1, 0}));  // 1e-30 underflows to 0 in half
  EXPECT_EQ(from_vector(std::vector<bool>{true, false}, options(kBool)).to(kFloat32).to_vector<float>(),
            (std::vector<float>{1.f, 0.f}));
  EXPECT_EQ(from_vector(values, options()).to_vector<bool>(), (std::vector<bool>{true, false, false, true, true, true}));
}

TEST_P(Copy, BroadcastsTheSource) {
  Tensor dst = zeros({3, 4}, options(kFloat64));
  Tensor row = random_tensor({4}, device(), 50);
  dst.copy_(row);
  const std::vector<float> r = row.to_vector<float>();
  std::vector<double> got = dst.to_vector<double>();
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) EXPECT_EQ(got[i * 4 + j], r[j]);
  }
  Tensor column = random_tensor({3, 1}, device(), 51);
  dst.copy_(column);
  const std::vector<float> c = column.to_vector<float>();
  got = dst.to_vector<double>();
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 4; ++j) EXPECT_EQ(got[i * 4 + j], c[i]);
  }
  dst.copy_(full({}, 7, options(kInt32)));
  for (double v : dst.to_vector<double>()) EXPECT_EQ(v, 7.0);
}

TEST_P(Copy, IntoNonContiguousDestination) {
  Tensor base = random_tensor({5, 6}, device(), 52);
  const std::vector<float> before = base.to_vector<float>();
  Tensor src = random_tensor({3, 5}, device(), 53);
  const std::vector<float> s = src.to_vector<float>();
  base.slice(1, 0, 6, 2).t().copy_(src);  // base[:, ::2].T = src
  const std::vector<float> after = base.to_vector<float>();
  for (int i = 0; i < 5; ++i) {
    for (int j = 0; j < 6; ++j) {
      const float expected = j % 2 == 0 ? s[(j / 2) * 5 + i] : before[i * 6 + j];
      EXPECT_EQ(after[i * 6 + j], expected);
    }
  }
}

TEST_P(Copy, LargeStridedCopyUsesEveryElementOnce) {
  // Above the CPU grain size so the copy runs in parallel chunks.
  Tensor src = random_tensor({300, 257}, device(), 54);
  Tensor dst = empty({257, 300}, options(kFloat64));
  dst.copy_(src.t());
  const std::vector<float> s = src.to_vector<float>();
  const std::vector<double> d = dst.to_vector<double>();
  for (int i = 0; i < 257; ++i) {
    for (int j = 0; j < 300; ++j) ASSERT_EQ(d[i * 300 + j], s[j * 257 + i]);
  }
}

TEST_P(Copy, TransposedCopiesIntoDenseAndStridedDestinations) {
  // Sizes that are not multiples of the CPU tile, dense and strided rows.
  Tensor src = random_tensor({130, 70}, device(), 57);
  const std::vector<float> s = src.to_vector<float>();
  Tensor dense = empty({70, 130}, options(kFloat16));
  dense.copy_(src.t());
  Tensor wide = zeros({70, 260}, options());
  wide.slice(1, 1, 260, 2).copy_(src.t());
  const std::vector<float> d = dense.to_vector<float>();
  const std::vector<float> w = wide.to_vector<float>();
  for (int i = 0; i < 70; ++i) {
    for (int j = 0; j < 130; ++j) {
      ASSERT_EQ(d[i * 130 + j], static_cast<float>(Half(s[j * 70 + i])));
      ASSERT_EQ(w[i * 260 + 2 * j + 1], s[j * 70 + i]);
      ASSERT_EQ(w[i * 260 + 2 * j], 0.f);
    }
  }
}

TEST_P(Copy, EmptyAndZeroDim) {
  Tensor empty_dst = zeros({0, 3}, options());
  empty_dst.copy_(random_tensor({3}, device(), 55));
  EXPECT_EQ(empty_dst.numel(), 0);
  Tensor scalar = zeros({}, options(kInt16));
  scalar.copy_(full({}, -12.75, options(kFloat64)));
  EXPECT_EQ(scalar.item<int64_t>(), -12);
}

TEST_P(Copy, ShapeErrors) {
  Tensor dst = zeros({3}, options());
  EXPECT_STRATA_ERROR(dst.copy_(zeros({4}, options())), ShapeError,
                      "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0");
  EXPECT_STRATA_ERROR(dst.copy_(zeros({2, 3}, options())), ShapeError,
                      "output with shape [3] doesn't match the broadcast shape [2, 3]");
}

TEST_P(Copy, OverlapErrors) {
  Tensor x = random_tensor({4}, device(), 56);
  const std::vector<float> before = x.to_vector<float>();
  x.copy_(x);
  EXPECT_EQ(x.to_vector<float>(), before);
  EXPECT_THROW(x.slice(0, 1).copy_(x.slice(0, 0, 3)), OverlapError);
  EXPECT_EQ(x.to_vector<float>(), before);
  Tensor e = zeros({1}, options()).expand({4});
  EXPECT_THROW(e.copy_(x), OverlapError);
}

TEST(CopyCUDA, RoundTripsBetweenHostAndDevice) {
  if (!cuda::is_available()) GTEST_SKIP() << "strata: no CUDA device";
  const Device gpu("cuda");
  Tensor host = random_tensor({17, 33}, kCPU, 60);
  const std::vector<float> values = host.to_vector<float>();
  Tensor dev = host.to(gpu);
  EXPECT_TRUE(dev.is_cuda());
  EXPECT_EQ(dev.to(kCPU).to_vector<float>(), values);
  // Non-contiguous source, conversion and broadcasting across devices.
  Tensor dev_t = zeros({33, 17}, TensorOptions().dtype(kFloat64).device(gpu));
  dev_t.copy_(host.t());
  Tensor back = zeros({17, 33}, TensorOptions().dtype(kFloat16).device(kCPU));
  back.t().copy_(dev_t);
  const std::vector<float> round = back.to_vector<float>();
  for (size_t i = 0; i < values.size(); ++i) EXPECT_EQ(round[i], static_cast<float>(Half(values[i])));
  Tensor row = zeros({4, 33}, TensorOptions().device(gpu));
  row.copy_(host.select(0, 5));
  const std::vector<float> rows = row.to_vector<float>();
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 33; ++j) EXPECT_EQ(rows[i * 33 + j], values[5 * 33 + j]);
  }
  EXPECT_THROW(row.copy_(zeros({5}, kCPU)), ShapeError);
}

TEST(CopyCUDA, DeviceResultsEqualHostResultsForEveryPair) {
  if (!cuda::is_available()) GTEST_SKIP() << "strata: no CUDA device";
  for (const DType from : kAllDTypes) {
    // Non-negative values, so that the unsigned destinations are defined too.
    const std::vector<double> values = source_values(from, kUInt8, 1000, 7);
    Tensor host = from_vector(values, {10, 100}, TensorOptions().dtype(from).device(kCPU));
    Tensor dev = host.to(Device("cuda"));
    for (const DType to : kAllDTypes) {
      Tensor host_out = host.t().to(to);
      Tensor dev_out = dev.t().to(to);
      EXPECT_EQ(dev_out.to_vector<double>(), host_out.to_vector<double>()) << to_string(from) << " -> " << to_string(to);
    }
  }
}

// ---- the elementwise iteration descriptor -----------------------------------

TEST(ElementwiseDesc, ContiguousOperandsCoalesceToOneDim) {
  Tensor out = zeros({2, 3, 4}, kCPU);
  Tensor in = zeros({2, 3, 4}, TensorOptions().dtype(kFloat64).device(kCPU));
  const kernels::ElementwiseDesc desc = ops::make_elementwise_desc(out, {in});
  EXPECT_EQ(desc.ndim, 1);
  EXPECT_EQ(desc.numel, 24);
  EXPECT_EQ(desc.sizes[0], 24);
  EXPECT_EQ(desc.operands[0].byte_strides[0], 4);
  EXPECT_EQ(desc.operands[1].byte_strides[0], 8);
  EXPECT_EQ(desc.operands[1].dtype, kFloat64);
  EXPECT_TRUE(desc.is_contiguous());
}

TEST(ElementwiseDesc, BroadcastInputsGetStrideZero) {
  Tensor out = zeros({3, 4}, kCPU);
  Tensor row = zeros({4}, kCPU);
  Tensor column = zeros({3, 1}, kCPU);
  const kernels::ElementwiseDesc desc = ops::make_elementwise_desc(out, {row, column});
  ASSERT_EQ(desc.ndim, 2);
  EXPECT_EQ(desc.sizes[0], 4);
  EXPECT_EQ(desc.sizes[1], 3);
  EXPECT_EQ(desc.operands[0].byte_strides[0], 4);
  EXPECT_EQ(desc.operands[0].byte_strides[1], 16);
  EXPECT_EQ(desc.operands[1].byte_strides[0], 4);
  EXPECT_EQ(desc.operands[1].byte_strides[1], 0);
  EXPECT_EQ(desc.operands[2].byte_strides[0], 0);
  EXPECT_EQ(desc.operands[2].byte_strides[1], 4);
  EXPECT_FALSE(desc.is_contiguous());
}

TEST(ElementwiseDesc, DimsFollowTheOutputsMemoryOrder) {
  // A transposed output: its innermost memory dim is logical dim 0.
  Tensor out = zeros({4, 3}, kCPU).t();  // sizes [3, 4], strides [1, 3]
  Tensor in = zeros({3, 4}, kCPU);
  const kernels::ElementwiseDesc desc = ops::make_elementwise_desc(out, {in});
  ASSERT_EQ(desc.ndim, 2);
  EXPECT_EQ(desc.sizes[0], 3);
  EXPECT_EQ(desc.operands[0].byte_strides[0], 4);
  EXPECT_EQ(desc.operands[1].byte_strides[0], 16);
  EXPECT_EQ(desc.sizes[1], 4);
  // A permuted pair coalesces back to one dim.
  Tensor base_out = zeros({2, 3, 4}, kCPU);
  Tensor base_in = zeros({2, 3, 4}, kCPU);
  const kernels::ElementwiseDesc permuted =
      ops::make_elementwise_desc(base_out.permute({2, 0, 1}), {base_in.permute({2, 0, 1})});
  EXPECT_EQ(permuted.ndim, 1);
  EXPECT_EQ(permuted.sizes[0], 24);
}

TEST(ElementwiseDesc, OffsetsMatchTheLogicalIndex) {
  Tensor out = zeros({4, 5, 6}, kCPU).permute({1, 2, 0});
  Tensor in = zeros({5, 1, 4}, kCPU);
  const kernels::ElementwiseDesc desc = ops::make_elementwise_desc(out, {in});
  // Every element of the iteration space maps to a distinct output location and
  // to the input location broadcasting names.
  std::vector<int> seen(120, 0);
  for (int64_t linear = 0; linear < desc.numel; ++linear) {
    int64_t offsets[2];
    kernels::element_offsets(desc, linear, offsets);
    ASSERT_EQ(offsets[0] % 4, 0);
    const int64_t out_element = offsets[0] / 4;  // out storage: [4, 5, 6] row-major
    ++seen[out_element];
    const int64_t a = out_element / 30, b = (out_element / 6) % 5, c = out_element % 6;
    // out[b][c][a] reads in[b][0][a].
    EXPECT_EQ(offsets[1], (b * 4 + a) * 4);
    (void)c;
  }
  for (int count : seen) EXPECT_EQ(count, 1);
}

TEST(ElementwiseDesc, BroadcastShapes) {
  EXPECT_EQ(broadcast_shapes({2, 1, 4}, {3, 1}), (Shape{2, 3, 4}));
  EXPECT_EQ(broadcast_shapes({}, {3}), (Shape{3}));
  EXPECT_EQ(broadcast_shapes({1, 0}, {5, 1}), (Shape{5, 0}));
  EXPECT_EQ(ops::broadcast_shape({Shape{4}, Shape{3, 1}, Shape{2, 1, 1}}), (Shape{2, 3, 4}));
  EXPECT_STRATA_ERROR(broadcast_shapes({2, 2}, {2, 3}), ShapeError,
                      "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1");
  EXPECT_STRATA_ERROR(broadcast_shapes({0}, {2}), ShapeError,
                      "The size of tensor a (0) must match the size of tensor b (2) at non-singleton dimension 0");
  EXPECT_TRUE(ops::is_broadcastable_to(Shape{3, 1}, Shape{2, 3, 4}));
  EXPECT_FALSE(ops::is_broadcastable_to(Shape{2, 3, 4}, Shape{3, 4}));
  EXPECT_EQ(ops::broadcast_strides(Shape{3, 1}, Shape{1, 1}, Shape{2, 3, 4}), (Shape{0, 1, 0}));
}

TEST(ElementwiseDesc, OutputIsNeverBroadcast) {
  Tensor out = zeros({1, 3}, kCPU);
  EXPECT_STRATA_ERROR(ops::make_elementwise_desc(out, {zeros({2, 3}, kCPU)}, "add_"), ShapeError,
                      "output with shape [1, 3] doesn't match the broadcast shape [2, 3]");
}

// message() is PyTorch's text as it is, for add_, add_out and +=: no op name
// in front.
TEST(ElementwiseDesc, InPlaceAddErrorsArePyTorchsTexts) {
  Tensor row = zeros({1, 3}, kCPU);
  EXPECT_STRATA_ERROR(row.add_(zeros({2, 3}, kCPU)), ShapeError,
                      "output with shape [1, 3] doesn't match the broadcast shape [2, 3]");
  EXPECT_STRATA_ERROR(add_out(row, zeros({2, 3}, kCPU), row), ShapeError,
                      "output with shape [1, 3] doesn't match the broadcast shape [2, 3]");
  Tensor ints = zeros({3}, TensorOptions().dtype(kInt32).device(kCPU));
  EXPECT_STRATA_ERROR(ints += 1.5, DTypeError, "result type Float can't be cast to the desired output type Int");
  EXPECT_STRATA_ERROR(add_out(ints, ints, zeros({3}, TensorOptions().dtype(kFloat64).device(kCPU))), DTypeError,
                      "result type Double can't be cast to the desired output type Int");
}

TEST(ElementwiseDesc, TooManyDimsAfterCoalescing) {
  // Alternating broadcast dims keep 18 dims from coalescing.
  Shape out_shape(18, 2), in_shape(18, 2);
  for (size_t i = 0; i < in_shape.size(); i += 2) in_shape[i] = 1;
  Tensor out = zeros(out_shape, kCPU);
  Tensor in = zeros(in_shape, kCPU);
  EXPECT_THROW(ops::make_elementwise_desc(out, {in}), NotSupportedError);
}

}  // namespace
}  // namespace strata
