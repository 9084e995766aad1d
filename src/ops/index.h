// Advanced indexing (index_put_, index): turns a TensorIndices list into the
// iteration space of a ScatterDesc following NumPy's rules.
#pragma once

#include <vector>

#include "src/ops/scatter.h"
#include "strata/tensor.h"

namespace strata::ops {

/// The index tensors of self[indices] after masks became coordinates, moved to
/// self's device, with the result's iteration space.
struct AdvancedIndex {
  std::vector<Tensor> index_tensors;       // Int64/Int32, one per indexed dimension
  std::vector<int64_t> index_dims;         // the dimension of self each one indexes
  std::vector<scatter_detail::IterDim> dims;  // result dimensions, outermost first
  Shape result_shape;

  AdvancedIndex() = default;
  AdvancedIndex(AdvancedIndex&&) = default;
  AdvancedIndex& operator=(AdvancedIndex&&) = default;
  /// index_dims and result_shape came from this thread's ShapeCache: back they go.
  ~AdvancedIndex();
};

/// Throws IndexError with PyTorch's texts for bad index dtypes, masks of the
/// wrong shape, too many indices and index shapes that do not broadcast.
AdvancedIndex make_advanced_index(const Tensor& self, const TensorIndices& indices);

}  // namespace strata::ops
