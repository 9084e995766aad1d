// Memory-overlap analysis (PyTorch's MemoryOverlap rules): used by every op that
// writes, so that an in-place op never reads what it already overwrote.
#pragma once

#include "strata/tensor.h"

namespace strata::ops {

enum class MemOverlap { No, Yes, TooHard };
enum class MemOverlapStatus { Full, Partial, No, TooHard };

/// Yes when some dimension of size > 1 has stride 0 (an expanded tensor); No when
/// the tensor is non-overlapping and dense; otherwise TooHard (not checked).
MemOverlap has_internal_overlap(const Tensor& t);
/// Full: same tensor or same memory range and strides; Partial: other
/// intersecting ranges; No: disjoint; TooHard: a non-dense operand.
MemOverlapStatus get_overlap_status(const Tensor& a, const Tensor& b);

/// Throws OverlapError "unsupported operation: more than one element of the
/// written-to tensor refers to a single memory location. Please clone() the
/// tensor before performing the operation." when `t` overlaps itself.
void assert_no_internal_overlap(const Tensor& t);
/// Throws OverlapError ("some elements of the input tensor and the written-to
/// tensor refer to a single memory location...") on a Partial overlap.
void assert_no_partial_overlap(const Tensor& written, const Tensor& input);
/// Throws OverlapError on Full or Partial overlap (scatter family, index_put_).
void assert_no_overlap(const Tensor& written, const Tensor& input);

}  // namespace strata::ops
