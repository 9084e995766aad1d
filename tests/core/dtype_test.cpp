// DTypes (sizes, names, promotion, casting), Scalar, errors and devices.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <sstream>

#include "src/core/scalar_convert.h"
#include "tests/core/core_test_util.h"

namespace strata {
namespace {

TEST(DType, SizesAndNames) {
  const std::vector<std::tuple<DType, size_t, std::string, std::string>> table = {
      {kBool, 1, "Bool", "bool"},         {kUInt8, 1, "Byte", "uint8"},      {kInt8, 1, "Char", "int8"},
      {kInt16, 2, "Short", "int16"},      {kInt32, 4, "Int", "int32"},       {kInt64, 8, "Long", "int64"},
      {kFloat16, 2, "Half", "float16"},   {kBFloat16, 2, "BFloat16", "bfloat16"},
      {kFloat32, 4, "Float", "float32"},  {kFloat64, 8, "Double", "float64"},
  };
  for (const auto& [dtype, size, name, text] : table) {
    EXPECT_EQ(element_size(dtype), size);
    EXPECT_EQ(type_name(dtype), name);
    EXPECT_EQ(to_string(dtype), text);
    std::ostringstream os;
    os << dtype;
    EXPECT_EQ(os.str(), text);
  }
  EXPECT_TRUE(is_floating_point(kBFloat16));
  EXPECT_FALSE(is_floating_point(kInt64));
  EXPECT_TRUE(is_integral(kUInt8));
  EXPECT_FALSE(is_integral(kBool));
  EXPECT_TRUE(is_integral(kBool, /*include_bool=*/true));
  EXPECT_FALSE(is_integral(kFloat16, true));
}

TEST(DType, PromotionFollowsPyTorchsTable) {
  // torch.promote_types over (u1, i1, i2, i4, i8, f2, bf, f4, f8, b1).
  const DType order[] = {kUInt8, kInt8, kInt16, kInt32, kInt64, kFloat16, kBFloat16, kFloat32, kFloat64, kBool};
  const DType u1 = kUInt8, i1 = kInt8, i2 = kInt16, i4 = kInt32, i8 = kInt64, f2 = kFloat16, bf = kBFloat16,
              f4 = kFloat32, f8 = kFloat64, b1 = kBool;
  const DType table[10][10] = {
      /* u1 */ {u1, i2, i2, i4, i8, f2, bf, f4, f8, u1},
      /* i1 */ {i2, i1, i2, i4, i8, f2, bf, f4, f8, i1},
      /* i2 */ {i2, i2, i2, i4, i8, f2, bf, f4, f8, i2},
      /* i4 */ {i4, i4, i4, i4, i8, f2, bf, f4, f8, i4},
      /* i8 */ {i8, i8, i8, i8, i8, f2, bf, f4, f8, i8},
      /* f2 */ {f2, f2, f2, f2, f2, f2, f4, f4, f8, f2},
      /* bf */ {bf, bf, bf, bf, bf, f4, bf, f4, f8, bf},
      /* f4 */ {f4, f4, f4, f4, f4, f4, f4, f4, f8, f4},
      /* f8 */ {f8, f8, f8, f8, f8, f8, f8, f8, f8, f8},
      /* b1 */ {u1, i1, i2, i4, i8, f2, bf, f4, f8, b1},
  };
  for (int a = 0; a < 10; ++a) {
    for (int b = 0; b < 10; ++b) {
      EXPECT_EQ(promote_types(order[a], order[b]), table[a][b]) << to_string(order[a]) << " + " << to_string(order[b]);
    }
  }
}

TEST(DType, CanCastRefusesFloatToIntegerAndAnythingToBool) {
  EXPECT_FALSE(can_cast(kFloat32, kInt64));
  EXPECT_FALSE(can_cast(kFloat16, kUInt8));
  EXPECT_FALSE(can_cast(kInt32, kBool));
  EXPECT_FALSE(can_cast(kFloat64, kBool));
  EXPECT_TRUE(can_cast(kBool, kBool));
  EXPECT_TRUE(can_cast(kInt64, kInt8));
  EXPECT_TRUE(can_cast(kInt64, kFloat16));
  EXPECT_TRUE(can_cast(kFloat64, kBFloat16));
  EXPECT_TRUE(can_cast(kBool, kFloat32));
}

TEST(DType, HalfAndBFloat16HostConversions) {
  EXPECT_EQ(Half(1.0f).bits, 0x3C00);
  EXPECT_EQ(Half(-2.0f).bits, 0xC000);
  EXPECT_EQ(static_cast<float>(Half::from_bits(0x3555)), 0.333251953125f);
  EXPECT_EQ(static_cast<float>(Half::from_bits(0x0001)), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isnan(static_cast<float>(Half::from_bits(0x7E00))));
  EXPECT_EQ(BFloat16(1.0f).bits, 0x3F80);
  EXPECT_EQ(static_cast<float>(BFloat16::from_bits(0x4049)), 3.140625f);
}

TEST(DType, NaNsConvertToPyTorchsBits) {
  // Random NaNs of either sign and any payload: BFloat16 gives c10's one quiet
  // NaN 0x7fc0; Half keeps the sign with the quiet payload 0x200, as c10's
  // fp16 conversion. Infinities and the largest finite values are unchanged.
  std::mt19937 rng(static_cast<uint32_t>(::testing::UnitTest::GetInstance()->random_seed()));
  for (int i = 0; i < 1000; ++i) {
    const uint32_t bits = (rng() & 0x807fffffu) | 0x7f800000u | (1u + rng() % 0x7fffffu);
    float nan;
    std::memcpy(&nan, &bits, sizeof nan);
    ASSERT_TRUE(std::isnan(nan)) << std::hex << bits;
    EXPECT_EQ(BFloat16(nan).bits, 0x7fc0) << std::hex << bits;
    EXPECT_EQ(Half(nan).bits, (bits >> 31) != 0 ? 0xfe00 : 0x7e00) << std::hex << bits;
  }
  EXPECT_EQ(BFloat16(-INFINITY).bits, 0xff80);
  EXPECT_EQ(BFloat16(INFINITY).bits, 0x7f80);
  EXPECT_EQ(BFloat16(static_cast<float>(BFloat16::from_bits(0xff7f))).bits, 0xff7f);
}

TEST(Scalar, KindsAndConversions) {
  EXPECT_TRUE(Scalar(true).is_boolean());
  EXPECT_TRUE(Scalar(3).is_integral());
  EXPECT_TRUE(Scalar(2.5f).is_floating_point());
  EXPECT_EQ(Scalar(3).dtype(), kInt64);
  EXPECT_EQ(Scalar(2.5).dtype(), kFloat32);
  EXPECT_EQ(Scalar(false).dtype(), kBool);
  EXPECT_EQ(Scalar(-2.75).to<int>(), -2);
  EXPECT_EQ(Scalar(Half(1.5f)).to_double(), 1.5);
  std::ostringstream os;
  os << Scalar(true) << ' ' << Scalar(int64_t{-4}) << ' ' << Scalar(0.5);
  EXPECT_EQ(os.str(), "True -4 0.5");
}

TEST(Scalar, CheckedConversionForFills) {
  EXPECT_TRUE(detail::scalar_fits(255, kUInt8));
  EXPECT_FALSE(detail::scalar_fits(256, kUInt8));
  // A negative integer wraps into uint8 when its magnitude fits (PyTorch's
  // two's complement allowance); a negative floating value does not.
  EXPECT_TRUE(detail::scalar_fits(-1, kUInt8));
  EXPECT_TRUE(detail::scalar_fits(-255, kUInt8));
  EXPECT_FALSE(detail::scalar_fits(-256, kUInt8));
  EXPECT_FALSE(detail::scalar_fits(-1.0, kUInt8));
  EXPECT_FALSE(detail::scalar_fits(int64_t{INT64_MIN}, kUInt8));
  EXPECT_FALSE(detail::scalar_fits(-129, kInt8));
  EXPECT_TRUE(detail::scalar_fits(-128, kInt8));
  EXPECT_FALSE(detail::scalar_fits(40000, kInt16));
  EXPECT_TRUE(detail::scalar_fits(2.5, kInt32));
  EXPECT_FALSE(detail::scalar_fits(1e10, kInt32));
  EXPECT_TRUE(detail::scalar_fits(65504.0, kFloat16));
  EXPECT_FALSE(detail::scalar_fits(1e5, kFloat16));
  EXPECT_TRUE(detail::scalar_fits(INFINITY, kFloat16));
  EXPECT_FALSE(detail::scalar_fits(1e300, kFloat32));
  EXPECT_TRUE(detail::scalar_fits(1e300, kFloat64));
  EXPECT_TRUE(detail::scalar_fits(7, kBool));
  // 2^63 is past INT64_MAX (which rounds up to 2^63 as a double); -2^63 is not.
  EXPECT_FALSE(detail::scalar_fits(0x1p63, kInt64));
  EXPECT_TRUE(detail::scalar_fits(-0x1p63, kInt64));
  EXPECT_TRUE(detail::scalar_fits(0x1p62, kInt64));
  EXPECT_FALSE(detail::scalar_fits(-0x1p64, kInt64));
  EXPECT_STRATA_ERROR(full({2}, 0x1p63, TensorOptions().dtype(kInt64).device(kCPU)), DTypeError,
                      "value cannot be converted to type int64 without overflow");
  EXPECT_STRATA_ERROR(detail::check_scalar_fits(300, kUInt8), DTypeError,
                      "value cannot be converted to type uint8 without overflow");
}

TEST(Errors, WhatCarriesTheLocationAndMessageDoesNot) {
  const ShapeError e("bad shape", "src/x.cpp", 12);
  EXPECT_EQ(e.message(), "bad shape");
  EXPECT_STREQ(e.what(), "bad shape [src/x.cpp:12]");
  EXPECT_EQ(e.line(), 12);
  const Error plain("no location");
  EXPECT_STREQ(plain.what(), "no location");
  // Every error is a strata::Error and a std::runtime_error.
  try {
    throw OverlapError("x");
  } catch (const Error& caught) {
    EXPECT_NE(dynamic_cast<const OverlapError*>(&caught), nullptr);
  }
  EXPECT_THROW(throw OutOfMemoryError("oom"), std::runtime_error);
}

TEST(Errors, ThrownFromTheLibraryCarryTheSourceFile) {
  try {
    zeros({-1}, kCPU);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(e.file(), nullptr);
    EXPECT_NE(std::string(e.what()).find(" ["), std::string::npos);
  }
}

TEST(Device, Parsing) {
  EXPECT_EQ(Device("cpu"), kCPU);
  EXPECT_EQ(Device("cuda"), Device(DeviceType::CUDA, 0));
  EXPECT_EQ(Device("cuda:3").index(), 3);
  EXPECT_TRUE(Device("cuda:1").is_cuda());
  EXPECT_EQ(Device("cuda:12").str(), "cuda:12");
  EXPECT_EQ(kCPU.str(), "cpu");
  std::ostringstream os;
  os << Device("cuda:2");
  EXPECT_EQ(os.str(), "cuda:2");
  EXPECT_STRATA_ERROR(Device("gpu"), ValueError, "Expected one of cpu, cuda device type at start of device string: gpu");
  EXPECT_STRATA_ERROR(Device("cuda:x"), ValueError, "Invalid device string: 'cuda:x'");
  EXPECT_STRATA_ERROR(Device("cuda:"), ValueError, "Invalid device string: 'cuda:'");
  EXPECT_STRATA_ERROR(Device("cuda:-1"), ValueError, "Invalid device string: 'cuda:-1'");
  EXPECT_STRATA_ERROR(Device("cpu:1"), ValueError, "CPU device index must be zero, got 1");
  EXPECT_STRATA_ERROR(Device(DeviceType::CUDA, -2), ValueError, "Device index must not be negative, got -2");
}

TEST(Device, UsabilityAndDefault) {
  check_device_usable(kCPU);
  if (!cuda::is_available()) {
#if STRATA_WITH_CUDA
    EXPECT_STRATA_ERROR(check_device_usable(Device("cuda")), DeviceError,
                        "CUDA is not available: no CUDA device or driver (asked for cuda:0)");
#else
    EXPECT_STRATA_ERROR(check_device_usable(Device("cuda")), DeviceError,
                        "CUDA is not available: this build has no CUDA support (asked for cuda:0)");
#endif
    if (std::getenv("STRATA_DEVICE") == nullptr) EXPECT_EQ(default_device(), kCPU);
  } else {
    EXPECT_THROW(check_device_usable(Device(DeviceType::CUDA, cuda::device_count())), DeviceError);
  }
  const Device before = default_device();
  set_default_device(kCPU);
  EXPECT_EQ(default_device(), kCPU);
  EXPECT_EQ(zeros({2}).device(), kCPU);
  set_default_device(before);
}


// Runs only as a child of Device.StrataDeviceEnvironmentVariableSetsTheDefault,
// which starts this executable again with STRATA_DEVICE set: default_device()
// reads the variable once, on first use in a process.
TEST(DeviceEnvChild, ReportsTheDefault) {
  const char* expected = std::getenv("STRATA_TEST_EXPECTED_DEFAULT");
  if (expected == nullptr) GTEST_SKIP() << "runs only in a child process";
  if (std::string(expected) == "ValueError") {
    EXPECT_STRATA_ERROR(default_device(), ValueError,
                        std::string("Expected one of cpu, cuda device type at start of device string: ") +
                            std::getenv("STRATA_DEVICE"));
  } else {
    EXPECT_EQ(default_device().str(), expected);
    EXPECT_EQ(default_device().str(), expected);  // cached, same answer
  }
}

TEST(Device, StrataDeviceEnvironmentVariableSetsTheDefault) {
  char self[4096] = {};
  const ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length <= 0) GTEST_SKIP() << "no /proc/self/exe";
  // Returns the child's exit status; the child must have run (not skipped) its one test.
  auto run_child = [&](const std::string& env, const std::string& expected) {
    const std::string command = "STRATA_DEVICE='" + env + "' STRATA_TEST_EXPECTED_DEFAULT='" + expected + "' '" +
                                std::string(self) + "' --gtest_filter=DeviceEnvChild.ReportsTheDefault 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return std::string("popen failed");
    std::string output;
    char buffer[512];
    while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
    const int status = pclose(pipe);
    const bool passed = status == 0 && output.find("[  PASSED  ] 1 test") != std::string::npos &&
                        output.find("SKIPPED") == std::string::npos;
    return passed ? std::string("ok") : "STRATA_DEVICE=" + env + ": " + output;
  };
  EXPECT_EQ(run_child("cpu", "cpu"), "ok");
  // Only parsed here: whether the device is usable is checked when it is used.
  EXPECT_EQ(run_child("cuda", "cuda:0"), "ok");
  EXPECT_EQ(run_child("cuda:1", "cuda:1"), "ok");
  EXPECT_EQ(run_child("gpu", "ValueError"), "ok");
  // An empty variable is the same as none.
  EXPECT_EQ(run_child("", cuda::is_available() ? "cuda:0" : "cpu"), "ok");
}

}  // namespace
}  // namespace strata
