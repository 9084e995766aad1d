// The CUDA deterministic sorted path (kernels/cuda/index.cu) run on the host:
// the same steps, kernels/common/scatter_sorted.h's, with std::stable_sort
// over the key's low bits in place of CUB's stable radix sort, and the apply
// slots taken in a shuffled order, as a GPU's threads may take them. Installed
// through set_sorted_path_stand_in, it receives every CPU scatter update that a
// GPU would send down the sorted path, after the same separate index check, so
// the scatter tests' "cpu-sorted" instances check the GPU's deterministic logic
// on the CPU against the tests' reference loops.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/common/descriptor.h"
#include "kernels/common/dispatch.h"
#include "kernels/common/scatter_sorted.h"
#include "src/ops/scatter.h"

namespace strata::scatter_test {

/// How many updates the stand-in has run (the tests check that it ran).
inline std::atomic<int64_t>& sorted_stand_in_calls() {
  static std::atomic<int64_t> calls{0};
  return calls;
}

template <typename Key, typename Pos>
void run_sorted_path_on_host(const kernels::ScatterDesc& d, int end_bit) {
  const int64_t n = d.numel;
  const auto element = static_cast<int64_t>(kernels::ElementwiseDesc::dtype_size(d.dtype));
  struct Pair {
    Key key;
    Pos position;
  };
  std::vector<Pair> pairs(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    pairs[i] = Pair{static_cast<Key>(kernels::sorted_destination(d, i, element)), static_cast<Pos>(i)};
  }
  // The radix sort orders bits [0, end_bit) of the key, stably.
  const Key mask = end_bit >= static_cast<int>(8 * sizeof(Key)) ? ~Key{0} : (Key{1} << end_bit) - 1;
  std::stable_sort(pairs.begin(), pairs.end(),
                   [mask](const Pair& a, const Pair& b) { return (a.key & mask) < (b.key & mask); });
  std::vector<Key> keys(static_cast<size_t>(n));
  std::vector<Pos> positions(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    keys[i] = pairs[i].key;
    positions[i] = pairs[i].position;
  }

  // Every slot on its own, in an order no loop would choose: blocks of 256
  // slots (a GPU's thread blocks) from the last to the first, each block's
  // slots in a shuffled order.
  constexpr int64_t kBlock = 256;
  std::vector<int64_t> lanes(static_cast<size_t>(kBlock));
  std::iota(lanes.begin(), lanes.end(), int64_t{0});
  std::shuffle(lanes.begin(), lanes.end(), std::mt19937_64(static_cast<uint64_t>(n) * 7919 + 17));
  kernels::dispatch_dtype(d.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    T scalar;
    std::memcpy(&scalar, d.scalar, sizeof(T));
    for (int64_t block = (n - 1) / kBlock; block >= 0; --block) {
      for (int64_t lane : lanes) {
        const int64_t i = block * kBlock + lane;
        if (i < n) kernels::apply_sorted_at<T, Key, Pos>(d, scalar, element, keys.data(), positions.data(), i, n);
      }
    }
  });
}

/// The stand-in. The CUDA path sorts 32-bit pairs where they fit and 64-bit
/// ones only beyond 4 Gi elements or 2 Gi positions, sizes no test allocates;
/// so the stand-in takes the 64-bit pairs on every other call where both fit,
/// and both widths' steps run.
inline void sorted_path_on_host(const kernels::ScatterDesc& d) {
  const int64_t call = sorted_stand_in_calls()++;
  const int end_bit = kernels::sorted_end_bit(d);
  if (kernels::sorted_pairs_fit_32_bits(d, end_bit) && call % 2 == 0) {
    run_sorted_path_on_host<uint32_t, int32_t>(d, end_bit);
  } else {
    run_sorted_path_on_host<unsigned long long, int64_t>(d, end_bit);
  }
}

/// Installs the stand-in for its lifetime (none before or after it).
class SortedPathOnHost {
 public:
  SortedPathOnHost() { ops::scatter_detail::set_sorted_path_stand_in(&sorted_path_on_host); }
  ~SortedPathOnHost() { ops::scatter_detail::set_sorted_path_stand_in(nullptr); }
  SortedPathOnHost(const SortedPathOnHost&) = delete;
  SortedPathOnHost& operator=(const SortedPathOnHost&) = delete;
};

}  // namespace strata::scatter_test
