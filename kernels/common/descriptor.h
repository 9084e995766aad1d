// Plain descriptors the front-ends hand to the kernels: pointers, sizes, byte
// strides and dtypes. Kernels never see a Tensor; shape logic (broadcast,
// reordering, coalescing) is already done when a descriptor is built.
#pragma once

#include <cstdint>
#include <new>

#include "strata/dtype.h"
#include "strata/export.h"

namespace strata::kernels {

/// Dimensions a descriptor can carry after coalescing.
inline constexpr int kMaxDims = 16;
/// Operands of an elementwise op: operand 0 is the output.
inline constexpr int kMaxOperands = 4;

/// One operand of an elementwise op.
struct Operand {
  char* data = nullptr;          // address of element [0, 0, ...]
  DType dtype = DType::Float32;
  int64_t byte_strides[kMaxDims] = {};  // 0 for broadcast dimensions
};

/// An n-dimensional elementwise iteration space. Dimension 0 is the innermost
/// (fastest-moving in the output's memory order); dimensions are coalesced.
struct ElementwiseDesc {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t numel = 0;
  int num_operands = 0;
  Operand operands[kMaxOperands];

  /// True when every operand is dense and contiguous in iteration order (one
  /// dimension after coalescing, each stride equal to its element size).
  bool is_contiguous() const {
    if (ndim > 1) return false;
    if (ndim == 0) return true;
    for (int i = 0; i < num_operands; ++i) {
      if (operands[i].byte_strides[0] != static_cast<int64_t>(dtype_size(operands[i].dtype))) return false;
    }
    return true;
  }

  static constexpr size_t dtype_size(DType d) { return ::strata::dtype_size(d); }
};

/// Storage for a descriptor that is not zero-filled: the front-ends' per-call
/// path writes only the fields kernels read (dimensions [0, ndim)), and filling
/// the rest (about 0.7 KB for an ElementwiseDesc) is a visible share of a 3x3
/// op. Descriptors are aggregates, so the storage holds one implicitly.
template <typename Desc>
class UninitializedDesc {
 public:
  UninitializedDesc() {}  // NOLINT: leaves the bytes uninitialized on purpose
  Desc& get() { return *std::launder(reinterpret_cast<Desc*>(bytes_)); }

 private:
  alignas(Desc) unsigned char bytes_[sizeof(Desc)];
};

}  // namespace strata::kernels
