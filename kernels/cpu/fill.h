// CPU fill: every element of operand 0 set to one value.
#pragma once

#include "kernels/common/descriptor.h"

namespace strata::kernels::cpu {

/// Sets every element of operand 0 to the element at `value`, which holds one
/// element of operand 0's dtype.
void fill(const ElementwiseDesc& desc, const void* value);

}  // namespace strata::kernels::cpu
