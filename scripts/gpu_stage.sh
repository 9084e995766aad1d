#!/usr/bin/env bash
# Stages what a lent GPU machine needs to run strata's GPU check without building
# there: libstrata (static cudart inside), the test binaries, and the benchmarks
# linked against a PyTorch's libtorch (CUDA build) so that each benchmark compares
# strata with PyTorch in the same process. The GPU machine has PyTorch but no Google
# Benchmark, so libbenchmark travels too.
#
#   bash scripts/gpu_stage.sh BUILD_DIR TORCH_DIR [STAGE_DIR]
#
# BUILD_DIR: a Release build configured with -DSTRATA_WITH_CUDA=ON
#   -DSTRATA_CUDA_ARCHITECTURES=90 (ATen off: the benchmarks are linked here instead).
# TORCH_DIR: the `torch` package folder of the PyTorch on the GPU machine (same
#   version), holding include/ and lib/ — e.g. unpacked from its wheel:
#   pip download --no-deps torch==2.11.0; unzip 'torch/include/*' 'torch/lib/*'.
# STAGE_DIR: default .gpu (ignored by git; name it in the device tool's carry).
# GPU_STAGE_BENCHES: the benchmarks to build (default: allocator_bench
# elementwise_bench scatter_bench; each takes minutes against libtorch's headers).
# Then, on the GPU machine: bash scripts/gpu_check.sh --staged .gpu
set -euo pipefail
cd "$(dirname "$0")/.."
build="$1"
torch="$2"
stage="${3:-.gpu}"
benches="${GPU_STAGE_BENCHES:-allocator_bench elementwise_bench scatter_bench}"
rm -rf "$stage"
mkdir -p "$stage/lib" "$stage/tests" "$stage/bench" "$stage/obj"

lib="$(readlink -f "$build/libstrata.so")"
soname="$(objdump -p "$lib" | awk '/SONAME/ {print $2}')"
cp "$lib" "$stage/lib/$soname"
benchmark_lib="$(readlink -f /usr/lib/x86_64-linux-gnu/libbenchmark.so)"
benchmark_soname="$(objdump -p "$benchmark_lib" | awk '/SONAME/ {print $2}')"
cp "$benchmark_lib" "$stage/lib/$benchmark_soname"
for t in "$build"/tests/*/strata_*_tests; do cp "$t" "$stage/tests/"; done

cuda=/usr/local/cuda
flags=(-O3 -DNDEBUG -std=c++20 -DSTRATA_WITH_CUDA=1 -DSTRATA_BENCH_CUDA=1 -DSTRATA_HAVE_ATEN=1
       -DSTRATA_BENCH_TORCH_CUDA=1 -I. -Ibench -Iinclude -isystem "$cuda/include"
       -isystem "$torch/include" -isystem "$torch/include/torch/csrc/api/include")
pids=()
for b in $benches; do
  c++ "${flags[@]}" -c "bench/$b.cpp" -o "$stage/obj/$b.o" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
# libtorch_cuda must stay NEEDED (--no-as-needed) for at::hasCUDA(); its own
# dependencies (cudart, cuBLAS, ...) are found on the GPU machine through its RUNPATH.
for b in $benches; do
  c++ -O3 "$stage/obj/$b.o" -o "$stage/bench/$b" -Wl,-rpath,'$ORIGIN/../lib' "$stage/lib/$soname" \
    "$stage/lib/$benchmark_soname" -L"$torch/lib" \
    -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -ltorch_cpu -lc10 -Wl,--as-needed \
    "$cuda/lib64/libcudart_static.a" -ldl -lrt -lpthread -Wl,--allow-shlib-undefined
done
rm -rf "$stage/obj"
git rev-parse --short HEAD > "$stage/commit.txt"
du -sh "$stage"
