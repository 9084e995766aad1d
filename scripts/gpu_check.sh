#!/usr/bin/env bash
# GPU check: on a machine with a CUDA GPU, builds strata for that GPU (or uses a
# carried build folder), runs every test including the `cuda` ones, runs the test
# binaries again under compute-sanitizer memcheck, runs the GPU benchmarks, and
# prints a short summary. Results go to $OUT (default ./gpu_check_out).
#
#   bash scripts/gpu_check.sh [build-dir]     # build-dir defaults to build/gpu
#
# A carried build folder must have been configured with the CUDA backend and
# STRATA_CUDA_ARCHITECTURES matching the GPU (90 for H100/H200). Budget: ≤ 8 min on
# an H100 (the benchmarks use short --benchmark_min_time).
set -uo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/gpu}"
out="${OUT:-$PWD/gpu_check_out}"
mkdir -p "$out"
summary="$out/summary.txt"
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | sed 's/^/gpu: /' | tee -a "$summary"

if [ ! -f "$build/build.ninja" ]; then
  note "configuring $build (CUDA, native architecture)"
  prefix=""
  if python3 -c 'import torch' 2>/dev/null; then
    prefix="$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
  fi
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTRATA_WITH_CUDA=ON \
    -DSTRATA_CUDA_ARCHITECTURES=native -DCMAKE_PREFIX_PATH="$prefix" > "$out/configure.log" 2>&1 ||
    { note "configure FAILED (see configure.log)"; exit 1; }
fi
cmake --build "$build" -j "$(nproc)" > "$out/build.log" 2>&1 || { note "build FAILED (see build.log)"; exit 1; }

# 1. All tests, CUDA cases included.
(cd "$build" && ctest --output-on-failure -j 4) > "$out/ctest.log" 2>&1
note "ctest: $(grep -E 'tests passed|tests failed' "$out/ctest.log" | tail -1)"

# 2. The CUDA cases again under compute-sanitizer memcheck.
sanitizer="$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)"
: > "$out/memcheck.log"
for t in "$build"/tests/*/strata_*_tests; do
  [ -x "$t" ] || continue
  "$sanitizer" --tool memcheck --error-exitcode 99 "$t" --gtest_filter='*CUDA*:*Cuda*' >> "$out/memcheck.log" 2>&1
  note "memcheck $(basename "$t"): exit $?"
done

# 3. GPU benchmarks (strata vs cudaMalloc / PyTorch where built in).
for b in allocator_bench elementwise_bench scatter_bench; do
  [ -x "$build/bench/$b" ] || continue
  "$build/bench/$b" --benchmark_filter='CUDA|Cuda|Gpu|GPU' --benchmark_min_time=0.05 \
    --benchmark_format=console > "$out/$b.txt" 2>&1
  note "$b: exit $? ($(grep -c '^BM_' "$out/$b.txt") rows)"
done
note "done; logs in $out"
