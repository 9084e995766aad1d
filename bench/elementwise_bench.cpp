// zeros, fill_, add, add_out, add_, broadcast add_ ([R,1024] += [1024]) and
// broadcast add ([R,1] + [1024]) at 9 elements (the seed's 3x3), 64 Ki, 1 Mi,
// 16 Mi and 64 Mi float32 elements, plus a mixed-dtype add (float32 + int64):
//   - on the CPU, strata against ATen's equivalents in the same process (when
//     ATen is found), both on the same number of threads;
//   - on a GPU (STRATA_BENCH_CUDA and a device at run time), strata against a
//     device-to-device copy / memset of the same bytes measured in the same run
//     (bandwidth as a percentage of it), and against PyTorch's CUDA ops when the
//     ATen found has CUDA.
// Each benchmark reports its median over repetitions; tables of medians and
// ratios follow the usual output.
#include <benchmark/benchmark.h>

#include "bench_report.h"

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "strata/strata.h"

#if STRATA_HAVE_ATEN
#include <ATen/ATen.h>  // (ATen/Parallel.h and cuda_runtime_api.h: bench_report.h)
#endif

namespace {

using strata::Shape;
using strata::Tensor;

using strata::bench::kKi;
using strata::bench::kMi;
const std::vector<int64_t> kSizes = {9, 64 * kKi, kMi, 16 * kMi, 64 * kMi};

// The seed's 3x3 at 9 elements, else a 1-D tensor.
Shape shape_of(int64_t n) { return n == 9 ? Shape{3, 3} : Shape{n}; }
// Columns of the broadcast cases: 1024, or 3 for the 3x3.
int64_t columns_of(int64_t n) { return n == 9 ? 3 : 1024; }

void register_sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : kSizes) b->Arg(n);
  b->UseRealTime();
}

strata::TensorOptions cpu(strata::DType dtype = strata::kFloat32) {
  return strata::TensorOptions().dtype(dtype).device(strata::kCPU);
}

void set_bytes(benchmark::State& state, int64_t elements_moved, int64_t element_size = 4) {
  state.SetBytesProcessed(state.iterations() * elements_moved * element_size);
}

// ---- strata on the CPU ------------------------------------------------------------------

void BM_zeros_strata(benchmark::State& state) {
  const Shape shape = shape_of(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(strata::zeros(shape, cpu()));
  set_bytes(state, state.range(0));
}

void BM_fill_strata(benchmark::State& state) {
  const Tensor x = strata::empty(shape_of(state.range(0)), cpu());
  for (auto _ : state) x.fill_(1.5);
  set_bytes(state, state.range(0));
}

void BM_add_strata(benchmark::State& state) {
  const Tensor a = strata::full(shape_of(state.range(0)), 1.5, cpu());
  const Tensor b = strata::full(shape_of(state.range(0)), 2.5, cpu());
  for (auto _ : state) benchmark::DoNotOptimize(a + b);
  set_bytes(state, 3 * state.range(0));
}

void BM_add_out_strata(benchmark::State& state) {
  const Tensor a = strata::full(shape_of(state.range(0)), 1.5, cpu());
  const Tensor b = strata::full(shape_of(state.range(0)), 2.5, cpu());
  const Tensor out = strata::empty(shape_of(state.range(0)), cpu());
  for (auto _ : state) strata::add_out(out, a, b);
  set_bytes(state, 3 * state.range(0));
}

void BM_add_inplace_strata(benchmark::State& state) {
  const Tensor a = strata::full(shape_of(state.range(0)), 1.5, cpu());
  const Tensor b = strata::full(shape_of(state.range(0)), 2.5, cpu());
  for (auto _ : state) a.add_(b);
  set_bytes(state, 3 * state.range(0));
}

void BM_broadcast_add_inplace_strata(benchmark::State& state) {
  const int64_t c = columns_of(state.range(0));
  const Tensor a = strata::full({state.range(0) / c, c}, 1.5, cpu());
  const Tensor b = strata::full({c}, 2.5, cpu());
  for (auto _ : state) a.add_(b);
  set_bytes(state, 2 * state.range(0));
}

void BM_broadcast_add_strata(benchmark::State& state) {
  const int64_t c = columns_of(state.range(0));
  const Tensor a = strata::full({state.range(0) / c, 1}, 1.5, cpu());
  const Tensor b = strata::full({c}, 2.5, cpu());
  for (auto _ : state) benchmark::DoNotOptimize(a + b);
  set_bytes(state, state.range(0));
}

void BM_mixed_add_strata(benchmark::State& state) {
  const Tensor a = strata::full(shape_of(state.range(0)), 1.5, cpu());
  const Tensor b = strata::full(shape_of(state.range(0)), 3, cpu(strata::kInt64));
  for (auto _ : state) benchmark::DoNotOptimize(a + b);
  state.SetBytesProcessed(state.iterations() * state.range(0) * (4 + 8 + 4));
}

BENCHMARK(BM_zeros_strata)->Name("zeros/strata")->Apply(register_sizes);
BENCHMARK(BM_fill_strata)->Name("fill_/strata")->Apply(register_sizes);
BENCHMARK(BM_add_strata)->Name("add/strata")->Apply(register_sizes);
BENCHMARK(BM_add_out_strata)->Name("add_out/strata")->Apply(register_sizes);
BENCHMARK(BM_add_inplace_strata)->Name("add_/strata")->Apply(register_sizes);
BENCHMARK(BM_broadcast_add_inplace_strata)->Name("bcast_add_/strata")->Apply(register_sizes);
BENCHMARK(BM_broadcast_add_strata)->Name("bcast_add/strata")->Apply(register_sizes);
BENCHMARK(BM_mixed_add_strata)->Name("mixed_add/strata")->Apply(register_sizes);

// ---- ATen on the CPU --------------------------------------------------------------------

#if STRATA_HAVE_ATEN
std::vector<int64_t> aten_shape(int64_t n) { return n == 9 ? std::vector<int64_t>{3, 3} : std::vector<int64_t>{n}; }
at::TensorOptions aten_cpu(at::ScalarType type = at::kFloat) { return at::TensorOptions().dtype(type); }

void BM_zeros_aten(benchmark::State& state) {
  const auto shape = aten_shape(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(at::zeros(shape, aten_cpu()));
  set_bytes(state, state.range(0));
}

void BM_fill_aten(benchmark::State& state) {
  at::Tensor x = at::empty(aten_shape(state.range(0)), aten_cpu());
  for (auto _ : state) x.fill_(1.5);
  set_bytes(state, state.range(0));
}

void BM_add_aten(benchmark::State& state) {
  const at::Tensor a = at::full(aten_shape(state.range(0)), 1.5, aten_cpu());
  const at::Tensor b = at::full(aten_shape(state.range(0)), 2.5, aten_cpu());
  for (auto _ : state) benchmark::DoNotOptimize(a + b);
  set_bytes(state, 3 * state.range(0));
}

void BM_add_out_aten(benchmark::State& state) {
  const at::Tensor a = at::full(aten_shape(state.range(0)), 1.5, aten_cpu());
  const at::Tensor b = at::full(aten_shape(state.range(0)), 2.5, aten_cpu());
  at::Tensor out = at::empty(aten_shape(state.range(0)), aten_cpu());
  for (auto _ : state) at::add_out(out, a, b);
  set_bytes(state, 3 * state.range(0));
}

void BM_add_inplace_aten(benchmark::State& state) {
  at::Tensor a = at::full(aten_shape(state.range(0)), 1.5, aten_cpu());
  const at::Tensor b = at::full(aten_shape(state.range(0)), 2.5, aten_cpu());
  for (auto _ : state) a.add_(b);
  set_bytes(state, 3 * state.range(0));
}

void BM_broadcast_add_inplace_aten(benchmark::State& state) {
  const int64_t c = columns_of(state.range(0));
  at::Tensor a = at::full({state.range(0) / c, c}, 1.5, aten_cpu());
  const at::Tensor b = at::full({c}, 2.5, aten_cpu());
  for (auto _ : state) a.add_(b);
  set_bytes(state, 2 * state.range(0));
}

void BM_broadcast_add_aten(benchmark::State& state) {
  const int64_t c = columns_of(state.range(0));
  const at::Tensor a = at::full({state.range(0) / c, 1}, 1.5, aten_cpu());
  const at::Tensor b = at::full({c}, 2.5, aten_cpu());
  for (auto _ : state) benchmark::DoNotOptimize(a + b);
  set_bytes(state, state.range(0));
}

void BM_mixed_add_aten(benchmark::State& state) {
  const at::Tensor a = at::full(aten_shape(state.range(0)), 1.5, aten_cpu());
  const at::Tensor b = at::full(aten_shape(state.range(0)), 3, aten_cpu(at::kLong));
  for (auto _ : state) benchmark::DoNotOptimize(a + b);
  state.SetBytesProcessed(state.iterations() * state.range(0) * (4 + 8 + 4));
}

BENCHMARK(BM_zeros_aten)->Name("zeros/aten")->Apply(register_sizes);
BENCHMARK(BM_fill_aten)->Name("fill_/aten")->Apply(register_sizes);
BENCHMARK(BM_add_aten)->Name("add/aten")->Apply(register_sizes);
BENCHMARK(BM_add_out_aten)->Name("add_out/aten")->Apply(register_sizes);
BENCHMARK(BM_add_inplace_aten)->Name("add_/aten")->Apply(register_sizes);
BENCHMARK(BM_broadcast_add_inplace_aten)->Name("bcast_add_/aten")->Apply(register_sizes);
BENCHMARK(BM_broadcast_add_aten)->Name("bcast_add/aten")->Apply(register_sizes);
BENCHMARK(BM_mixed_add_aten)->Name("mixed_add/aten")->Apply(register_sizes);
#endif

// ---- GPU --------------------------------------------------------------------------------

#if STRATA_BENCH_CUDA
strata::TensorOptions gpu() { return strata::TensorOptions().dtype(strata::kFloat32).device("cuda"); }

// The seed's 3x3 (9 elements) is timed on the host side: see time_with_cuda_events.
template <typename Op>
void time_on_gpu(benchmark::State& state, const Op& op) {
  if (!strata::cuda::is_available()) {
    state.SkipWithError("no CUDA device");
    return;
  }
  strata::bench::time_with_cuda_events(state, op, 9);
}

void register_gpu_sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : kSizes) b->Arg(n);
  b->UseManualTime();
}

// Reference bandwidths: a device-to-device copy (read n + write n) and a memset.
void BM_gpu_copy(benchmark::State& state) {
  const Tensor src = strata::full({state.range(0)}, 1.0, gpu());
  const Tensor dst = strata::empty({state.range(0)}, gpu());
  time_on_gpu(state, [&] {
    cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), dst.nbytes(), cudaMemcpyDeviceToDevice, nullptr);
  });
  set_bytes(state, 2 * state.range(0));
}

void BM_gpu_memset(benchmark::State& state) {
  const Tensor dst = strata::empty({state.range(0)}, gpu());
  time_on_gpu(state, [&] { cudaMemsetAsync(dst.data_ptr(), 0, dst.nbytes(), nullptr); });
  set_bytes(state, state.range(0));
}

void BM_gpu_zeros_strata(benchmark::State& state) {
  const Shape shape = shape_of(state.range(0));
  time_on_gpu(state, [&] { benchmark::DoNotOptimize(strata::zeros(shape, gpu())); });
  set_bytes(state, state.range(0));
}

void BM_gpu_add_strata(benchmark::State& state) {
  const Tensor a = strata::full(shape_of(state.range(0)), 1.5, gpu());
  const Tensor b = strata::full(shape_of(state.range(0)), 2.5, gpu());
  time_on_gpu(state, [&] { benchmark::DoNotOptimize(a + b); });
  set_bytes(state, 3 * state.range(0));
}

void BM_gpu_add_inplace_strata(benchmark::State& state) {
  const Tensor a = strata::full(shape_of(state.range(0)), 1.5, gpu());
  const Tensor b = strata::full(shape_of(state.range(0)), 2.5, gpu());
  time_on_gpu(state, [&] { a.add_(b); });
  set_bytes(state, 3 * state.range(0));
}

void BM_gpu_broadcast_add_inplace_strata(benchmark::State& state) {
  const int64_t c = columns_of(state.range(0));
  const Tensor a = strata::full({state.range(0) / c, c}, 1.5, gpu());
  const Tensor b = strata::full({c}, 2.5, gpu());
  time_on_gpu(state, [&] { a.add_(b); });
  set_bytes(state, 2 * state.range(0));
}

BENCHMARK(BM_gpu_copy)->Name("GPU_copy/d2d")->Apply(register_gpu_sizes);
BENCHMARK(BM_gpu_memset)->Name("GPU_memset/memset")->Apply(register_gpu_sizes);
BENCHMARK(BM_gpu_zeros_strata)->Name("GPU_zeros/strata")->Apply(register_gpu_sizes);
BENCHMARK(BM_gpu_add_strata)->Name("GPU_add/strata")->Apply(register_gpu_sizes);
BENCHMARK(BM_gpu_add_inplace_strata)->Name("GPU_add_/strata")->Apply(register_gpu_sizes);
BENCHMARK(BM_gpu_broadcast_add_inplace_strata)->Name("GPU_bcast_add_/strata")->Apply(register_gpu_sizes);

#if STRATA_HAVE_ATEN
// PyTorch's CUDA ops, when the ATen found was built with CUDA.
template <typename Op>
void time_torch_on_gpu(benchmark::State& state, const Op& op) {
  if (!at::hasCUDA()) {
    state.SkipWithError("ATen has no CUDA");
    return;
  }
  time_on_gpu(state, op);
}

void BM_gpu_zeros_torch(benchmark::State& state) {
  if (!at::hasCUDA()) return state.SkipWithError("ATen has no CUDA");
  const auto shape = aten_shape(state.range(0));
  time_torch_on_gpu(state, [&] { benchmark::DoNotOptimize(at::zeros(shape, at::device(at::kCUDA))); });
  set_bytes(state, state.range(0));
}

void BM_gpu_add_torch(benchmark::State& state) {
  if (!at::hasCUDA()) return state.SkipWithError("ATen has no CUDA");
  const at::Tensor a = at::full(aten_shape(state.range(0)), 1.5, at::device(at::kCUDA));
  const at::Tensor b = at::full(aten_shape(state.range(0)), 2.5, at::device(at::kCUDA));
  time_torch_on_gpu(state, [&] { benchmark::DoNotOptimize(a + b); });
  set_bytes(state, 3 * state.range(0));
}

void BM_gpu_add_inplace_torch(benchmark::State& state) {
  if (!at::hasCUDA()) return state.SkipWithError("ATen has no CUDA");
  at::Tensor a = at::full(aten_shape(state.range(0)), 1.5, at::device(at::kCUDA));
  const at::Tensor b = at::full(aten_shape(state.range(0)), 2.5, at::device(at::kCUDA));
  time_torch_on_gpu(state, [&] { a.add_(b); });
  set_bytes(state, 3 * state.range(0));
}

void BM_gpu_broadcast_add_inplace_torch(benchmark::State& state) {
  if (!at::hasCUDA()) return state.SkipWithError("ATen has no CUDA");
  const int64_t c = columns_of(state.range(0));
  at::Tensor a = at::full({state.range(0) / c, c}, 1.5, at::device(at::kCUDA));
  const at::Tensor b = at::full({c}, 2.5, at::device(at::kCUDA));
  time_torch_on_gpu(state, [&] { a.add_(b); });
  set_bytes(state, 2 * state.range(0));
}

BENCHMARK(BM_gpu_zeros_torch)->Name("GPU_zeros/torch")->Apply(register_gpu_sizes);
BENCHMARK(BM_gpu_add_torch)->Name("GPU_add/torch")->Apply(register_gpu_sizes);
BENCHMARK(BM_gpu_add_inplace_torch)->Name("GPU_add_/torch")->Apply(register_gpu_sizes);
BENCHMARK(BM_gpu_broadcast_add_inplace_torch)->Name("GPU_bcast_add_/torch")->Apply(register_gpu_sizes);
#endif
#endif

// ---- the ratio tables -------------------------------------------------------------------

using strata::bench::MedianCollector;
using strata::bench::Table;

std::string size_label(int64_t n) { return n == 9 ? "9 (3x3)" : strata::bench::count_label(n); }

using Results = strata::bench::Timings;

// | op | size | ours | theirs | ours/theirs |, one row per size where both ran.
void add_ratio_rows(Table& table, const Results& results, const std::string& op, const std::string& ours,
                    const std::string& theirs) {
  for (int64_t n : kSizes) {
    auto a = results.find(op + "/" + ours + "/" + std::to_string(n));
    auto b = results.find(op + "/" + theirs + "/" + std::to_string(n));
    if (a == results.end() || b == results.end()) continue;
    table.add("| %s | %s | %.1f | %.1f | %.3f |", op.c_str(), size_label(n).c_str(), a->second.real_ns,
              b->second.real_ns, a->second.real_ns / b->second.real_ns);
  }
}

// | op | size | ours (ns) | GB/s | % of the reference's bandwidth |
void add_bandwidth_rows(Table& table, const Results& results, const std::string& op, const std::string& reference) {
  for (int64_t n : kSizes) {
    if (n <= 9) continue;
    auto a = results.find(op + "/strata/" + std::to_string(n));
    auto b = results.find(reference + "/" + std::to_string(n));
    if (a == results.end() || b == results.end() || b->second.bytes_per_second == 0) continue;
    table.add("| %s | %s | %.1f | %.1f | %.1f%% |", op.c_str(), size_label(n).c_str(), a->second.real_ns,
              a->second.bytes_per_second / 1e9, 100.0 * a->second.bytes_per_second / b->second.bytes_per_second);
  }
}

}  // namespace

int main(int argc, char** argv) {
  MedianCollector reporter;
  if (!strata::bench::run_benchmarks(argc, argv, reporter)) return 1;
  const Results& results = reporter.timings();

  Table cpu("CPU medians of this run (ratio = strata / ATen; < 1 is faster):",
            "| op | elements (float32) | strata (ns) | ATen (ns) | ratio |");
  for (const char* op : {"zeros", "fill_", "add", "add_out", "add_", "bcast_add_", "bcast_add", "mixed_add"}) {
    add_ratio_rows(cpu, results, op, "strata", "aten");
  }
  cpu.print();
  Table gpu("GPU medians (strata vs PyTorch; 9 elements: host-side time per call):",
            "| op | elements (float32) | strata (ns) | PyTorch (ns) | ratio |");
  for (const char* op : {"GPU_zeros", "GPU_add", "GPU_add_", "GPU_bcast_add_"}) {
    add_ratio_rows(gpu, results, op, "strata", "torch");
  }
  gpu.print();
  Table bandwidth("GPU bandwidth against a device-to-device copy (add) and a memset (zeros) of this run:",
                  "| op | elements (float32) | strata (ns) | GB/s | % of reference |");
  add_bandwidth_rows(bandwidth, results, "GPU_add", "GPU_copy/d2d");
  add_bandwidth_rows(bandwidth, results, "GPU_add_", "GPU_copy/d2d");
  add_bandwidth_rows(bandwidth, results, "GPU_bcast_add_", "GPU_copy/d2d");
  add_bandwidth_rows(bandwidth, results, "GPU_zeros", "GPU_memset/memset");
  bandwidth.print();
  benchmark::Shutdown();
  return 0;
}
