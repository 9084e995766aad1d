// CPU add kernels (the fallback backend).
#pragma once

#include "kernels/common/binary_functors.h"

namespace strata::kernels::cpu {

/// out = a + alpha * b over the descriptor. Runs on up to get_num_threads()
/// threads above kGrainSize elements; the result does not depend on the split.
void add(const AddDesc& desc);

}  // namespace strata::kernels::cpu
