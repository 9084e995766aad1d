// Internal helpers shared by the memory sources.
#pragma once

#include <cstddef>
#include <string>

#include "strata/caching_allocator.h"

namespace strata::memory::detail {

constexpr size_t kMiB = size_t{1} << 20;

/// The table behind CachingAllocator::summary().
std::string format_summary(const MemoryStats& stats, const std::string& device_name);

}  // namespace strata::memory::detail
