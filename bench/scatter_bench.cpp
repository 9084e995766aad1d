// The scatter family: scatter_add_ and scatter_ of n updates into n/16 slots
// with random indices; index_put_ of n random (row, col) pairs into a
// 4096x4096 float32, accumulate false and true; index_add_ of n/64 rows of 64;
// a hot spot (all updates into 256 slots); the seed's 3-element index_put_.
// n = 64 Ki, 1 Mi and 16 Mi updates. Then general shapes at 1 Mi elements:
// gather, scatter_add_ and scatter_ along dim 1 of a matrix, scatter_reduce_
// "amax" and "sum", reading and assigning through a boolean mask; gather and
// scatter_add_ of short rows (4 of 16 columns), a one-hot scatter_, rows
// selected by a row mask.
//   - on the CPU, strata against ATen in the same process, same thread count;
//   - on a GPU (STRATA_BENCH_CUDA and a device at run time), strata against
//     PyTorch's CUDA ops when the ATen found has CUDA, in default and in
//     deterministic mode (`*_det`).
// Tables of medians and strata/ATen ratios follow the usual output.
#include <benchmark/benchmark.h>

#include "bench_report.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
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
const std::vector<int64_t> kSizes = {64 * kKi, kMi, 16 * kMi};
constexpr int64_t kSide = 4096;     // index_put_ target: kSide x kSide float32
constexpr int64_t kRowWidth = 64;   // index_add_ rows
constexpr int64_t kHotSlots = 256;  // hot spot
constexpr int64_t kLanes = 1024;    // dim-1 cases: kLanes rows
constexpr int64_t kDim1Slots = 256; // dim-1 cases: slots per row of self
constexpr int64_t kNarrowRow = 4;   // short-row cases: n / 4 rows of 4 ...
constexpr int64_t kNarrowSlots = 16;  // ... into (or from) rows of 16
constexpr int64_t kOuterSide = 1024;  // outer: x[rows[:, None], cols] = v, a
constexpr int64_t kOuterPick = 512;   // 512 x 512 block of distinct rows and cols

/// Host data of one case, generated once per (kind, n) with a fixed seed.
struct HostCase {
  std::vector<int64_t> index;   // scatter / index_add index, or rows
  std::vector<int64_t> index2;  // cols (index_put_)
  std::vector<float> values;
  int64_t slots = 0;
};

const HostCase& host_case(const std::string& kind, int64_t n) {
  static std::map<std::string, HostCase> cache;
  const std::string key = kind + "/" + std::to_string(n);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  HostCase c;
  std::mt19937_64 rng(static_cast<uint64_t>(n) * 7919u + kind.size());
  std::uniform_real_distribution<float> value(-1.f, 1.f);
  if (kind == "scatter" || kind == "hotspot") {
    c.slots = kind == "hotspot" ? kHotSlots : n / 16;
    c.index.resize(static_cast<size_t>(n));
    for (auto& i : c.index) i = static_cast<int64_t>(rng() % static_cast<uint64_t>(c.slots));
    c.values.resize(static_cast<size_t>(n));
  } else if (kind == "put" || kind == "hotput") {
    const uint64_t side = kind == "hotput" ? 16 : kSide;
    c.index.resize(static_cast<size_t>(n));
    c.index2.resize(static_cast<size_t>(n));
    for (size_t i = 0; i < c.index.size(); ++i) {
      c.index[i] = static_cast<int64_t>(rng() % side);
      c.index2[i] = static_cast<int64_t>(rng() % side);
    }
    c.values.resize(static_cast<size_t>(n));
  } else if (kind == "dim1") {
    // n updates as kLanes rows of n / kLanes along dim 1, into rows of kDim1Slots.
    c.slots = kDim1Slots;
    c.index.resize(static_cast<size_t>(n));
    for (auto& i : c.index) i = static_cast<int64_t>(rng() % static_cast<uint64_t>(c.slots));
    c.values.resize(static_cast<size_t>(n));
  } else if (kind == "narrow") {
    // n positions as n / kNarrowRow rows of kNarrowRow along dim 1, into rows
    // of kNarrowSlots; the first column alone is a one-hot's labels.
    c.slots = kNarrowSlots;
    c.index.resize(static_cast<size_t>(n));
    for (auto& i : c.index) i = static_cast<int64_t>(rng() % static_cast<uint64_t>(c.slots));
    c.values.resize(static_cast<size_t>(n));
  } else if (kind == "outer") {
    // kOuterPick distinct rows and kOuterPick distinct columns of a
    // kOuterSide-square matrix, in random order (n = kOuterPick^2 values).
    for (auto* picked : {&c.index, &c.index2}) {
      std::vector<int64_t> all(static_cast<size_t>(kOuterSide));
      for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
      std::shuffle(all.begin(), all.end(), rng);
      picked->assign(all.begin(), all.begin() + kOuterPick);
    }
    c.values.resize(static_cast<size_t>(n));
  } else if (kind == "mask" || kind == "rowmask") {
    // A random half of n elements (or of n / 16 rows of 16) selected: the
    // mask, as 0/1 in index.
    c.index.resize(static_cast<size_t>(kind == "mask" ? n : n / kNarrowSlots));
    for (auto& i : c.index) i = static_cast<int64_t>(rng() & 1);
    c.values.resize(static_cast<size_t>(n));
  } else {  // rows: n updates = n / 64 rows of 64
    const int64_t rows = n / kRowWidth;
    c.slots = std::max<int64_t>(rows / 16, 16);
    c.index.resize(static_cast<size_t>(rows));
    for (auto& i : c.index) i = static_cast<int64_t>(rng() % static_cast<uint64_t>(c.slots));
    c.values.resize(static_cast<size_t>(n));
  }
  for (auto& v : c.values) v = value(rng);
  return cache.emplace(key, std::move(c)).first->second;
}

strata::TensorOptions options(strata::DType dtype, const strata::Device& device) {
  return strata::TensorOptions().dtype(dtype).device(device);
}

/// strata tensors of one case on `device`.
struct StrataCase {
  Tensor self, index, index2, values;
};

StrataCase strata_case(const std::string& kind, int64_t n, const strata::Device& device) {
  StrataCase s;
  if (kind == "seed") {  // the seed's example 3: t[idx[:, 0], idx[:, 1]] = [10, 20, 30]
    s.self = strata::zeros({5, 5}, options(strata::kFloat32, device));
    const Tensor idx = strata::tensor({{1, 1}, {2, 2}, {3, 3}}, device);
    s.index = idx.select(1, 0);
    s.index2 = idx.select(1, 1);
    s.values = strata::tensor({10.f, 20.f, 30.f}, device);
    return s;
  }
  const HostCase& h = host_case(kind, n);
  s.index = strata::from_vector(h.index, options(strata::kInt64, device));
  if (!h.index2.empty()) s.index2 = strata::from_vector(h.index2, options(strata::kInt64, device));
  if (kind == "dim1") {
    s.index = s.index.view({kLanes, n / kLanes});
    s.values = strata::from_vector(h.values, Shape{kLanes, n / kLanes}, options(strata::kFloat32, device));
    s.self = strata::zeros({kLanes, h.slots}, options(strata::kFloat32, device));
  } else if (kind == "narrow") {
    s.index = s.index.view({n / kNarrowRow, kNarrowRow});
    s.index2 = s.index.narrow(1, 0, 1).contiguous();  // [n / 4, 1] labels
    s.values = strata::from_vector(h.values, Shape{n / kNarrowRow, kNarrowRow}, options(strata::kFloat32, device));
    s.self = strata::zeros({n / kNarrowRow, h.slots}, options(strata::kFloat32, device));
  } else if (kind == "mask") {
    s.index = s.index.to(strata::kBool);
    s.values = strata::from_vector(h.values, options(strata::kFloat32, device));
    s.self = s.values.clone();
  } else if (kind == "rowmask") {
    s.index = s.index.to(strata::kBool);
    s.values = strata::from_vector(h.values, Shape{n / kNarrowSlots, kNarrowSlots}, options(strata::kFloat32, device));
    s.self = s.values.clone();
  } else if (kind == "outer") {
    s.index = s.index.view({kOuterPick, 1});
    s.index2 = s.index2.view({1, kOuterPick});
    s.values = strata::from_vector(h.values, Shape{kOuterPick, kOuterPick}, options(strata::kFloat32, device));
    s.self = strata::zeros({kOuterSide, kOuterSide}, options(strata::kFloat32, device));
  } else if (kind == "rows") {
    s.values = strata::from_vector(h.values, Shape{n / kRowWidth, kRowWidth}, options(strata::kFloat32, device));
    s.self = strata::zeros({h.slots, kRowWidth}, options(strata::kFloat32, device));
  } else {
    s.values = strata::from_vector(h.values, options(strata::kFloat32, device));
    s.self = kind == "put" ? strata::zeros({kSide, kSide}, options(strata::kFloat32, device))
             : kind == "hotput" ? strata::zeros({16, 16}, options(strata::kFloat32, device))
                                : strata::zeros({h.slots}, options(strata::kFloat32, device));
  }
  return s;
}

/// Bytes moved per update (for the bytes/s column): an 8-byte index (two for
/// index_put_ pairs, counted once), a 4-byte value read and a 4-byte
/// read-modify-write of the destination.
void set_bytes(benchmark::State& state, int64_t updates) {
  state.SetBytesProcessed(state.iterations() * updates * (8 + 4 + 4));
}

const strata::Device kCpu(strata::DeviceType::CPU);

#if STRATA_HAVE_ATEN
struct AtenCase {
  at::Tensor self, index, index2, values;
  c10::List<c10::optional<at::Tensor>> indices;  // for index / index_put_
};

at::Tensor aten_of(const Tensor& t, at::Device device) {
  const Tensor c = t.contiguous().to(kCpu);
  const at::ScalarType type = t.dtype() == strata::kInt64 ? at::kLong : at::kFloat;
  return at::from_blob(c.data_ptr(), t.sizes(), at::TensorOptions().dtype(type)).clone().to(device);
}

/// The ATen tensors of one case, with the values of strata_case's.
AtenCase aten_case(const std::string& kind, int64_t n, at::Device device) {
  AtenCase a;
  if (kind == "seed") {  // index columns as strided views, as in strata_case
    a.self = at::zeros({5, 5}, at::device(device));
    const at::Tensor idx = at::tensor({1, 1, 2, 2, 3, 3}, at::kLong).view({3, 2}).to(device);
    a.index = idx.select(1, 0);
    a.index2 = idx.select(1, 1);
    a.values = at::tensor({10.f, 20.f, 30.f}).to(device);
  } else {
    const StrataCase s = strata_case(kind, n, kCpu);
    a.self = aten_of(s.self, device);
    const bool mask = kind == "mask" || kind == "rowmask";
    a.index = mask ? aten_of(s.index.to(strata::kInt64), device).to(at::kBool) : aten_of(s.index, device);
    if (s.index2.defined()) a.index2 = aten_of(s.index2, device);
    a.values = aten_of(s.values, device);
  }
  a.indices.push_back(a.index);
  if (a.index2.defined() && kind != "narrow") a.indices.push_back(a.index2);
  return a;
}
#define STRATA_ATEN_OP(...) [](AtenCase& c) { __VA_ARGS__; }
#else
struct AtenCase;
#define STRATA_ATEN_OP(...) nullptr
#endif

/// One benchmarked operation: the same call on strata and on ATen (on the CPU
/// and, for the GPU set, on PyTorch's CUDA tensors) over the same data.
struct BenchCase {
  enum class Gpu { kNo, kDefault, kAlsoDeterministic };
  std::string name;              // "<name>/strata", "<name>/aten", "GPU_<name>/..."
  std::string kind;              // the data (host_case / strata_case)
  std::vector<int64_t> sizes;    // the argument n
  int64_t updates_per_n;         // bytes/s counts n / updates_per_n updates; 0: none
  void (*strata_op)(StrataCase&);
  void (*aten_op)(AtenCase&);
  Gpu gpu = Gpu::kNo;
};

std::vector<BenchCase> bench_cases() {
  using Gpu = BenchCase::Gpu;
  const std::vector<int64_t> named = kSizes, mi = {kMi}, outer = {kOuterPick * kOuterPick}, seed = {3};
  return {
      // The named cases.
      {"scatter_add_", "scatter", named, 1, [](StrataCase& c) { c.self.scatter_add_(0, c.index, c.values); },
       STRATA_ATEN_OP(c.self.scatter_add_(0, c.index, c.values)), Gpu::kAlsoDeterministic},
      {"scatter_", "scatter", named, 1, [](StrataCase& c) { c.self.scatter_(0, c.index, c.values); },
       STRATA_ATEN_OP(c.self.scatter_(0, c.index, c.values)), Gpu::kDefault},
      {"index_put_", "put", named, 1, [](StrataCase& c) { c.self.index_put_({c.index, c.index2}, c.values); },
       STRATA_ATEN_OP(c.self.index_put_(c.indices, c.values, false)), Gpu::kDefault},
      {"index_put_acc", "put", named, 1,
       [](StrataCase& c) { c.self.index_put_({c.index, c.index2}, c.values, true); },
       STRATA_ATEN_OP(c.self.index_put_(c.indices, c.values, true)), Gpu::kAlsoDeterministic},
      {"index_add_rows", "rows", named, 1, [](StrataCase& c) { c.self.index_add_(0, c.index, c.values); },
       STRATA_ATEN_OP(c.self.index_add_(0, c.index, c.values)), Gpu::kDefault},
      {"hotspot_scatter_add_", "hotspot", mi, 1, [](StrataCase& c) { c.self.scatter_add_(0, c.index, c.values); },
       STRATA_ATEN_OP(c.self.scatter_add_(0, c.index, c.values)), Gpu::kDefault},
      {"hotspot_index_put_acc", "hotput", mi, 1,
       [](StrataCase& c) { c.self.index_put_({c.index, c.index2}, c.values, true); },
       STRATA_ATEN_OP(c.self.index_put_(c.indices, c.values, true))},
      {"seed_index_put_", "seed", seed, 0, [](StrataCase& c) { c.self.index_put_({c.index, c.index2}, c.values); },
       STRATA_ATEN_OP(c.self.index_put_(c.indices, c.values, false)), Gpu::kDefault},
      // General shapes: the typed row loop, the scatter_reduce_ reductions, masks.
      {"gather_dim1", "dim1", mi, 1, [](StrataCase& c) { benchmark::DoNotOptimize(c.self.gather(1, c.index)); },
       STRATA_ATEN_OP(benchmark::DoNotOptimize(c.self.gather(1, c.index)))},
      {"scatter_add_dim1", "dim1", mi, 1, [](StrataCase& c) { c.self.scatter_add_(1, c.index, c.values); },
       STRATA_ATEN_OP(c.self.scatter_add_(1, c.index, c.values))},
      {"scatter_dim1", "dim1", mi, 1, [](StrataCase& c) { c.self.scatter_(1, c.index, c.values); },
       STRATA_ATEN_OP(c.self.scatter_(1, c.index, c.values))},
      {"scatter_reduce_amax", "scatter", mi, 1,
       [](StrataCase& c) { c.self.scatter_reduce_(0, c.index, c.values, "amax", true); },
       STRATA_ATEN_OP(c.self.scatter_reduce_(0, c.index, c.values, "amax", true))},
      {"scatter_reduce_sum", "scatter", mi, 1,
       [](StrataCase& c) { c.self.scatter_reduce_(0, c.index, c.values, "sum", true); },
       STRATA_ATEN_OP(c.self.scatter_reduce_(0, c.index, c.values, "sum", true))},
      {"index_mask", "mask", mi, 1, [](StrataCase& c) { benchmark::DoNotOptimize(c.self.index({c.index})); },
       STRATA_ATEN_OP(benchmark::DoNotOptimize(at::index(c.self, c.indices)))},
      {"index_put_mask", "mask", mi, 1, [](StrataCase& c) { c.self.index_put_({c.index}, 1.5); },
       STRATA_ATEN_OP(static const at::Tensor value = at::scalar_tensor(1.5);
                      c.self.index_put_(c.indices, value, false))},
      {"gather_narrow", "narrow", mi, 1, [](StrataCase& c) { benchmark::DoNotOptimize(c.self.gather(1, c.index)); },
       STRATA_ATEN_OP(benchmark::DoNotOptimize(c.self.gather(1, c.index)))},
      {"scatter_add_narrow", "narrow", mi, 1, [](StrataCase& c) { c.self.scatter_add_(1, c.index, c.values); },
       STRATA_ATEN_OP(c.self.scatter_add_(1, c.index, c.values))},
      {"one_hot", "narrow", mi, kNarrowRow, [](StrataCase& c) { c.self.scatter_(1, c.index2, 1.0); },
       STRATA_ATEN_OP(c.self.scatter_(1, c.index2, 1.0))},
      {"index_rowmask", "rowmask", mi, 1, [](StrataCase& c) { benchmark::DoNotOptimize(c.self.index({c.index})); },
       STRATA_ATEN_OP(benchmark::DoNotOptimize(at::index(c.self, c.indices)))},
      {"index_put_outer", "outer", outer, 1, [](StrataCase& c) { c.self.index_put_({c.index, c.index2}, c.values); },
       STRATA_ATEN_OP(c.self.index_put_(c.indices, c.values, false))},
      {"index_put_outer_acc", "outer", outer, 1,
       [](StrataCase& c) { c.self.index_put_({c.index, c.index2}, c.values, true); },
       STRATA_ATEN_OP(c.self.index_put_(c.indices, c.values, true))},
  };
}

void set_case_bytes(benchmark::State& state, const BenchCase& c) {
  if (c.updates_per_n > 0) set_bytes(state, state.range(0) / c.updates_per_n);
}

#if STRATA_BENCH_CUDA
/// Times one GPU case (CUDA events; the 3-element case on the host side, see
/// time_with_cuda_events) in default or deterministic mode.
template <typename Op>
void time_gpu_case(benchmark::State& state, const BenchCase& c, const Op& op) {
  if (strata::bench::time_with_cuda_events(state, op, 3)) set_case_bytes(state, c);
}
#endif

/// Registers "<name>/strata" and "<name>/aten" on the CPU and, for the GPU set,
/// "GPU_<name>[_det]/strata" and ".../torch".
void register_case(const BenchCase& c) {
  const auto sizes = [&c](benchmark::internal::Benchmark* b, bool manual_time) {
    for (int64_t n : c.sizes) b->Arg(n);
    if (manual_time) b->UseManualTime();
    else b->UseRealTime();
  };
  sizes(benchmark::RegisterBenchmark((c.name + "/strata").c_str(),
                                     [c](benchmark::State& state) {
                                       StrataCase data = strata_case(c.kind, state.range(0), kCpu);
                                       for (auto _ : state) c.strata_op(data);
                                       set_case_bytes(state, c);
                                     }),
        false);
#if STRATA_HAVE_ATEN
  sizes(benchmark::RegisterBenchmark((c.name + "/aten").c_str(),
                                     [c](benchmark::State& state) {
                                       AtenCase data = aten_case(c.kind, state.range(0), at::kCPU);
                                       for (auto _ : state) c.aten_op(data);
                                       set_case_bytes(state, c);
                                     }),
        false);
#endif
#if STRATA_BENCH_CUDA
  for (bool deterministic : {false, true}) {
    if (c.gpu == BenchCase::Gpu::kNo || (deterministic && c.gpu != BenchCase::Gpu::kAlsoDeterministic)) continue;
    const std::string name =
        "GPU_" + c.name + (deterministic ? (c.name.back() == '_' ? "det" : "_det") : "");
    sizes(benchmark::RegisterBenchmark((name + "/strata").c_str(),
                                       [c, deterministic](benchmark::State& state) {
                                         if (!strata::cuda::is_available())
                                           return state.SkipWithError("no CUDA device");
                                         StrataCase data = strata_case(c.kind, state.range(0), strata::Device("cuda"));
                                         strata::set_deterministic(deterministic);
                                         time_gpu_case(state, c, [&] { c.strata_op(data); });
                                         strata::set_deterministic(false);
                                       }),
          true);
#if STRATA_HAVE_ATEN
    sizes(benchmark::RegisterBenchmark((name + "/torch").c_str(),
                                       [c, deterministic](benchmark::State& state) {
                                         if (!at::hasCUDA()) return state.SkipWithError("ATen has no CUDA");
                                         AtenCase data = aten_case(c.kind, state.range(0), at::kCUDA);
                                         at::globalContext().setDeterministicAlgorithms(deterministic,
                                                                                        /*warn_only=*/true);
                                         time_gpu_case(state, c, [&] { c.aten_op(data); });
                                         at::globalContext().setDeterministicAlgorithms(false, false);
                                       }),
          true);
#endif
  }
#endif
}

// The hardware floor of index_put_ into the 4096x4096 target: a bare loop of
// the same random stores (or read-add-stores) into the same tensor's memory,
// prefetching 32 updates ahead, no checks. floor/ATen is the lowest ratio any
// kernel could reach on this machine (each update touches a random cache line
// of a 64 MiB target: memory latency, not instructions, sets the pace).
template <bool kAccumulate>
void bare_put_loop(benchmark::State& state) {
  StrataCase c = strata_case("put", state.range(0), kCpu);
  const HostCase& h = host_case("put", state.range(0));
  float* self = static_cast<float*>(c.self.data_ptr());
  const int64_t* rows = h.index.data();
  const int64_t* cols = h.index2.data();
  const float* values = h.values.data();
  const int64_t n = state.range(0);
  for (auto _ : state) {
    for (int64_t j = 0; j < n; ++j) {
      if (j + 32 < n) __builtin_prefetch(self + rows[j + 32] * kSide + cols[j + 32], 1);
      float& target = self[rows[j] * kSide + cols[j]];
      target = kAccumulate ? target + values[j] : values[j];
    }
    benchmark::ClobberMemory();
  }
  set_bytes(state, n);
}

void register_sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : kSizes) b->Arg(n);
  b->UseRealTime();
}

BENCHMARK(bare_put_loop<false>)->Name("index_put_/floor")->Apply(register_sizes);
BENCHMARK(bare_put_loop<true>)->Name("index_put_acc/floor")->Apply(register_sizes);

// ---- the ratio table --------------------------------------------------------------------

// Real and main-thread CPU times: with one thread per library the CPU time is the
// work done, and it is far less disturbed than real time on a shared machine.
using strata::bench::MedianCollector;
using strata::bench::Table;
using strata::bench::Timing;

std::string size_label(int64_t n) { return strata::bench::count_label(n); }

void add_rows(Table& table, const std::map<std::string, Timing>& results, const std::string& op,
              const std::string& ours, const std::string& theirs) {
  for (int64_t n : {int64_t{3}, 64 * kKi, kOuterPick * kOuterPick, kMi, 16 * kMi}) {
    auto a = results.find(op + "/" + ours + "/" + std::to_string(n));
    auto b = results.find(op + "/" + theirs + "/" + std::to_string(n));
    if (a == results.end() || b == results.end()) continue;
    table.add("| %s | %s | %.1f | %.1f | %.3f | %.3f |", op.c_str(), size_label(n).c_str(), a->second.real_ns,
              b->second.real_ns, a->second.real_ns / b->second.real_ns, a->second.cpu_ns / b->second.cpu_ns);
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (const BenchCase& c : bench_cases()) register_case(c);
  MedianCollector reporter;
  if (!strata::bench::run_benchmarks(argc, argv, reporter)) return 1;
  const auto& results = reporter.timings();
  Table named("CPU medians of this run (ratio = strata / ATen; < 1 is faster):",
              "| op | updates | strata real (ns) | ATen real (ns) | ratio (real) | ratio (main-thread CPU) |");
  for (const char* op : {"scatter_add_", "scatter_", "index_put_", "index_put_acc", "index_add_rows",
                         "hotspot_scatter_add_", "hotspot_index_put_acc", "seed_index_put_"}) {
    add_rows(named, results, op, "strata", "aten");
  }
  named.print();
  Table general("General shapes (1 Mi elements; dim1 = 1024 rows of 1024 along dim 1 into rows of 256; "
                "scatter_reduce_ 1-D into n/16 slots; masks select a random half; narrow = 256 Ki rows of 4 "
                "along dim 1 into rows of 16; one_hot = scatter_(1, labels [256 Ki, 1], 1.0) into [256 Ki, 16]; "
                "index_rowmask = self[row_mask] of [64 Ki, 16], half the rows; index_put_outer = "
                "x[rows[:, None], cols] = v, 512 distinct rows and columns of a 1024 x 1024 float32, 256 Ki "
                "values):",
                "| op | elements | strata real (ns) | ATen real (ns) | ratio (real) | ratio (main-thread CPU) |");
  for (const char* op : {"gather_dim1", "scatter_add_dim1", "scatter_dim1", "scatter_reduce_amax",
                         "scatter_reduce_sum", "index_mask", "index_put_mask", "gather_narrow",
                         "scatter_add_narrow", "one_hot", "index_rowmask", "index_put_outer",
                         "index_put_outer_acc"}) {
    add_rows(general, results, op, "strata", "aten");
  }
  general.print();
  Table floors("The hardware floor of index_put_ (a bare loop of the same random updates, one thread; "
              "floor / ATen is the lowest ratio reachable here):",
              "| op | updates | floor real (ns) | ATen real (ns) | ratio (real) | ratio (main-thread CPU) |");
  for (const char* op : {"index_put_", "index_put_acc"}) add_rows(floors, results, op, "floor", "aten");
  floors.print();
  Table gpu("GPU medians (strata vs PyTorch; the 3-element case: host-side time per call):",
            "| op | updates | strata (ns) | PyTorch (ns) | ratio | ratio (host CPU) |");
  for (const char* op : {"GPU_scatter_add_", "GPU_scatter_add_det", "GPU_scatter_", "GPU_index_put_",
                         "GPU_index_put_acc", "GPU_index_put_acc_det", "GPU_index_add_rows",
                         "GPU_hotspot_scatter_add_", "GPU_seed_index_put_"}) {
    add_rows(gpu, results, op, "strata", "torch");
  }
  gpu.print();
  benchmark::Shutdown();
  return 0;
}
