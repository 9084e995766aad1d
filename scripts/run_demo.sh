#!/usr/bin/env bash
# (A) The main job: builds strata, runs the demo (the seed question: a zeros
# tensor updated out of place, in place and at chosen indices) and then a quick
# benchmark table on the default device.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh
jobs="$(nproc 2>/dev/null || echo 2)"
cmake --preset default
cmake --build --preset default -j "$jobs" --target strata_demo elementwise_bench scatter_bench allocator_bench
echo
echo "=================== demo ==================="
./build/default/examples/strata_demo
echo
echo "=========== quick benchmarks (strata vs ATen, same process) ==========="
bash scripts/quick_bench.sh build/default
