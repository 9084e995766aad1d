// The caching allocator against the system allocators, in one process so that
// the ratios hold on a noisy machine:
//   - alloc+free pairs at 512 B, 64 KiB, 1 MiB, 64 MiB and a random mix:
//     the pool (cache hits) vs malloc/free;
//   - tensor creation and destruction (`empty`) at the same sizes: strata vs
//     ATen's at::empty when ATen is found;
//   - on a GPU (STRATA_BENCH_CUDA and a device at run time): the pool vs
//     cudaMalloc/cudaFree and cudaMallocAsync/cudaFreeAsync, and vs PyTorch's
//     caching allocator when built with STRATA_BENCH_TORCH_CUDA.
// Each benchmark reports its median over repetitions; a table of medians and
// ratios follows the usual output.
#include <benchmark/benchmark.h>

#include "bench_report.h"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "strata/caching_allocator.h"
#include "strata/cuda.h"
#include "strata/factories.h"
#include "strata/memory.h"
#include "strata/tensor.h"

#if STRATA_HAVE_ATEN
#include <ATen/ATen.h>
#endif
#if STRATA_BENCH_CUDA
#include <cuda_runtime_api.h>
#endif
#if STRATA_BENCH_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace {

using strata::bench::kKi;
using strata::bench::kMi;
const std::vector<int64_t> kSizes = {512, 64 * kKi, kMi, 64 * kMi};

// Sizes of the random mix: log-uniform from 512 B to 64 MiB, fixed seed.
const std::vector<size_t>& mix_sizes() {
  static const std::vector<size_t> sizes = [] {
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> exponent(9.0, 26.0);
    std::vector<size_t> result(1024);
    for (size_t& s : result) s = static_cast<size_t>(std::exp2(exponent(rng)));
    return result;
  }();
  return sizes;
}

void register_sizes(benchmark::internal::Benchmark* b) {
  for (int64_t size : kSizes) b->Arg(size);
}

// ---- raw alloc+free pairs on the CPU ---------------------------------------------------

void pool_alloc_free(benchmark::State& state) {
  strata::CachingAllocator& pool = strata::memory::allocator(strata::kCPU);
  auto bytes = static_cast<size_t>(state.range(0));
  pool.deallocate(pool.allocate(bytes));  // warm: later pairs are cache hits
  for (auto _ : state) {
    void* ptr = pool.allocate(bytes);
    benchmark::DoNotOptimize(ptr);
    pool.deallocate(ptr);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(pool_alloc_free)->Apply(register_sizes);

void malloc_free(benchmark::State& state) {
  auto bytes = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* ptr = std::malloc(bytes);
    benchmark::DoNotOptimize(ptr);
    std::free(ptr);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(malloc_free)->Apply(register_sizes);

void pool_alloc_free_mix(benchmark::State& state) {
  strata::CachingAllocator& pool = strata::memory::allocator(strata::kCPU);
  const auto& sizes = mix_sizes();
  for (size_t s : sizes) pool.deallocate(pool.allocate(s));
  size_t i = 0;
  for (auto _ : state) {
    void* ptr = pool.allocate(sizes[i++ & 1023]);
    benchmark::DoNotOptimize(ptr);
    pool.deallocate(ptr);
  }
}
BENCHMARK(pool_alloc_free_mix);

void malloc_free_mix(benchmark::State& state) {
  const auto& sizes = mix_sizes();
  size_t i = 0;
  for (auto _ : state) {
    void* ptr = std::malloc(sizes[i++ & 1023]);
    benchmark::DoNotOptimize(ptr);
    std::free(ptr);
  }
}
BENCHMARK(malloc_free_mix);

// ---- tensor creation and destruction -------------------------------------------------------

void strata_empty(benchmark::State& state) {
  strata::Shape shape{state.range(0) / 4};
  auto options = strata::TensorOptions().dtype(strata::kFloat32).device(strata::kCPU);
  { strata::Tensor warm = strata::empty(shape, options); }
  for (auto _ : state) {
    strata::Tensor t = strata::empty(shape, options);
    benchmark::DoNotOptimize(t.data_ptr());
  }
}
BENCHMARK(strata_empty)->Apply(register_sizes);

void strata_empty_mix(benchmark::State& state) {
  auto options = strata::TensorOptions().dtype(strata::kFloat32).device(strata::kCPU);
  const auto& sizes = mix_sizes();
  size_t i = 0;
  for (auto _ : state) {
    strata::Tensor t = strata::empty({static_cast<int64_t>(sizes[i++ & 1023] / 4)}, options);
    benchmark::DoNotOptimize(t.data_ptr());
  }
}
BENCHMARK(strata_empty_mix);

#if STRATA_HAVE_ATEN
void aten_empty(benchmark::State& state) {
  std::vector<int64_t> shape{state.range(0) / 4};
  { at::Tensor warm = at::empty(shape, at::kFloat); }
  for (auto _ : state) {
    at::Tensor t = at::empty(shape, at::kFloat);
    benchmark::DoNotOptimize(t.data_ptr());
  }
}
BENCHMARK(aten_empty)->Apply(register_sizes);

void aten_empty_mix(benchmark::State& state) {
  const auto& sizes = mix_sizes();
  size_t i = 0;
  for (auto _ : state) {
    at::Tensor t = at::empty({static_cast<int64_t>(sizes[i++ & 1023] / 4)}, at::kFloat);
    benchmark::DoNotOptimize(t.data_ptr());
  }
}
BENCHMARK(aten_empty_mix);
#endif

// ---- the GPU ----------------------------------------------------------------------------------

#if STRATA_BENCH_CUDA
bool skip_without_gpu(benchmark::State& state) {
  if (strata::cuda::is_available()) return false;
  state.SkipWithError("no CUDA device");
  return true;
}

void pool_cuda_alloc_free(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  strata::CachingAllocator& pool = strata::memory::allocator(strata::Device("cuda:0"));
  auto bytes = static_cast<size_t>(state.range(0));
  pool.deallocate(pool.allocate(bytes));
  for (auto _ : state) {
    void* ptr = pool.allocate(bytes);
    benchmark::DoNotOptimize(ptr);
    pool.deallocate(ptr);
  }
}
BENCHMARK(pool_cuda_alloc_free)->Apply(register_sizes);

void cuda_malloc_free(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  auto bytes = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* ptr = nullptr;
    cudaMalloc(&ptr, bytes);
    benchmark::DoNotOptimize(ptr);
    cudaFree(ptr);
  }
}
BENCHMARK(cuda_malloc_free)->Apply(register_sizes);

void cuda_malloc_async_free(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  auto bytes = static_cast<size_t>(state.range(0));
  cudaStream_t stream = nullptr;
  cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  for (auto _ : state) {
    void* ptr = nullptr;
    cudaMallocAsync(&ptr, bytes, stream);
    benchmark::DoNotOptimize(ptr);
    cudaFreeAsync(ptr, stream);
  }
  cudaStreamSynchronize(stream);
  cudaStreamDestroy(stream);
}
BENCHMARK(cuda_malloc_async_free)->Apply(register_sizes);
#endif

#if STRATA_BENCH_TORCH_CUDA
void torch_cuda_caching_alloc_free(benchmark::State& state) {
  if (skip_without_gpu(state)) return;
  // A first CUDA tensor initializes PyTorch's CUDA state and its allocator.
  benchmark::DoNotOptimize(at::empty({1}, at::device(at::kCUDA)));
  auto* allocator = c10::cuda::CUDACachingAllocator::get();
  auto bytes = static_cast<size_t>(state.range(0));
  { auto warm = allocator->allocate(bytes); }
  for (auto _ : state) {
    auto ptr = allocator->allocate(bytes);
    benchmark::DoNotOptimize(ptr.get());
  }
}
BENCHMARK(torch_cuda_caching_alloc_free)->Apply(register_sizes);
#endif

// ---- the ratio table ----------------------------------------------------------------------------

using strata::bench::MedianCollector;
using strata::bench::Timings;

std::string size_label(const std::string& arg) {
  if (arg.empty()) return "mix";
  return strata::bench::count_label(std::stoll(arg), "B", " B");
}

void print_ratio_table(const Timings& medians, const std::string& title,
                       const std::string& ours, const std::string& theirs) {
  std::vector<std::string> args;
  for (int64_t size : kSizes) args.push_back(std::to_string(size));
  args.push_back("");
  bool header = false;
  for (const std::string& arg : args) {
    std::string our_name = arg.empty() ? ours + "_mix" : ours + "/" + arg;
    std::string their_name = arg.empty() ? theirs + "_mix" : theirs + "/" + arg;
    auto a = medians.find(our_name);
    auto b = medians.find(their_name);
    if (a == medians.end() || b == medians.end()) continue;
    if (!header) {
      std::printf("\n%s\n| size | %s real (cpu) ns | %s real (cpu) ns | ratio real | ratio cpu |\n"
                  "|---|---|---|---|---|\n",
                  title.c_str(), ours.c_str(), theirs.c_str());
      header = true;
    }
    const auto& x = a->second;
    const auto& y = b->second;
    std::printf("| %s | %.1f (%.1f) | %.1f (%.1f) | %.3fx | %.3fx |\n", size_label(arg).c_str(), x.real_ns,
                x.cpu_ns, y.real_ns, y.cpu_ns, x.real_ns / y.real_ns, x.cpu_ns / y.cpu_ns);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  MedianCollector reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const Timings& medians = reporter.timings();
  std::printf("\nMedians of this run (ratio = ours / theirs; < 1 is faster):\n");
  print_ratio_table(medians, "Alloc+free pair, CPU (cache hit vs malloc/free)", "pool_alloc_free", "malloc_free");
  print_ratio_table(medians, "Tensor empty+destroy, CPU (strata vs ATen)", "strata_empty", "aten_empty");
  print_ratio_table(medians, "Alloc+free pair, GPU (pool vs cudaMalloc/cudaFree)", "pool_cuda_alloc_free",
                    "cuda_malloc_free");
  print_ratio_table(medians, "Alloc+free pair, GPU (pool vs cudaMallocAsync/cudaFreeAsync)",
                    "pool_cuda_alloc_free", "cuda_malloc_async_free");
  print_ratio_table(medians, "Alloc+free pair, GPU (pool vs PyTorch's caching allocator)", "pool_cuda_alloc_free",
                    "torch_cuda_caching_alloc_free");
  benchmark::Shutdown();
  return 0;
}
