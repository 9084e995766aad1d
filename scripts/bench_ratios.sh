#!/usr/bin/env bash
# Runs one benchmark binary and prints a table of strata vs its baselines (ATen,
# PyTorch, malloc, cudaMalloc...) from the same process. Benchmarks are named
# "<case>/<impl>/<args>"; each row pairs the strata entry of a case with every
# other impl of the same case and args. Times are medians of the repetitions.
#
#   bash scripts/bench_ratios.sh <binary> [filter regex] [repetitions] [min_time]
set -euo pipefail
bin="$1"
filter="${2:-.}"
reps="${3:-5}"
min_time="${4:-0.05}"
"$bin" --benchmark_filter="$filter" --benchmark_repetitions="$reps" \
  --benchmark_report_aggregates_only=true --benchmark_min_time="$min_time" \
  --benchmark_format=csv 2>/dev/null |
awk -F, '
  function to_ns(t, unit) { return unit == "us" ? t * 1e3 : unit == "ms" ? t * 1e6 : unit == "s" ? t * 1e9 : t }
  function show(ns) { return ns >= 1e6 ? sprintf("%.2f ms", ns / 1e6) : ns >= 1e3 ? sprintf("%.2f us", ns / 1e3) : sprintf("%.0f ns", ns) }
  /^name,/ { header = 1; next }
  !header { next }
  {
    name = $1; gsub(/"/, "", name)
    if (reps > 1 && name !~ /_median$/) next
    sub(/_median$/, "", name)
    n = split(name, part, "/")
    if (n < 2) next
    kase = part[1]; impl = part[2]; args = ""
    for (i = 3; i <= n; ++i) args = args (args == "" ? "" : "/") part[i]
    key = kase SUBSEP args
    if (!(key in seen)) { seen[key] = 1; order[++count] = key }
    t[key, impl] = to_ns($3, $5); impls[impl] = 1
  }
  END {
    printf "%-34s %-14s %12s %12s %-12s %9s\n", "case", "args", "strata", "baseline", "(impl)", "ratio"
    for (k = 1; k <= count; ++k) {
      key = order[k]; split(key, kp, SUBSEP)
      if (!((key, "strata") in t)) continue
      shown = 0
      for (impl in impls) {
        if (impl == "strata" || !((key, impl) in t)) continue
        printf "%-34s %-14s %12s %12s %-12s %9.3f\n", kp[1], kp[2], show(t[key, "strata"]), show(t[key, impl]), impl, t[key, "strata"] / t[key, impl]
        shown = 1
      }
      if (!shown) printf "%-34s %-14s %12s %12s %-12s %9s\n", kp[1], kp[2], show(t[key, "strata"]), "-", "-", "-"
    }
  }' reps="$reps"
