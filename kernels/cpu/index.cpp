// CPU validation pass of the scatter family: the smallest and largest value of
// each index tensor, computed before anything is written. Min and max are exact,
// so combining the threads' partial results in any order gives the same answer.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>

#include "kernels/common/scatter_kernels.h"
#include "src/runtime/parallel.h"
#include "strata/config.h"

namespace strata::kernels::cpu {
namespace {

/// Min/max of load(i) over [begin, end), values of type I, folded into lo/hi.
template <typename I, typename Load>
void min_max_typed(int64_t begin, int64_t end, Load load, int64_t& lo, int64_t& hi) {
  I mn = std::numeric_limits<I>::max();
  I mx = std::numeric_limits<I>::lowest();
  for (int64_t i = begin; i < end; ++i) {
    const I v = load(i);
    mn = std::min(mn, v);
    mx = std::max(mx, v);
  }
  lo = std::min<int64_t>(lo, mn);
  hi = std::max<int64_t>(hi, mx);
}

template <typename I>
void min_max_contiguous(const I* data, int64_t begin, int64_t end, int64_t& lo, int64_t& hi) {
  min_max_typed<I>(begin, end, [data](int64_t i) { return data[i]; }, lo, hi);
}

/// Min/max over positions [begin, end) of a one-dimensional strided tensor
/// (a column of an [N, 2] index, the seed's `idx.select(1, 0)`): a typed load
/// per value instead of the general walk's coordinate step and dtype switch.
template <typename I>
void min_max_1d(const char* data, int64_t byte_stride, int64_t begin, int64_t end, int64_t& lo, int64_t& hi) {
  const auto load = [data, byte_stride](int64_t i) {
    I v;
    std::memcpy(&v, data + i * byte_stride, sizeof(I));
    return v;
  };
  min_max_typed<I>(begin, end, load, lo, hi);
}

/// Min/max over the linear positions [begin, end) of a strided tensor.
void min_max_strided(const IndexTensorDesc& t, int64_t begin, int64_t end, int64_t& lo, int64_t& hi) {
  if (t.ndim == 1) {
    if (t.dtype == DType::Int64) return min_max_1d<int64_t>(t.data, t.byte_strides[0], begin, end, lo, hi);
    return min_max_1d<int32_t>(t.data, t.byte_strides[0], begin, end, lo, hi);
  }
  int64_t coord[kMaxDims];  // the first t.ndim are set below (no zeroing: tiny calls pay for it)
  int64_t offset = 0;
  int64_t rest = begin;
  for (int dim = t.ndim - 1; dim >= 0; --dim) {
    coord[dim] = rest % t.sizes[dim];
    rest /= t.sizes[dim];
    offset += coord[dim] * t.byte_strides[dim];
  }
  for (int64_t i = begin; i < end; ++i) {
    const int64_t v = load_index(t.data + offset, t.dtype);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    for (int dim = t.ndim - 1; dim >= 0; --dim) {
      ++coord[dim];
      offset += t.byte_strides[dim];
      if (coord[dim] < t.sizes[dim]) break;
      offset -= coord[dim] * t.byte_strides[dim];
      coord[dim] = 0;
    }
  }
}

// Below this many indices one thread does the min/max (a hand-off costs more).
constexpr int64_t kGrain = int64_t{1} << 18;

}  // namespace

void index_min_max(const IndexTensorDesc* tensors, int count, IndexRange* out) {
  for (int i = 0; i < count; ++i) {
    const IndexTensorDesc& t = tensors[i];
    int64_t lo = std::numeric_limits<int64_t>::max();
    int64_t hi = std::numeric_limits<int64_t>::lowest();
    const bool contiguous = t.is_contiguous();
    const auto part = [&](int64_t begin, int64_t end, int64_t& part_lo, int64_t& part_hi) {
      if (!contiguous) {
        min_max_strided(t, begin, end, part_lo, part_hi);
      } else if (t.dtype == DType::Int64) {
        min_max_contiguous(reinterpret_cast<const int64_t*>(t.data), begin, end, part_lo, part_hi);
      } else {
        min_max_contiguous(reinterpret_cast<const int32_t*>(t.data), begin, end, part_lo, part_hi);
      }
    };
    if (t.numel <= kGrain || get_num_threads() == 1 || in_parallel_region()) {
      // One part: no task, no lock (the tiny calls are dominated by those).
      part(0, t.numel, lo, hi);
      out[i] = IndexRange{lo, hi};
      continue;
    }
    std::mutex combine;
    parallel_for(0, t.numel, kGrain, [&](int64_t begin, int64_t end) {
      int64_t part_lo = std::numeric_limits<int64_t>::max();
      int64_t part_hi = std::numeric_limits<int64_t>::lowest();
      part(begin, end, part_lo, part_hi);
      std::lock_guard<std::mutex> lock(combine);
      lo = std::min(lo, part_lo);
      hi = std::max(hi, part_hi);
    });
    out[i] = IndexRange{lo, hi};
  }
}

}  // namespace strata::kernels::cpu
