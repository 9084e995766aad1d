// CPU copy with dtype conversion: operand 0 (destination) = operand 1 (source).
#pragma once

#include "kernels/common/descriptor.h"

namespace strata::kernels::cpu {

/// Writes every element of operand 1, converted to operand 0's dtype, into
/// operand 0 (desc from ops::make_elementwise_desc with one input).
void copy(const ElementwiseDesc& desc);

}  // namespace strata::kernels::cpu
