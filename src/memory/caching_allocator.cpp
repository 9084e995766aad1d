// Provisional pass-through CachingAllocator (the pool lands next): every allocate
// goes upstream, every deallocate returns at once.
#include "strata/caching_allocator.h"

#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "src/core/check.h"
#include "strata/cuda.h"

namespace strata {

AllocatorConfig AllocatorConfig::parse(const std::string& text) {
  AllocatorConfig config;
  (void)text;
  return config;
}

AllocatorConfig AllocatorConfig::from_env() {
  const char* text = std::getenv("STRATA_ALLOC_CONF");
  return text == nullptr ? AllocatorConfig{} : parse(text);
}

struct CachingAllocator::Impl {
  std::shared_ptr<MemoryResource> upstream;
  AllocatorConfig config;
  std::mutex mutex;
  std::unordered_map<void*, std::pair<size_t, StreamHandle>> live;
};

CachingAllocator::CachingAllocator(std::shared_ptr<MemoryResource> upstream, AllocatorConfig config)
    : impl_(std::make_unique<Impl>()) {
  impl_->upstream = std::move(upstream);
  impl_->config = config;
}

CachingAllocator::~CachingAllocator() {
  for (auto& [ptr, info] : impl_->live) impl_->upstream->deallocate(ptr, info.first, info.second);
}

void* CachingAllocator::allocate(size_t bytes, StreamHandle stream) {
  if (bytes == 0) return nullptr;
  size_t rounded = (bytes + 511) / 512 * 512;
  void* ptr = impl_->upstream->allocate(rounded, stream);
  STRATA_CHECK(ptr != nullptr, OutOfMemoryError, "out of memory. Tried to allocate {} bytes",
               bytes);
  std::lock_guard<std::mutex> lock(impl_->mutex);
  impl_->live.emplace(ptr, std::make_pair(rounded, stream));
  return ptr;
}

void CachingAllocator::deallocate(void* ptr) noexcept {
  if (ptr == nullptr) return;
  std::pair<size_t, StreamHandle> info;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    auto it = impl_->live.find(ptr);
    if (it == impl_->live.end()) return;
    info = it->second;
    impl_->live.erase(it);
  }
  impl_->upstream->deallocate(ptr, info.first, info.second);
}

void CachingAllocator::record_stream(void*, StreamHandle) {}

void CachingAllocator::empty_cache() {}

MemoryResource& CachingAllocator::upstream() const noexcept { return *impl_->upstream; }

Device CachingAllocator::device() const { return impl_->upstream->device(); }

namespace memory {

namespace {

constexpr int kMaxCudaDevices = 64;

// One allocator per device, created on first use and never destroyed: tensors
// held in static storage may be freed after main returns.
struct AllocatorRegistry {
  std::mutex mutex;
  std::atomic<CachingAllocator*> cpu{nullptr};
  std::array<std::atomic<CachingAllocator*>, kMaxCudaDevices> cuda{};
};

AllocatorRegistry& registry() {
  static auto* instance = new AllocatorRegistry();
  return *instance;
}

}  // namespace

CachingAllocator& allocator(const Device& device) {
  AllocatorRegistry& reg = registry();
  std::atomic<CachingAllocator*>* slot = nullptr;
  if (device.is_cpu()) {
    slot = &reg.cpu;
  } else {
    STRATA_CHECK(cuda::is_available(), DeviceError,
                 "memory::allocator: {} requested but CUDA is not available", device.str());
    STRATA_CHECK(device.index() >= 0 && device.index() < cuda::device_count() &&
                     device.index() < kMaxCudaDevices,
                 DeviceError, "memory::allocator: invalid device {} (device count {})",
                 device.str(), cuda::device_count());
    slot = &reg.cuda[static_cast<size_t>(device.index())];
  }
  if (CachingAllocator* existing = slot->load(std::memory_order_acquire)) return *existing;
  std::lock_guard<std::mutex> lock(reg.mutex);
  if (CachingAllocator* existing = slot->load(std::memory_order_acquire)) return *existing;
  auto upstream = device.is_cpu() ? make_host_resource() : make_cuda_resource(device.index());
  auto* created = new CachingAllocator(std::move(upstream));
  slot->store(created, std::memory_order_release);
  return *created;
}

}  // namespace memory

}  // namespace strata
