#!/usr/bin/env bash
# Installs what strata builds with, from Debian's packages, when missing. Safe to
# run on a machine that already has everything (it then installs nothing).
# The CUDA toolkit is not a Debian package here: when /usr/local/cuda/bin/nvcc (or
# nvcc on PATH) exists strata builds its CUDA backend, otherwise the CPU backend.
# Set STRATA_SKIP_ATEN=1 to skip libtorch-dev (ATen comparisons and differential tests).
set -euo pipefail

packages=(cmake ninja-build g++ git libgtest-dev libgmock-dev libbenchmark-dev libfmt-dev)
[ "${STRATA_SKIP_ATEN:-0}" = "1" ] || packages+=(libtorch-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "strata: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = "0" ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
