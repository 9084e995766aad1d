// A small persistent thread pool for CPU kernels. One parallel region runs at a
// time; a second caller (another user thread, or a nested call) runs its loop
// inline instead of waiting, so that nothing can deadlock.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "src/core/check.h"
#include "src/core/tls.h"
#include "src/runtime/parallel.h"
#include "strata/config.h"

namespace strata {

namespace {

STRATA_TLS_INITIAL_EXEC thread_local bool tls_in_parallel_region = false;

class ThreadPool {
 public:
  static ThreadPool& instance() {
    static ThreadPool pool;
    return pool;
  }

  int num_threads() const { return num_threads_.load(std::memory_order_relaxed); }

  void set_num_threads(int n) {
    std::lock_guard<std::mutex> region(region_mutex_);
    stop_workers();
    num_threads_.store(n, std::memory_order_relaxed);
  }

  void run(int64_t begin, int64_t end, int64_t grain, RangeFn fn) {
    const int64_t range = end - begin;
    const int threads = num_threads();
    const int64_t max_chunks = (range + grain - 1) / grain;
    const int chunks = static_cast<int>(std::min<int64_t>(threads, max_chunks));
    std::unique_lock<std::mutex> region(region_mutex_, std::try_to_lock);
    if (chunks <= 1 || !region.owns_lock()) {
      run_inline(begin, end, fn);
      return;
    }
    start_workers(threads - 1);

    Job job;
    job.begin = begin;
    job.end = end;
    job.chunks = chunks;
    job.fn = &fn;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      ++generation_;
    }
    wake_.notify_all();
    work_on(job, 0);
    // Workers usually finish within microseconds of the caller: spin briefly
    // before sleeping, a futex wake-up costs tens of microseconds.
    spin_until([&] { return job.done_hint.load(std::memory_order_acquire); });
    {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return job.finished == job.chunks && job.active_workers == 0; });
      job_ = nullptr;
    }
    if (job.error) std::rethrow_exception(job.error);
  }

  ~ThreadPool() { stop_workers(); }

 private:
  struct Job {
    int64_t begin = 0, end = 0;
    int chunks = 0;
    const RangeFn* fn = nullptr;
    std::atomic<int> next{0};
    std::atomic<uint64_t> claimed{0};  // chunk c taken: bit c (chunks <= 64)
    int finished = 0;        // guarded by mutex_
    int active_workers = 0;  // guarded by mutex_
    std::exception_ptr error;
    /// Set (under mutex_) once finished == chunks and active_workers == 0: lets
    /// the caller spin without the lock; the predicate is rechecked under it.
    std::atomic<bool> done_hint{false};
  };

  /// How long a thread polls before blocking: long enough to bridge the gap
  /// between back-to-back parallel regions (as OpenMP runtimes do), short
  /// enough not to hold a core when the pool goes idle.
  static constexpr auto kSpin = std::chrono::microseconds(200);

  template <typename Pred>
  static void spin_until(Pred ready) {
    const auto deadline = std::chrono::steady_clock::now() + kSpin;
    for (int i = 1; !ready(); ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if (i % 64 == 0 && std::chrono::steady_clock::now() > deadline) return;
    }
  }

  void mark_done_if_complete(Job& job) {  // mutex_ held
    if (job.finished == job.chunks && job.active_workers == 0) {
      job.done_hint.store(true, std::memory_order_release);
      done_.notify_all();
    }
  }

  ThreadPool() {
    const unsigned hw = std::thread::hardware_concurrency();
    num_threads_.store(hw == 0 ? 1 : static_cast<int>(hw));
  }

  static void run_inline(int64_t begin, int64_t end, RangeFn fn) {
    const bool was = tls_in_parallel_region;
    tls_in_parallel_region = true;
    try {
      fn(begin, end);
    } catch (...) {
      tls_in_parallel_region = was;
      throw;
    }
    tls_in_parallel_region = was;
  }

  // Chunk c covers [begin + c*range/chunks, begin + (c+1)*range/chunks): the split
  // depends only on the range and the chunk count.
  void work_on(Job& job, int self) {
    const bool was = tls_in_parallel_region;
    tls_in_parallel_region = true;
    const int64_t range = job.end - job.begin;
    int done = 0;
    std::exception_ptr error;
    const auto run_chunk = [&](int c) {
      const int64_t lo = job.begin + range * c / job.chunks;
      const int64_t hi = job.begin + range * (c + 1) / job.chunks;
      try {
        (*job.fn)(lo, hi);
      } catch (...) {
        if (!error) error = std::current_exception();
      }
      ++done;
    };
    // Thread t first takes chunk t (the caller is thread 0): back-to-back calls
    // over the same data find their chunk in the same core's cache. Then any
    // chunk nobody has claimed yet (a worker slow to wake).
    if (job.chunks <= 64) {
      const auto claim = [&](int c) {
        const uint64_t bit = uint64_t{1} << c;
        return (job.claimed.fetch_or(bit) & bit) == 0;
      };
      if (self < job.chunks && claim(self)) run_chunk(self);
      for (int c = 0; c < job.chunks; ++c) {
        if ((job.claimed.load(std::memory_order_relaxed) >> c & 1) == 0 && claim(c)) run_chunk(c);
      }
    } else {
      for (int c = job.next.fetch_add(1); c < job.chunks; c = job.next.fetch_add(1)) run_chunk(c);
    }
    tls_in_parallel_region = was;
    std::lock_guard<std::mutex> lock(mutex_);
    job.finished += done;
    if (error && !job.error) job.error = error;
    mark_done_if_complete(job);
  }

  void worker_loop(int self) {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      if (!stopping_ && generation_.load(std::memory_order_relaxed) == seen) {
        lock.unlock();
        spin_until([&] {
          return stopping_.load(std::memory_order_relaxed) || generation_.load(std::memory_order_relaxed) != seen;
        });
        lock.lock();
      }
      wake_.wait(lock, [&] { return stopping_ || (job_ != nullptr && generation_ != seen); });
      if (stopping_) return;
      seen = generation_;
      Job* job = job_;
      ++job->active_workers;
      lock.unlock();
      work_on(*job, self);
      lock.lock();
      --job->active_workers;
      mark_done_if_complete(*job);
    }
  }

  void start_workers(int count) {
    if (static_cast<int>(workers_.size()) >= count) return;
    while (static_cast<int>(workers_.size()) < count) {
      const int self = static_cast<int>(workers_.size()) + 1;
      workers_.emplace_back([this, self] { worker_loop(self); });
    }
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = false;
  }

  std::atomic<int> num_threads_{1};
  std::mutex region_mutex_;  // one parallel region at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<std::thread> workers_;
  Job* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};  // written under mutex_; polled without it
  std::atomic<bool> stopping_{false};    // written under mutex_; polled without it
};

}  // namespace

void parallel_for_ref(int64_t begin, int64_t end, int64_t grain, RangeFn fn) {
  if (end <= begin) return;
  grain = std::max<int64_t>(grain, 1);
  if (tls_in_parallel_region || end - begin <= grain) {
    fn(begin, end);
    return;
  }
  ThreadPool::instance().run(begin, end, grain, fn);
}

bool in_parallel_region() { return tls_in_parallel_region; }

void set_num_threads(int n) {
  STRATA_CHECK(n >= 1, ValueError, "set_num_threads: expected a positive number of threads, got {}", n);
  ThreadPool::instance().set_num_threads(n);
}

int get_num_threads() { return ThreadPool::instance().num_threads(); }

}  // namespace strata
