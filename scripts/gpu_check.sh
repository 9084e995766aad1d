#!/usr/bin/env bash
# GPU check, on a machine with a CUDA GPU: runs every test (the CUDA cases
# included), the CUDA cases again under compute-sanitizer memcheck, the GPU
# benchmarks (strata against PyTorch in the same process, cudaMalloc, a
# device-to-device copy and a memset), and times the index validation kernels
# against the scatter kernels with Nsight Compute. Results go to $OUT (default
# ./gpu_check_out); a summary is printed last.
#
#   bash scripts/gpu_check.sh [BUILD_DIR]      # builds there (default build/gpu)
#   bash scripts/gpu_check.sh --staged DIR     # runs what scripts/gpu_stage.sh staged
#
# Building on the GPU machine configures against the PyTorch found there. The
# staged form builds nothing there (the device tool's machines have no Google
# Benchmark or GoogleTest): stage here, carry DIR, run. About 5 min on an H100.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-$PWD/gpu_check_out}"
mkdir -p "$out"
summary="$out/summary.txt"
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }

torch_dir="$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null || true)"
if [ "${1:-}" = "--staged" ]; then
  stage="$(readlink -f "${2:-.gpu}")"
  tests=("$stage"/tests/strata_*_tests)
  bench="$stage/bench"
  export LD_LIBRARY_PATH="$stage/lib${torch_dir:+:$torch_dir/lib}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  note "staged binaries from commit $(cat "$stage/commit.txt" 2>/dev/null || echo '?')"
else
  build="${1:-build/gpu}"
  if [ ! -f "$build/build.ninja" ]; then
    prefix=""
    [ -n "$torch_dir" ] && prefix="$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')"
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSTRATA_WITH_CUDA=ON \
      -DSTRATA_CUDA_ARCHITECTURES=native -DCMAKE_PREFIX_PATH="$prefix" > "$out/configure.log" 2>&1 ||
      { note "configure FAILED (see configure.log)"; exit 1; }
  fi
  cmake --build "$build" -j "$(nproc)" > "$out/build.log" 2>&1 || { note "build FAILED (see build.log)"; exit 1; }
  tests=("$build"/tests/*/strata_*_tests)
  bench="$build/bench"
fi
note "torch: $(python3 -c "import torch; print(torch.__version__, torch.version.cuda)" 2>&1 | tail -1)"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv,noheader 2>&1 |
  sed 's/^/gpu: /' | tee -a "$summary"

# 1. Every test, CPU and CUDA cases, the suites side by side.
for t in "${tests[@]}"; do
  timeout 120 "$t" > "$out/tests_$(basename "$t").log" 2>&1 &
done
wait
for t in "${tests[@]}"; do
  log="$out/tests_$(basename "$t").log"
  note "tests $(basename "$t"): $(grep -E '^\[  PASSED  \]|^\[  FAILED  \]' "$log" | tr '\n' ' ')" \
       "skipped $(grep -c '^\[  SKIPPED \]' "$log"), CUDA cases run $(grep -cE '^\[       OK \] .*(CUDA|Cuda)' "$log")"
done
cat "$out"/tests_*.log > "$out/tests.log"; rm -f "$out"/tests_*.log

# 2. GPU benchmarks; each ends with its table of medians and ratios.
for b in allocator_bench elementwise_bench scatter_bench; do
  [ -x "$bench/$b" ] || continue
  timeout 150 "$bench/$b" --benchmark_filter='cuda|GPU' --benchmark_min_time=0.05 --benchmark_repetitions=3 \
    --benchmark_enable_random_interleaving=true > "$out/$b.txt" 2>&1
  note "$b: exit $? ($(grep -c '_median ' "$out/$b.txt") medians)"
done

# 3. Validation share at 16 Mi updates: per-kernel device time of the index
# min/max pass against the scatter kernels (Nsight Compute, clocks as found).
if command -v ncu > /dev/null && [ -x "$bench/scatter_bench" ]; then
  timeout 90 ncu --clock-control none --csv --metrics gpu__time_duration.sum --launch-count 80 \
    "$bench/scatter_bench" --benchmark_filter='GPU_(scatter_add_|index_put_)/strata/16777216' \
    --benchmark_min_time=0.001 > "$out/ncu.csv" 2>&1
  note "ncu: exit $?"
fi
# 4. Last (the slowest): the CUDA cases under compute-sanitizer memcheck, side by side
# (less the pebibyte request, whose failing cudaMalloc memcheck reports as an error).
sanitizer="$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)"
for t in "${tests[@]}"; do
  timeout 200 "$sanitizer" --tool memcheck --error-exitcode 99 "$t" --gtest_filter='*CUDA*:*Cuda*-*Pebibyte*' \
    > "$out/memcheck_$(basename "$t").log" 2>&1 &
done
wait
for t in "${tests[@]}"; do
  log="$out/memcheck_$(basename "$t").log"
  note "memcheck $(basename "$t"): $(grep -E 'ERROR SUMMARY' "$log" | tail -1)" \
       "$(grep -E '^\[  PASSED  \]|^\[  FAILED  \]' "$log" | tr '\n' ' ')"
done
cat "$out"/memcheck_*.log > "$out/memcheck.log"; rm -f "$out"/memcheck_*.log

note "done; logs in $out"
