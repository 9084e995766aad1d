// Shared by the benchmark suites: a reporter that keeps the median (or the only)
// timing of every benchmark, so that each suite's main can print strata/baseline
// ratios from one run of one process.
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

namespace strata::bench {

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

}  // namespace strata::bench
