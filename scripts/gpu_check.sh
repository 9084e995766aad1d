#!/usr/bin/env bash
# GPU check, on a machine with a CUDA GPU: runs every test (the CUDA cases
# included), the CUDA cases again under compute-sanitizer memcheck and with the
# index validation in its own launch, the GPU benchmarks (strata against PyTorch
# in the same process, cudaMalloc, a device-to-device copy and a memset; the
# scatter set in both validation modes and with one launch at every size), and
# times the validation against the update with Nsight Compute. Results go to
# $OUT (default ./gpu_check_out; eight files at most); a summary is printed last.
#
#   bash scripts/gpu_check.sh [BUILD_DIR]      # builds there (default build/gpu)
#   bash scripts/gpu_check.sh --staged DIR     # runs what scripts/gpu_stage.sh staged
#
# GPU_CHECK_BENCHES: the benchmarks to run (default: allocator_bench
# elementwise_bench scatter_bench).
#
# Building on the GPU machine configures against the PyTorch found there. The
# staged form builds nothing there (the device tool's machines have no Google
# Benchmark or GoogleTest): stage here, carry DIR, run. About 6 min on an H100.
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

sanitizer="$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)"
benches="${GPU_CHECK_BENCHES:-allocator_bench elementwise_bench scatter_bench}"

# 1. Correctness first, all at once (16 host cores; timings come later, alone):
# every test, CPU and CUDA cases, the suites side by side; the CUDA cases of
# the ops suite again with the validation in its own launch
# (STRATA_CUDA_SEPARATE_INDEX_CHECK=1, the path deterministic mode and devices
# without cooperative launch take); and the CUDA cases under compute-sanitizer
# memcheck (less the pebibyte request, whose failing cudaMalloc memcheck reports
# as an error).
for t in "${tests[@]}"; do
  timeout 150 "$t" > "$out/tests_$(basename "$t").log" 2>&1 &
  timeout 240 "$sanitizer" --tool memcheck --error-exitcode 99 "$t" --gtest_filter='*CUDA*:*Cuda*-*Pebibyte*' \
    > "$out/memcheck_$(basename "$t").log" 2>&1 &
done
ops_tests="$(printf '%s\n' "${tests[@]}" | grep strata_ops_tests || true)"
if [ -n "$ops_tests" ]; then
  STRATA_CUDA_SEPARATE_INDEX_CHECK=1 timeout 150 "$ops_tests" --gtest_filter='*CUDA*:*Cuda*' \
    > "$out/tests_separate_check.log" 2>&1 &
fi
wait
for log in "$out"/tests_*.log; do
  note "$(basename "$log" .log): $(grep -E '^\[  PASSED  \]|^\[  FAILED  \]' "$log" | tr '\n' ' ')" \
       "skipped $(grep -c '^\[  SKIPPED \]' "$log"), CUDA cases run $(grep -cE '^\[       OK \] .*(CUDA|Cuda)' "$log")"
  grep -E '^\[  FAILED  \] ' "$log" | head -20 | tee -a "$summary"
done
for log in "$out"/memcheck_*.log; do
  note "$(basename "$log" .log): $(grep -E 'ERROR SUMMARY' "$log" | tail -1)" \
       "$(grep -E '^\[  PASSED  \]|^\[  FAILED  \]' "$log" | tr '\n' ' ')"
done
cat "$out"/tests_*.log > "$out/tests.log"; rm -f "$out"/tests_*.log
cat "$out"/memcheck_*.log > "$out/memcheck.log"; rm -f "$out"/memcheck_*.log

# 2. GPU benchmarks, alone on the GPU; each ends with its table of medians and
# ratios. scatter_bench runs three times more: with the validation in its own
# launch, again in the default mode (the A/B of the one-launch checked
# kernels), and with one launch at every size (the window check).
run_bench() {  # name, output, extra env, filter
  [ -x "$bench/$1" ] || return
  env $3 timeout 150 "$bench/$1" --benchmark_filter="$4" --benchmark_min_time=0.05 --benchmark_repetitions=3 \
    --benchmark_enable_random_interleaving=true > "$out/$2.txt" 2>&1
  note "$2: exit $? ($(grep -c '_median ' "$out/$2.txt") medians)"
}
for b in $benches; do run_bench "$b" "$b" "" 'cuda|GPU'; done
case " $benches " in *" scatter_bench "*)
  ab='GPU_(scatter_add_|scatter_|index_put_|index_put_acc|index_add_rows|hotspot_scatter_add_|seed_index_put_)/'
  run_bench scatter_bench scatter_bench_separate STRATA_CUDA_SEPARATE_INDEX_CHECK=1 "$ab"
  run_bench scatter_bench scatter_bench_again "" "$ab"
  run_bench scatter_bench scatter_bench_one_launch STRATA_CUDA_ONE_LAUNCH_MAX=16777216 "$ab" ;;
esac

# 3. Validation share at 16 Mi updates: per-kernel device time (Nsight Compute,
# clocks as found) of the min/max pass and the update kernel, in the default
# mode and with STRATA_CUDA_SEPARATE_INDEX_CHECK=1 (the same kernels at this
# size, outside the one-launch window: a check that both modes agree).
if command -v ncu > /dev/null && [ -x "$bench/scatter_bench" ]; then
  : > "$out/ncu.csv"
  for mode in default separate; do
    extra=""
    [ "$mode" = separate ] && extra="STRATA_CUDA_SEPARATE_INDEX_CHECK=1"
    env $extra timeout 90 ncu --clock-control none --csv --metrics gpu__time_duration.sum --launch-count 60 \
      "$bench/scatter_bench" --benchmark_filter='GPU_(scatter_add_|index_put_)/strata/16777216' \
      --benchmark_min_time=0.001 >> "$out/ncu.csv" 2>&1
    note "ncu $mode: exit $?"
  done
fi

note "done; logs in $out"
