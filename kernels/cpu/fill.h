// CPU fill: every element of operand 0 (or those a mask selects) set to one value.
#pragma once

#include "kernels/common/descriptor.h"

namespace strata::kernels::cpu {

/// Sets every element of operand 0 to the element at `value`, which holds one
/// element of operand 0's dtype.
void fill(const ElementwiseDesc& desc, const void* value);

/// Sets the elements of operand 0 whose operand-1 byte (a Bool or UInt8 mask,
/// possibly operand 0's own memory) is non-zero to the element at `value`;
/// the others keep their bits (self[mask] = value, PyTorch's masked_fill_).
void masked_fill(const ElementwiseDesc& desc, const void* value);

}  // namespace strata::kernels::cpu
