#!/usr/bin/env bash
# A quick benchmark table on the default device: a few representative cases of
# each suite, strata against ATen / PyTorch / malloc in the same process.
#   bash scripts/quick_bench.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/default}"
if [ -n "$(command -v nvidia-smi)" ] && nvidia-smi -L > /dev/null 2>&1; then gpu=1; else gpu=0; fi
run() {
  local bin="$build/bench/$1" filter="$2"
  [ -x "$bin" ] || { echo "($1 not built)"; return; }
  echo "--- $1"
  bash scripts/bench_ratios.sh "$bin" "$filter" 3 0.05
}
if [ "$gpu" = 1 ]; then
  run allocator_bench 'GPU|Cuda|CUDA'
  run elementwise_bench 'GPU.*/(16777216|9)$'
  run scatter_bench 'GPU.*/(1048576|3)$'
else
  run allocator_bench '^(pair|empty)[^/]*/[^/]*/(512|1048576|67108864)$'
  run elementwise_bench '^(zeros|add|add_|bcast_add_)/[^/]*/(9|16777216)$'
  run scatter_bench '^(scatter_add_|index_put_|index_put_acc)/[^/]*/1048576$|^seed_index_put_'
fi
