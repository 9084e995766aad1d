// Shared by the benchmark suites: a reporter that keeps the median (or the only)
// timing of every benchmark, so that each suite's main can print strata/baseline
// ratios from one run of one process; with STRATA_BENCH_CUDA, the CUDA-event
// timing loop of the GPU cases.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "strata/config.h"

#if STRATA_HAVE_ATEN
#include <ATen/Parallel.h>
#endif
#if STRATA_BENCH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace strata::bench {

constexpr int64_t kKi = 1024;
constexpr int64_t kMi = 1024 * kKi;

/// "64 Ki", "16 Mi", or the count itself below 1 Ki (`unit`, e.g. "iB",
/// follows Ki and Mi; `plain_unit` follows a count below 1 Ki).
inline std::string count_label(int64_t n, const std::string& unit = "", const std::string& plain_unit = "") {
  if (n >= kMi && n % kMi == 0) return std::to_string(n / kMi) + " Mi" + unit;
  if (n >= kKi && n % kKi == 0) return std::to_string(n / kKi) + " Ki" + unit;
  return std::to_string(n) + plain_unit;
}

/// Median real time, main-thread CPU time (ns) and bytes/s of one benchmark.
struct Timing {
  double real_ns = 0;
  double cpu_ns = 0;
  double bytes_per_second = 0;
};

/// Keyed by "<name>/<args>" (just "<name>" for a benchmark without arguments).
using Timings = std::map<std::string, Timing>;

class MedianCollector : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const bool median = run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      const bool single = run.run_type != Run::RT_Aggregate && run.repetitions <= 1;
      if (!median && !single) continue;
      Timing t;
      t.real_ns = run.GetAdjustedRealTime() * to_ns(run.time_unit);
      t.cpu_ns = run.GetAdjustedCPUTime() * to_ns(run.time_unit);
      auto it = run.counters.find("bytes_per_second");
      if (it != run.counters.end()) t.bytes_per_second = it->second.value;
      const std::string& args = run.run_name.args;
      timings_[args.empty() ? run.run_name.function_name : run.run_name.function_name + "/" + args] = t;
    }
    ConsoleReporter::ReportRuns(runs);
  }

  const Timings& timings() const { return timings_; }

 private:
  static double to_ns(benchmark::TimeUnit unit) {
    switch (unit) {
      case benchmark::kNanosecond: return 1.0;
      case benchmark::kMicrosecond: return 1e3;
      case benchmark::kMillisecond: return 1e6;
      case benchmark::kSecond: return 1e9;
    }
    return 1.0;
  }
  Timings timings_;
};

#if STRATA_BENCH_CUDA
/// Times `op` with CUDA events on the legacy default stream (strata's current
/// stream unless changed, and PyTorch's), after one warm-up call. Up to
/// `host_timed_max` elements (state.range(0)) it times the host side instead:
/// each iteration queues a batch of calls and reports the batch's host time per
/// call, then synchronizes untimed, so that the launch queue never fills and
/// the figure is the host's cost, not the GPU's rate of tiny kernels (an op that
/// synchronizes itself still includes its wait). Register with UseManualTime().
/// Returns whether the events timed it.
template <typename Op>
bool time_with_cuda_events(benchmark::State& state, const Op& op, int64_t host_timed_max) {
  op();  // warm-up: first-touch, pool growth, module loading
  cudaDeviceSynchronize();
  if (state.range(0) <= host_timed_max) {
    constexpr int kBatch = 8;
    for (auto _ : state) {
      const auto begin = std::chrono::steady_clock::now();
      for (int i = 0; i < kBatch; ++i) op();
      const auto end = std::chrono::steady_clock::now();
      state.SetIterationTime(std::chrono::duration<double>(end - begin).count() / kBatch);
      state.PauseTiming();
      cudaDeviceSynchronize();
      state.ResumeTiming();
    }
    cudaDeviceSynchronize();
    return false;
  }
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  for (auto _ : state) {
    cudaEventRecord(start, nullptr);
    op();
    cudaEventRecord(stop, nullptr);
    cudaEventSynchronize(stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    state.SetIterationTime(ms / 1e3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return true;
}
#endif

/// One table of a suite's summary: rows are added as the results are read,
/// then print() writes the title and the table, or the title and a line
/// saying nothing was measured (the GPU tables on a machine without a GPU,
/// or cases a --benchmark_filter left out) instead of an empty table.
class Table {
 public:
  /// `header`: the markdown header row, e.g. "| op | size | ratio |".
  Table(std::string title, std::string header) : title_(std::move(title)), header_(std::move(header)) {}

  template <typename... Args>
  void add(const char* format, Args... args) {
    char row[512];
    std::snprintf(row, sizeof(row), format, args...);
    rows_.emplace_back(row);
  }

  void print() const {
    std::printf("\n%s\n", title_.c_str());
    if (rows_.empty()) {
      std::printf("(none measured in this run)\n");
      return;
    }
    std::string rule = "|";
    for (size_t i = 1; i < header_.size(); ++i) {
      if (header_[i] == '|') rule += "---|";
    }
    std::printf("%s\n%s\n", header_.c_str(), rule.c_str());
    for (const std::string& row : rows_) std::printf("%s\n", row.c_str());
  }

 private:
  std::string title_;
  std::string header_;
  std::vector<std::string> rows_;
};

/// The common start of a suite's main(): takes an optional --threads=N (CPU
/// threads for strata and ATen alike; default strata's), initializes Google
/// Benchmark, gives ATen strata's thread count, prints both and runs the
/// selected benchmarks into `reporter`. False on an unrecognized argument.
inline bool run_benchmarks(int argc, char** argv, MedianCollector& reporter) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--threads=", 0) == 0) {
      strata::set_num_threads(std::stoi(arg.substr(10)));
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      --argc;
      break;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return false;
#if STRATA_HAVE_ATEN
  at::set_num_threads(strata::get_num_threads());
#endif
  std::printf("threads: strata %d", strata::get_num_threads());
#if STRATA_HAVE_ATEN
  std::printf(", ATen %d", at::get_num_threads());
#endif
  std::printf("\n");
  benchmark::RunSpecifiedBenchmarks(&reporter);
  return true;
}

}  // namespace strata::bench
