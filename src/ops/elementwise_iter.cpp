#include "src/ops/elementwise_iter.h"

#include <algorithm>
#include <array>
#include <vector>

#include "src/core/check.h"
#include "src/core/recycling_allocator.h"
#include "src/core/shape_util.h"
#include "strata/ops.h"

namespace strata::ops {

namespace {

// Dims an operand may have before coalescing; coalescing must bring them down to
// kernels::kMaxDims.
constexpr int kMaxInputDims = 64;

// Left uninitialized on purpose (this runs once per op): only the first ndim
// entries of the first num_operands rows are written and read.
struct IterationSpace {
  int ndim;
  int num_operands;
  int64_t sizes[kMaxInputDims];
  // byte_strides[operand][dim], dims in the caller's (logical) order.
  int64_t byte_strides[kernels::kMaxOperands][kMaxInputDims];
};

// True when dim `outer` should iterate inside dim `inner`, i.e. the two are in
// the wrong order for the memory layout. The first operand (the output) whose
// strides for the two dims differ and are both non-zero decides; equal strides
// put the smaller size inside. With no decision the logical order stands.
bool should_swap(const IterationSpace& space, int inner, int outer) {
  for (int op = 0; op < space.num_operands; ++op) {
    const int64_t inner_stride = space.byte_strides[op][inner];
    const int64_t outer_stride = space.byte_strides[op][outer];
    if (inner_stride == 0 || outer_stride == 0) continue;
    if (inner_stride < outer_stride) return false;
    if (inner_stride > outer_stride) return true;
    if (space.sizes[inner] > space.sizes[outer]) return true;
  }
  return false;
}

}  // namespace

StridedOperand operand_of(const Tensor& t) {
  return StridedOperand{static_cast<char*>(t.data_ptr()), t.dtype(), t.sizes(), t.strides()};
}

Shape broadcast_shape(std::span<const std::span<const int64_t>> shapes) {
  // One allocation: the result's rank is the largest rank; each shape is then
  // folded in from the right (the error names the sizes so far and the shape
  // that failed, as PyTorch's).
  size_t ndim = 0;
  for (const std::span<const int64_t> s : shapes) ndim = std::max(ndim, s.size());
  Shape result = detail::ShapeCache::take(ndim);  // a recycled buffer when one is at hand
  std::fill(result.begin(), result.end(), int64_t{1});
  for (size_t n = 0; n < shapes.size(); ++n) {
    const std::span<const int64_t> b = shapes[n];
    for (size_t i = 0; i < b.size(); ++i) {
      const size_t d = ndim - 1 - i;  // the dim in the result
      const int64_t size_a = result[d];
      const int64_t size_b = b[b.size() - 1 - i];
      // A result dim still 1 may be 1 from earlier shapes or not yet reached by
      // them; either way it broadcasts. For the error's dim numbering, count
      // from the right within the ranks seen so far, as the pairwise fold did.
      if (size_a != size_b && size_a != 1 && size_b != 1) {
        size_t rank_so_far = 0;
        for (size_t m = 0; m <= n; ++m) rank_so_far = std::max(rank_so_far, shapes[m].size());
        STRATA_FAIL(ShapeError,
                    "The size of tensor a ({}) must match the size of tensor b ({}) at non-singleton dimension {}",
                    size_a, size_b, rank_so_far - 1 - i);
      }
      if (size_a == 1) result[d] = size_b;
    }
  }
  return result;
}

Shape broadcast_shape(std::initializer_list<std::span<const int64_t>> shapes) {
  return broadcast_shape(std::span<const std::span<const int64_t>>(shapes.begin(), shapes.size()));
}

bool is_broadcastable_to(std::span<const int64_t> from, std::span<const int64_t> to) {
  if (from.size() > to.size()) return false;
  for (size_t i = 0; i < from.size(); ++i) {
    const int64_t size_from = from[from.size() - 1 - i];
    const int64_t size_to = to[to.size() - 1 - i];
    if (size_from != size_to && size_from != 1) return false;
  }
  return true;
}

bool broadcasts_exactly_to(std::initializer_list<std::span<const int64_t>> shapes, std::span<const int64_t> to) {
  // Every shape fits in `to`, one of them has its rank, and at each dimension
  // every size is 1 or to's, with at least one equal to to's.
  size_t rank = 0;
  for (const std::span<const int64_t> s : shapes) {
    if (!is_broadcastable_to(s, to)) return false;
    rank = std::max(rank, s.size());
  }
  if (rank != to.size()) return false;
  for (size_t i = 0; i < to.size(); ++i) {
    bool reached = false;
    for (const std::span<const int64_t> s : shapes) {
      reached = reached || (i < s.size() && s[s.size() - 1 - i] == to[to.size() - 1 - i]);
    }
    if (!reached) return false;
  }
  return true;
}

Shape broadcast_strides(std::span<const int64_t> input_sizes, std::span<const int64_t> input_strides,
                        std::span<const int64_t> out_sizes) {
  Shape strides(out_sizes.size(), 0);
  const size_t lead = out_sizes.size() - input_sizes.size();
  for (size_t d = 0; d < input_sizes.size(); ++d) {
    const bool broadcast = input_sizes[d] == 1 && out_sizes[lead + d] != 1;
    strides[lead + d] = broadcast ? 0 : input_strides[d];
  }
  return strides;
}

// The copies below move a few words each: GCC would turn them into rep movs /
// memcpy calls whose start-up costs more than the copy (a visible share of a
// 3x3 add). Plain loops stay plain loops.
#if defined(__GNUC__) && !defined(__clang__)
#define STRATA_PLAIN_LOOPS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define STRATA_PLAIN_LOOPS
#endif

STRATA_PLAIN_LOOPS void build_elementwise_desc(kernels::ElementwiseDesc& desc, const StridedOperand& out,
                                               std::span<const StridedOperand> inputs, std::string_view op_name) {
  STRATA_CHECK(inputs.size() + 1 <= static_cast<size_t>(kernels::kMaxOperands), NotSupportedError,
               "elementwise ops take at most {} inputs, got {}", kernels::kMaxOperands - 1, inputs.size());
  // "op: " before error texts; formatted only when a check fails.
  const std::string_view separator = op_name.empty() ? "" : ": ";

  // Outputs are never broadcast: the inputs must broadcast to out's shape. The
  // common case is checked without allocating; a failure is reported with the
  // texts of the full broadcast.
  bool broadcastable = true;
  for (const StridedOperand& input : inputs) broadcastable = broadcastable && is_broadcastable_to(input.sizes, out.sizes);
  if (!broadcastable) {
    std::array<std::span<const int64_t>, kernels::kMaxOperands> shapes{};
    shapes[0] = out.sizes;
    for (size_t i = 0; i < inputs.size(); ++i) shapes[i + 1] = inputs[i].sizes;
    const Shape broadcast =
        broadcast_shape(std::span<const std::span<const int64_t>>(shapes.data(), inputs.size() + 1));
    // PyTorch's text as it is (no op name: message() is PyTorch's text).
    STRATA_FAIL(ShapeError, "output with shape {} doesn't match the broadcast shape {}", detail::shape_str(out.sizes),
                detail::shape_str(broadcast));
  }
  const std::span<const int64_t> shape = out.sizes;
  const int ndim = static_cast<int>(shape.size());
  STRATA_CHECK(ndim <= kMaxInputDims, NotSupportedError, "{}{}tensors with more than {} dimensions are not supported",
               op_name, separator, kMaxInputDims);

  desc.num_operands = static_cast<int>(inputs.size()) + 1;
  desc.numel = detail::numel_of(shape);
  desc.ndim = 0;
  const StridedOperand* operands[kernels::kMaxOperands] = {&out};
  for (size_t i = 0; i < inputs.size(); ++i) operands[i + 1] = &inputs[i];
  for (int op = 0; op < desc.num_operands; ++op) {
    desc.operands[op].data = operands[op]->data;
    desc.operands[op].dtype = operands[op]->dtype;
  }
  if (desc.numel == 0) return;

  IterationSpace space;
  space.ndim = ndim;
  space.num_operands = desc.num_operands;
  for (int d = 0; d < ndim; ++d) space.sizes[d] = shape[d];
  for (int op = 0; op < desc.num_operands; ++op) {
    const StridedOperand& operand = *operands[op];
    const int64_t item = static_cast<int64_t>(element_size(operand.dtype));
    const int lead = ndim - static_cast<int>(operand.sizes.size());
    for (int d = 0; d < ndim; ++d) {
      const int od = d - lead;
      // A size-1 dim never steps: its stride (which may be huge, e.g. from
      // as_strided) is not multiplied, so it cannot overflow.
      const bool unused = od < 0 || operand.sizes[od] == 1;
      space.byte_strides[op][d] = unused ? 0 : operand.strides[od] * item;
    }
  }

  // perm[0] is the innermost dim; start from the logical (row-major) order and
  // insertion-sort into the output's memory order.
  int perm[kMaxInputDims];
  for (int i = 0; i < ndim; ++i) perm[i] = ndim - 1 - i;
  for (int i = 1; i < ndim; ++i) {
    for (int j = i; j > 0 && should_swap(space, perm[j - 1], perm[j]); --j) std::swap(perm[j - 1], perm[j]);
  }

  // Coalesce in permuted order: dim `next` folds into `current` when, for every
  // operand, stepping `next` once equals stepping `current` size times, or when
  // either has size 1.
  int out_ndim = 0;
  int64_t sizes[kMaxInputDims];
  int64_t strides[kernels::kMaxOperands][kMaxInputDims];
  for (int i = 0; i < ndim; ++i) {
    const int d = perm[i];
    const int64_t size = space.sizes[d];
    if (out_ndim > 0) {
      const int cur = out_ndim - 1;
      bool mergeable = true;
      if (sizes[cur] != 1 && size != 1) {
        for (int op = 0; op < desc.num_operands && mergeable; ++op) {
          mergeable = strides[op][cur] * sizes[cur] == space.byte_strides[op][d];
        }
      }
      if (mergeable) {
        if (sizes[cur] == 1) {
          for (int op = 0; op < desc.num_operands; ++op) strides[op][cur] = space.byte_strides[op][d];
        }
        sizes[cur] *= size;
        continue;
      }
    }
    sizes[out_ndim] = size;
    for (int op = 0; op < desc.num_operands; ++op) strides[op][out_ndim] = space.byte_strides[op][d];
    ++out_ndim;
  }
  if (out_ndim == 0) {  // a 0-dim output: one element
    out_ndim = 1;
    sizes[0] = 1;
  }
  if (out_ndim == 1 && sizes[0] == 1) {
    // A single element: give it dense strides so the contiguous paths take it.
    for (int op = 0; op < desc.num_operands; ++op) {
      strides[op][0] = static_cast<int64_t>(element_size(desc.operands[op].dtype));
    }
  }
  STRATA_CHECK(out_ndim <= kernels::kMaxDims, NotSupportedError,
               "{}{}elementwise iteration over {} dimensions (after coalescing) is not supported; at most {}", op_name,
               separator, out_ndim, kernels::kMaxDims);
  desc.ndim = out_ndim;
  for (int d = 0; d < out_ndim; ++d) desc.sizes[d] = sizes[d];
  for (int op = 0; op < desc.num_operands; ++op) {
    for (int d = 0; d < out_ndim; ++d) desc.operands[op].byte_strides[d] = strides[op][d];
  }
}

kernels::ElementwiseDesc make_elementwise_desc(const StridedOperand& out, std::span<const StridedOperand> inputs,
                                               std::string_view op_name) {
  kernels::ElementwiseDesc desc;
  build_elementwise_desc(desc, out, inputs, op_name);
  return desc;
}

kernels::ElementwiseDesc make_elementwise_desc(const Tensor& out, std::initializer_list<Tensor> inputs,
                                               std::string_view op_name) {
  std::array<StridedOperand, kernels::kMaxOperands> operands{};
  STRATA_CHECK(inputs.size() + 1 <= static_cast<size_t>(kernels::kMaxOperands), NotSupportedError,
               "elementwise ops take at most {} inputs, got {}", kernels::kMaxOperands - 1, inputs.size());
  size_t n = 0;
  for (const Tensor& input : inputs) operands[n++] = operand_of(input);
  return make_elementwise_desc(operand_of(out), std::span<const StridedOperand>(operands.data(), n), op_name);
}

}  // namespace strata::ops

namespace strata {

Shape broadcast_shapes(const Shape& a, const Shape& b) { return ops::broadcast_shape({a, b}); }

}  // namespace strata
