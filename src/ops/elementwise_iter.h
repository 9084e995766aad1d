// The elementwise front-end: broadcasting, per-operand byte strides, reordering to
// the output's memory order and coalescing, computed once per call into a
// kernels::ElementwiseDesc that the CPU and CUDA loops walk.
//
// Typical use in an op (after dtype and device checks):
//
//   const Shape shape = ops::broadcast_shape({a.sizes(), b.sizes()});
//   Tensor out = empty(shape, ...);                   // or check an existing out
//   auto desc = ops::make_elementwise_desc(out, {a, b});
//   if (desc.numel == 0) return out;
//   kernels::cpu::my_op(desc)  /  kernels::cuda::my_op(desc, device, stream)
//
// Operand 0 of the descriptor is the output, then the inputs in order; each
// operand keeps its own dtype (kernels convert with load_as/store_as).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

#include "kernels/common/descriptor.h"
#include "strata/tensor.h"

namespace strata::ops {

/// One strided operand, not necessarily a Tensor (e.g. a host buffer): address
/// of element [0, ...], dtype, sizes and strides in elements. The spans must
/// outlive the call they are passed to.
struct StridedOperand {
  char* data = nullptr;
  DType dtype = kFloat32;
  std::span<const int64_t> sizes;
  std::span<const int64_t> strides;
};

/// The operand view of a tensor (its spans point into the tensor's state).
STRATA_API StridedOperand operand_of(const Tensor& t);

/// The broadcast of any number of shapes, aligned from the right. Throws
/// ShapeError "The size of tensor a (2) must match the size of tensor b (3) at
/// non-singleton dimension 1" (a: the shapes before, b: the shape that failed).
STRATA_API Shape broadcast_shape(std::initializer_list<std::span<const int64_t>> shapes);
STRATA_API Shape broadcast_shape(std::span<const std::span<const int64_t>> shapes);
/// Whether `from` broadcasts to exactly `to` (to is never changed).
STRATA_API bool is_broadcastable_to(std::span<const int64_t> from, std::span<const int64_t> to);
/// Whether the broadcast of `shapes` is exactly `to`, without building it.
STRATA_API bool broadcasts_exactly_to(std::initializer_list<std::span<const int64_t>> shapes,
                                      std::span<const int64_t> to);

/// Strides, in elements, of `input` viewed with the shape `out_sizes` (aligned
/// from the right; 0 for missing and broadcast dims). `input_sizes` must
/// broadcast to `out_sizes`.
STRATA_API Shape broadcast_strides(std::span<const int64_t> input_sizes, std::span<const int64_t> input_strides,
                                   std::span<const int64_t> out_sizes);

/// The descriptor for writing `out` from `inputs` (at most kMaxOperands - 1).
/// The broadcast of out's shape with the inputs' must be out's shape: outputs
/// are never broadcast ("output with shape [3] doesn't match the broadcast shape
/// [2, 3]", prefixed by "op_name: " when one is given). Dims are reordered by
/// the output's strides (dimension 0 innermost) and coalesced; desc.numel == 0
/// means nothing to do. Throws ShapeError, or NotSupportedError when more than
/// kMaxDims dims remain after coalescing.
STRATA_API kernels::ElementwiseDesc make_elementwise_desc(const StridedOperand& out,
                                                          std::span<const StridedOperand> inputs,
                                                          std::string_view op_name = {});
STRATA_API kernels::ElementwiseDesc make_elementwise_desc(const Tensor& out, std::initializer_list<Tensor> inputs,
                                                          std::string_view op_name = {});
/// make_elementwise_desc into `desc`, which may be uninitialized storage (see
/// kernels::UninitializedDesc): sets ndim, numel, num_operands, sizes and each
/// operand's data, dtype and strides for dimensions [0, ndim) only, all a
/// kernel reads. Spares the per-call zeroing of the whole descriptor.
STRATA_API void build_elementwise_desc(kernels::ElementwiseDesc& desc, const StridedOperand& out,
                                       std::span<const StridedOperand> inputs, std::string_view op_name = {});

}  // namespace strata::ops
