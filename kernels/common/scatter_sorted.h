// The steps of the deterministic sorted scatter path (set_deterministic(true)
// on a GPU; the CUDA kernels in kernels/cuda/index.cu), host+device so that the
// CPU tests run this same code with std::stable_sort standing in for CUB's
// radix sort (tests/ops/scatter_sorted_stand_in.h):
//   1. every position p gets a key, its destination element's index
//      (sorted_destination), and the pair (key, p) is sorted by key, stably,
//      over the low sorted_end_bit bits of the key: positions keep index order
//      within a destination;
//   2. every sorted slot i runs apply_sorted_at independently (one thread
//      each): an assignment is stored by the last slot of its destination's
//      run, a reduction's whole run is folded, serially in index order with
//      the CPU loop's per-step rounding, by the run's first slot.
// The result has the CPU kernel's bits; for scatter_/index_put_ the last
// duplicate in index order wins.
#pragma once

#include <climits>
#include <cstdint>

#include "kernels/common/scatter_desc.h"
#include "kernels/common/scatter_reduce.h"

namespace strata::kernels {

/// Whether the order in which a destination receives its updates can show in
/// the result (so that deterministic mode sorts them): not for a scalar
/// assigned through duplicates (the same bits whoever wins), nor for the
/// mean's division, which has no indices.
inline bool duplicate_order_matters(const ScatterDesc& d) {
  return d.num_indices > 0 && !(d.reduce == ScatterReduce::Assign && d.direct_is_scalar);
}

/// How many low key bits the sort must order: enough for every destination
/// element's index (at least 1).
inline int sorted_end_bit(const ScatterDesc& d) {
  const auto max_key = static_cast<unsigned long long>(d.indexed_extent / static_cast<int64_t>(dtype_size(d.dtype)));
  int bits = 1;
  while (bits < 64 && (max_key >> bits) != 0) ++bits;
  return bits;
}

/// Whether 32-bit keys and positions hold every key (`end_bit` of them) and
/// position: the radix sort then moves half the bytes.
inline bool sorted_pairs_fit_32_bits(const ScatterDesc& d, int end_bit) {
  return end_bit <= 32 && d.numel <= INT32_MAX;
}

/// Position `position`'s key: the index of the element it updates, with
/// `element` the dtype's size. A bad index gives a meaningless key; the guarded
/// apply then writes nothing.
STRATA_INLINE int64_t sorted_destination(const ScatterDesc& d, int64_t position, int64_t element) {
  int64_t indexed_offset, direct_offset;
  scatter_offsets(d, position, indexed_offset, direct_offset);
  return indexed_offset / element;
}

/// The value position `position` applies: the scalar or its src element.
template <typename T>
STRATA_INLINE T sorted_direct_value(const ScatterDesc& d, const T& scalar, int64_t position) {
  return d.direct_is_scalar ? scalar : *reinterpret_cast<const T*>(d.direct + scatter_direct_offset(d, position));
}

/// `acc` combined with the updates of the run that starts at sorted slot
/// `begin` (the slots up to the next key), in order.
template <ScatterReduce R, typename T, typename Key, typename Pos>
STRATA_INLINE T sorted_fold_run(const ScatterDesc& d, const T& scalar, T acc, const Key* keys, const Pos* positions,
                                int64_t begin, int64_t n) {
  const Key key = keys[begin];
  for (int64_t j = begin; j < n && keys[j] == key; ++j) {
    acc = scatter_combine<R, T>(acc, sorted_direct_value(d, scalar, static_cast<int64_t>(positions[j])), d.alpha);
  }
  return acc;
}

/// Sorted slot `i` of `n` (keys sorted stably, positions alongside): writes
/// its destination if it ends the run of an assignment or starts the run of a
/// reduction; otherwise does nothing. The indices must have been checked.
template <typename T, typename Key, typename Pos>
STRATA_INLINE void apply_sorted_at(const ScatterDesc& d, const T& scalar, int64_t element, const Key* keys,
                                   const Pos* positions, int64_t i, int64_t n) {
  if (d.reduce == ScatterReduce::Assign) {
    // The last of its destination's run writes (the sort is stable: the last
    // in index order), with no walk along the run: a destination that most
    // positions share costs one store, not a serial pass over them all.
    if (i + 1 < n && keys[i + 1] == keys[i]) return;
    *reinterpret_cast<T*>(d.indexed + static_cast<int64_t>(keys[i]) * element) =
        sorted_direct_value(d, scalar, static_cast<int64_t>(positions[i]));
    return;
  }
  if (i > 0 && keys[i] == keys[i - 1]) return;  // not the first of its destination
  T* dst = reinterpret_cast<T*>(d.indexed + static_cast<int64_t>(keys[i]) * element);
  switch (d.reduce) {
    case ScatterReduce::Assign:
      break;  // above
    case ScatterReduce::Add:
      *dst = sorted_fold_run<ScatterReduce::Add, T, Key, Pos>(d, scalar, *dst, keys, positions, i, n);
      break;
    case ScatterReduce::Multiply:
      *dst = sorted_fold_run<ScatterReduce::Multiply, T, Key, Pos>(d, scalar, *dst, keys, positions, i, n);
      break;
    case ScatterReduce::Max:
      *dst = sorted_fold_run<ScatterReduce::Max, T, Key, Pos>(d, scalar, *dst, keys, positions, i, n);
      break;
    case ScatterReduce::Min:
      *dst = sorted_fold_run<ScatterReduce::Min, T, Key, Pos>(d, scalar, *dst, keys, positions, i, n);
      break;
    case ScatterReduce::MeanDivide:  // (never sorted today: the division has no indices)
      *dst = sorted_fold_run<ScatterReduce::MeanDivide, T, Key, Pos>(d, scalar, *dst, keys, positions, i, n);
      break;
  }
}

}  // namespace strata::kernels
