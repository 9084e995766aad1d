// The CPU thread pool behind the kernels' parallel loops.
#pragma once

#include <cstdint>
#include <functional>

#include "strata/export.h"

namespace strata {

/// Elements below which a CPU loop stays on the calling thread (ATen's value).
inline constexpr int64_t kGrainSize = 32768;

/// Runs fn(chunk_begin, chunk_end) over [begin, end) split into contiguous chunks
/// of at least `grain` elements, on up to get_num_threads() threads, and waits.
/// Chunk boundaries depend only on (begin, end, grain, threads); kernels must
/// give the same result for any split. Runs inline when the range is below
/// `grain`, with one thread, or when called from inside a parallel region.
/// Exceptions thrown by fn are rethrown on the calling thread.
STRATA_API void parallel_for(int64_t begin, int64_t end, int64_t grain,
                             const std::function<void(int64_t, int64_t)>& fn);

/// True while the calling thread runs a chunk of parallel_for.
STRATA_API bool in_parallel_region();

}  // namespace strata
