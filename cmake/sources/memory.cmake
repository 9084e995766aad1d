# src/memory: MemoryResource implementations and the CachingAllocator.
list(APPEND STRATA_SOURCES
  src/memory/resources.cpp
  src/memory/simulated_resource.cpp
  src/memory/allocator_config.cpp
  src/memory/memory_summary.cpp
  src/memory/caching_allocator.cpp)
