// The device runtime and the CPU thread pool.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <stdexcept>
#include <vector>

#include "src/runtime/parallel.h"
#include "strata/config.h"
#include "strata/cuda.h"
#include "strata/errors.h"

namespace strata {
namespace {

TEST(DeviceRuntime, AvailabilityAgreesWithDeviceCount) {
  EXPECT_EQ(cuda::is_available(), cuda::device_count() > 0);
  EXPECT_GE(cuda::device_count(), 0);
}

TEST(DeviceRuntime, WithoutDeviceStreamsThrowAndQueriesAreHarmless) {
  if (cuda::is_available()) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_THROW(cuda::Stream::create(), DeviceError);
  cuda::synchronize();  // no-op without a device
  cuda::Event event;    // creating an event needs no device
  EXPECT_TRUE(event.query());
  EXPECT_THROW(event.record(), DeviceError);
  EXPECT_EQ(cuda::current_stream().handle(), nullptr);
  try {
    cuda::Stream::create(0);
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA is not available"), std::string::npos) << e.what();
  }
}

TEST(CudaRuntime, StreamGuardRestoresTheCurrentStream) {
  if (!cuda::is_available()) GTEST_SKIP() << "strata: no CUDA device";
  cuda::Stream before = cuda::current_stream();
  cuda::Stream side = cuda::Stream::create();
  {
    cuda::StreamGuard guard(side);
    EXPECT_EQ(cuda::current_stream(), side);
  }
  EXPECT_EQ(cuda::current_stream(), before);
}

TEST(CudaRuntime, EventRecordsAndCompletesOnAStream) {
  if (!cuda::is_available()) GTEST_SKIP() << "strata: no CUDA device";
  cuda::Stream s = cuda::Stream::create();
  cuda::Event start(true), end(true);
  start.record(s);
  end.record(s);
  end.synchronize();
  EXPECT_TRUE(end.query());
  EXPECT_GE(start.elapsed_ms(end), 0.0f);
}

class ParallelFor : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    saved_ = get_num_threads();
    set_num_threads(GetParam());
  }
  void TearDown() override { set_num_threads(saved_); }
  int saved_ = 1;
};

TEST_P(ParallelFor, CoversEveryIndexExactlyOnce) {
  std::mt19937_64 rng(1234 + GetParam());
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t begin = static_cast<int64_t>(rng() % 100);
    const int64_t end = begin + static_cast<int64_t>(rng() % 5000);
    const int64_t grain = 1 + static_cast<int64_t>(rng() % 700);
    std::vector<std::atomic<int>> hits(static_cast<size_t>(end + 1));
    parallel_for(begin, end, grain, [&](int64_t lo, int64_t hi) {
      EXPECT_LE(begin, lo);
      EXPECT_LE(hi, end);
      for (int64_t i = lo; i < hi; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
    });
    for (int64_t i = 0; i <= end; ++i) {
      ASSERT_EQ(hits[static_cast<size_t>(i)].load(), (i >= begin && i < end) ? 1 : 0)
          << "index " << i << " of [" << begin << ", " << end << ") grain " << grain;
    }
  }
}

TEST_P(ParallelFor, RethrowsOnTheCallingThreadAndStaysUsable) {
  EXPECT_THROW(parallel_for(0, 100000, 10, [](int64_t lo, int64_t) {
                 if (lo > 0) throw std::runtime_error("chunk failed");
                 if (get_num_threads() == 1) throw std::runtime_error("chunk failed");
               }),
               std::runtime_error);
  std::atomic<int64_t> sum{0};
  parallel_for(0, 100000, 10, [&](int64_t lo, int64_t hi) {
    int64_t local = 0;
    for (int64_t i = lo; i < hi; ++i) local += i;
    sum += local;
  });
  EXPECT_EQ(sum.load(), int64_t{100000} * 99999 / 2);
}

TEST_P(ParallelFor, NestedCallsRunInline) {
  std::atomic<int64_t> count{0};
  parallel_for(0, 64, 1, [&](int64_t lo, int64_t hi) {
    EXPECT_TRUE(in_parallel_region());
    for (int64_t i = lo; i < hi; ++i) {
      parallel_for(0, 1000, 1, [&](int64_t a, int64_t b) { count += b - a; });
    }
  });
  EXPECT_FALSE(in_parallel_region());
  EXPECT_EQ(count.load(), 64 * 1000);
}

INSTANTIATE_TEST_SUITE_P(Threads, ParallelFor, ::testing::Values(1, 2, 3, 8));

TEST(Config, RejectsNonPositiveThreadCounts) {
  EXPECT_THROW(set_num_threads(0), ValueError);
  EXPECT_THROW(set_num_threads(-3), ValueError);
  EXPECT_GE(get_num_threads(), 1);
}

TEST(Config, DeterministicSwitchRoundTrips) {
  const bool saved = is_deterministic();
  set_deterministic(true);
  EXPECT_TRUE(is_deterministic());
  set_deterministic(false);
  EXPECT_FALSE(is_deterministic());
  set_deterministic(saved);
}

}  // namespace
}  // namespace strata
