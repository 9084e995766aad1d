// CPU fill: every element of operand 0 (or those a mask selects) set to one value.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/common/descriptor.h"

namespace strata::kernels::cpu {

/// Sets every element of operand 0 to the element at `value`, which holds one
/// element of operand 0's dtype.
void fill(const ElementwiseDesc& desc, const void* value);

/// Sets the elements of operand 0 whose operand-1 byte (a Bool or UInt8 mask,
/// possibly operand 0's own memory) is non-zero to the element at `value`;
/// the others keep their bits (self[mask] = value, PyTorch's masked_fill_).
void masked_fill(const ElementwiseDesc& desc, const void* value);

/// self[mask] for a dense `self` of n elements of `element_size` bytes and a
/// dense mask of n bytes (Bool or UInt8): the selected elements, in order,
/// written to `out`, which holds count_selected(mask, n) elements.
int64_t count_selected(const uint8_t* mask, int64_t n);
void masked_select(const char* self, const uint8_t* mask, int64_t n, size_t element_size, char* out);

}  // namespace strata::kernels::cpu
