#!/usr/bin/env bash
# (B) Builds strata with the `default` preset (CUDA when nvcc is found; tests and
# benchmarks) and runs every test suite with ctest. Without a GPU the `cuda`
# cases report Skipped. Usage: bash scripts/run_tests.sh [preset]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-default}"
bash scripts/install_deps.sh
jobs="$(nproc 2>/dev/null || echo 2)"
cmake --preset "$preset"
cmake --build --preset "$preset" -j "$jobs"
ctest --preset "$preset" -j "$jobs"
