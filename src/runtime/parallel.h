// The CPU thread pool behind the kernels' parallel loops.
#pragma once

#include <cstdint>
#include <type_traits>

#include "strata/export.h"

namespace strata {

/// Elements below which a CPU loop stays on the calling thread (ATen's value).
inline constexpr int64_t kGrainSize = 32768;

/// A borrowed reference to any callable fn(int64_t begin, int64_t end): two
/// pointers, never a heap allocation (a std::function holding a lambda with
/// more than two captures allocates on every call). The callable must outlive
/// the call it is passed to, as with parallel_for's argument.
class RangeFn {
 public:
  template <typename Fn, typename = std::enable_if_t<!std::is_same_v<std::decay_t<Fn>, RangeFn>>>
  RangeFn(Fn&& fn)  // NOLINT(google-explicit-constructor): call sites pass lambdas
      : object_(const_cast<void*>(static_cast<const void*>(&fn))),
        call_([](void* object, int64_t begin, int64_t end) {
          (*static_cast<std::remove_reference_t<Fn>*>(object))(begin, end);
        }) {}
  void operator()(int64_t begin, int64_t end) const { call_(object_, begin, end); }

 private:
  void* object_;
  void (*call_)(void*, int64_t, int64_t);
};

/// Runs fn(chunk_begin, chunk_end) over [begin, end) split into contiguous chunks
/// of at least `grain` elements, on up to get_num_threads() threads, and waits.
/// Chunk boundaries depend only on (begin, end, grain, threads); kernels must
/// give the same result for any split. Runs inline when the range is below
/// `grain`, with one thread, or when called from inside a parallel region.
/// Exceptions thrown by fn are rethrown on the calling thread. (The pool's
/// entry point: call parallel_for below.)
STRATA_API void parallel_for_ref(int64_t begin, int64_t end, int64_t grain, RangeFn fn);

/// parallel_for_ref over a copy of fn on cache lines of its own: the workers
/// read the callable's captures from the calling thread's stack, and a capture
/// sharing a line with the caller's other locals was measured to cost 10-20 %
/// of a 64 Ki scatter_add_ on two threads (false sharing).
template <typename Fn>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const Fn& fn) {
  struct alignas(64) Isolated {
    Fn fn;
  };
  const Isolated isolated{fn};
  parallel_for_ref(begin, end, grain, RangeFn(isolated.fn));
}

/// True while the calling thread runs a chunk of parallel_for.
STRATA_API bool in_parallel_region();

}  // namespace strata
