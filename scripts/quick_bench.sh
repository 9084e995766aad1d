#!/usr/bin/env bash
# A quick benchmark table on the default device: a few representative cases of
# each suite; every suite prints its own strata/baseline ratio table (ATen,
# PyTorch or malloc in the same process).
#   bash scripts/quick_bench.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/default}"
# Repetitions in random order: this machine's speed drifts over seconds, and
# interleaving strata's runs with the baseline's keeps that drift out of the
# ratios.
flags=(--benchmark_repetitions=8 --benchmark_enable_random_interleaving=true
       --benchmark_report_aggregates_only=true --benchmark_min_time=0.05)
if nvidia-smi -L > /dev/null 2>&1; then
  elementwise='^GPU_'
  scatter='^GPU_.*/(1048576|3)(/|$)'
  allocator='cuda'
else
  elementwise='^(zeros|add|add_|bcast_add_)/(strata|aten)/(9|16777216)(/|$)'
  scatter='^(scatter_add_|index_put_|index_put_acc)/(strata|aten)/1048576(/|$)|^seed_index_put_'
  allocator='^(pool_alloc_free|malloc_free|strata_empty|aten_empty)/(512|1048576|67108864)(/|$)'
fi
for suite in allocator elementwise scatter; do
  bin="$build/bench/${suite}_bench"
  [ -x "$bin" ] || { echo "(${suite}_bench not built)"; continue; }
  echo "--- ${suite}_bench"
  filter_var="$suite"
  "$bin" --benchmark_filter="${!filter_var}" "${flags[@]}" 2>/dev/null | grep -E '^\||^[A-Z].*:$|^\(none|medians|Medians'
done
