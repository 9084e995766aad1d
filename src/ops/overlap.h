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

/// `input` itself, or a contiguous copy of it when it shares memory with
/// `written` in a way the checks above cannot classify (TooHard: a view of
/// the same storage that is not dense, whose elements' span meets written's).
/// The in-place index ops read their index tensors and sources through it,
/// after the overlap checks and before anything is written: a value they read
/// is the one it had when the op began, so an index checked before writing is
/// the index applied (read again after a write through an aliasing view, it
/// could point anywhere). PyTorch lets such views through too and rechecks
/// every index as it uses it; this copy is only made for them.
Tensor read_before_writing(const Tensor& written, const Tensor& input);
/// assert_no_overlap, then read_before_writing, from one overlap analysis:
/// the input an in-place op (scatter*, index_add_) reads.
Tensor checked_input(const Tensor& written, const Tensor& input);

}  // namespace strata::ops
