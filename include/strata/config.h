// Process-wide settings: determinism and CPU threads.
#pragma once

#include "strata/export.h"

namespace strata {

/// When true, accumulating ops (scatter_add_, scatter_reduce_, index_put_ with
/// accumulate, index_add_) give the same bits run after run, and scatter_ /
/// index_put_ with duplicate indices keep the last value in index order.
/// Sums are then taken in index order on every device, the CPU's serial order
/// (by default the CPU may sum many updates into a small target in a fixed
/// number of parts, added in part order: also the same bits run after run and
/// for any thread count, rounded differently; Float16/BFloat16 parts are summed
/// in float and each element rounded once).
STRATA_API void set_deterministic(bool enabled);
STRATA_API bool is_deterministic();

/// Threads used by CPU kernels (default: the hardware concurrency). Results do
/// not depend on it. n < 1 throws ValueError.
STRATA_API void set_num_threads(int n);
STRATA_API int get_num_threads();

}  // namespace strata
