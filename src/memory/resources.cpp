// The upstream resources: aligned host memory (optionally page-locked) and
// cudaMalloc on one device, with CUDA events for the pool's cross-stream reuse.
#include <cstdlib>
#include <new>

#include <sys/mman.h>
#include <unistd.h>

#include "src/core/check.h"
#include "strata/cuda.h"
#include "strata/memory.h"

#if STRATA_WITH_CUDA
#include <cuda_runtime_api.h>

#include "src/runtime/cuda_check.h"
#endif

namespace strata {

MemoryResource::~MemoryResource() = default;

namespace {

// Matches what cudaMalloc guarantees, so that code written against the host pool
// makes no alignment assumption that breaks on a GPU (and vice versa).
constexpr size_t kHostAlignment = 256;
constexpr size_t kHugePage = size_t{2} << 20;

size_t round_up_to_alignment(size_t bytes) {
  return (bytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
}

class HostResource final : public MemoryResource {
 public:
  explicit HostResource(bool pinned) : pinned_(pinned) {
    long pages = sysconf(_SC_PHYS_PAGES);
    long page_size = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page_size > 0) capacity_ = static_cast<size_t>(pages) * static_cast<size_t>(page_size);
  }

  Device device() const override { return kCPU; }
  /// Physical memory: a request beyond it is refused without asking malloc
  /// (sanitizer runtimes abort on absurd sizes instead of returning nullptr).
  size_t capacity() const noexcept override { return capacity_; }

 private:
  void* do_allocate(size_t bytes, StreamHandle) override {
    if (bytes == 0) bytes = kHostAlignment;
    if (bytes > SIZE_MAX - kHostAlignment) return nullptr;
    if (capacity_ != 0 && bytes > capacity_) return nullptr;
#if STRATA_WITH_CUDA
    if (pinned_) {
      void* ptr = nullptr;
      cudaError_t status = cudaHostAlloc(&ptr, bytes, cudaHostAllocDefault);
      if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        return nullptr;
      }
      if (status != cudaSuccess) {
        cudaGetLastError();
        STRATA_FAIL(DeviceError, "cudaHostAlloc of {} bytes failed: {}", bytes,
                    cudaGetErrorString(status));
      }
      return ptr;
    }
#endif
    if (bytes >= kHugePage) {
      // Segments of 2 MiB and more start on a huge-page boundary and ask for
      // transparent huge pages (best effort: the kernel may refuse): random
      // access into a large tensor (index_put_, scatter) then misses the TLB far
      // less, and first touch faults once per 2 MiB instead of per 4 KiB.
      const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
      void* ptr = std::aligned_alloc(kHugePage, rounded);
      if (ptr != nullptr) (void)madvise(ptr, rounded, MADV_HUGEPAGE);
      return ptr;
    }
    // aligned_alloc wants a size that is a multiple of the alignment.
    return std::aligned_alloc(kHostAlignment, round_up_to_alignment(bytes));
  }

  void do_deallocate(void* ptr, size_t, StreamHandle) noexcept override {
#if STRATA_WITH_CUDA
    if (pinned_) {
      cudaFreeHost(ptr);
      return;
    }
#endif
    std::free(ptr);
  }

  bool pinned_;
  size_t capacity_ = 0;
};

#if STRATA_WITH_CUDA

// Runs `body` with `device` current and restores the caller's device after.
class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    cudaGetDevice(&previous_);
    if (previous_ != device) cudaSetDevice(device);
    device_ = device;
  }
  ~DeviceScope() {
    if (previous_ != device_) cudaSetDevice(previous_);
  }
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

 private:
  int previous_ = 0;
  int device_ = 0;
};

#define STRATA_MEMORY_CUDA_CHECK(call)                                                   \
  do {                                                                                   \
    cudaError_t strata_status_ = (call);                                                 \
    if (strata_status_ != cudaSuccess) {                                                 \
      cudaGetLastError();                                                                \
      STRATA_FAIL(DeviceError, "{} failed: {}", #call, cudaGetErrorString(strata_status_)); \
    }                                                                                    \
  } while (0)

class CudaResource final : public MemoryResource {
 public:
  explicit CudaResource(int device_index) : device_index_(device_index) {
    DeviceScope scope(device_index_);
    size_t free_bytes = 0;
    size_t total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) {
      capacity_ = total_bytes;
    } else {
      cudaGetLastError();
    }
  }

  Device device() const override { return Device(DeviceType::CUDA, device_index_); }
  size_t capacity() const noexcept override { return capacity_; }

  EventHandle create_event() override {
    DeviceScope scope(device_index_);
    cudaEvent_t event = nullptr;
    STRATA_MEMORY_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
    return event;
  }
  void destroy_event(EventHandle event) noexcept override {
    if (event != nullptr) cudaEventDestroy(static_cast<cudaEvent_t>(event));
  }
  void record_event(EventHandle event, StreamHandle stream) override {
    DeviceScope scope(device_index_);
    STRATA_MEMORY_CUDA_CHECK(
        cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)));
  }
  bool event_completed(EventHandle event) override {
    cudaError_t status = cudaEventQuery(static_cast<cudaEvent_t>(event));
    if (status == cudaSuccess) return true;
    if (detail::cuda_not_ready(status)) return false;
    cudaGetLastError();
    STRATA_FAIL(DeviceError, "cudaEventQuery failed: {}", cudaGetErrorString(status));
  }
  void synchronize_event(EventHandle event) override {
    STRATA_MEMORY_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(event)));
  }

 private:
  void* do_allocate(size_t bytes, StreamHandle) override {
    DeviceScope scope(device_index_);
    void* ptr = nullptr;
    cudaError_t status = cudaMalloc(&ptr, bytes == 0 ? 1 : bytes);
    if (status == cudaErrorMemoryAllocation) {
      // Out of memory is recoverable: clear the sticky error so that the pool
      // can free its cache and retry.
      cudaGetLastError();
      return nullptr;
    }
    if (status != cudaSuccess) {
      cudaGetLastError();
      STRATA_FAIL(DeviceError, "cudaMalloc of {} bytes on cuda:{} failed: {}", bytes,
                  device_index_, cudaGetErrorString(status));
    }
    return ptr;
  }

  void do_deallocate(void* ptr, size_t, StreamHandle) noexcept override {
    DeviceScope scope(device_index_);
    if (cudaFree(ptr) != cudaSuccess) cudaGetLastError();
  }

  int device_index_;
  size_t capacity_ = 0;
};

#endif  // STRATA_WITH_CUDA

}  // namespace

std::shared_ptr<MemoryResource> make_host_resource(bool pinned) {
#if STRATA_WITH_CUDA
  pinned = pinned && cuda::is_available();
#else
  pinned = false;
#endif
  return std::make_shared<HostResource>(pinned);
}

std::shared_ptr<MemoryResource> make_cuda_resource(int device_index) {
#if STRATA_WITH_CUDA
  STRATA_CHECK(cuda::is_available(), DeviceError,
               "make_cuda_resource: CUDA is not available (no device or driver)");
  STRATA_CHECK(device_index >= 0 && device_index < cuda::device_count(), DeviceError,
               "make_cuda_resource: invalid device index {} (device count {})", device_index,
               cuda::device_count());
  return std::make_shared<CudaResource>(device_index);
#else
  STRATA_FAIL(DeviceError,
              "make_cuda_resource: strata was built without CUDA (asked for cuda:{})",
              device_index);
#endif
}

}  // namespace strata
