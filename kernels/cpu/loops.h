// The CPU walk over an ElementwiseDesc: the iteration space is cut into runs of
// the innermost dimension, split across threads above kGrainSize elements.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/common/descriptor.h"
#include "src/runtime/parallel.h"

namespace strata::kernels::cpu {

/// Calls run(ptrs, strides, n) for consecutive runs of the innermost dimension:
/// ptrs[k] is operand k's address at the run's first element, strides[k] its
/// byte stride along the run, n the run's length. Runs may execute on several
/// threads at once; each element is visited exactly once.
template <typename Run>
void for_each_run(const ElementwiseDesc& desc, const Run& run) {
  if (desc.numel == 0) return;
  const int num_operands = desc.num_operands;
  int64_t inner_strides[kMaxOperands] = {};
  for (int k = 0; k < num_operands; ++k) inner_strides[k] = desc.operands[k].byte_strides[0];

  auto chunk = [&](int64_t begin, int64_t end) {
    // Multi-index of `begin` (dim 0 fastest).
    int64_t index[kMaxDims] = {};
    int64_t rest = begin;
    for (int d = 0; d < desc.ndim; ++d) {
      index[d] = rest % desc.sizes[d];
      rest /= desc.sizes[d];
    }
    char* ptrs[kMaxOperands] = {};
    int64_t position = begin;
    while (position < end) {
      for (int k = 0; k < num_operands; ++k) {
        char* p = desc.operands[k].data;
        for (int d = 0; d < desc.ndim; ++d) p += index[d] * desc.operands[k].byte_strides[d];
        ptrs[k] = p;
      }
      const int64_t n = std::min(desc.sizes[0] - index[0], end - position);
      run(ptrs, inner_strides, n);
      position += n;
      index[0] += n;
      for (int d = 0; d + 1 < desc.ndim && index[d] == desc.sizes[d]; ++d) {
        index[d] = 0;
        ++index[d + 1];
      }
    }
  };
  if (desc.numel < kGrainSize) {
    chunk(0, desc.numel);
  } else {
    parallel_for(0, desc.numel, kGrainSize, chunk);
  }
}

/// Calls body(begin, end) over [0, n) split across threads above kGrainSize.
template <typename Body>
void parallel_range(int64_t n, const Body& body) {
  if (n <= 0) return;
  if (n < kGrainSize) {
    body(int64_t{0}, n);
  } else {
    parallel_for(0, n, kGrainSize, body);
  }
}

}  // namespace strata::kernels::cpu
