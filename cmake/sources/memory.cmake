# src/memory: MemoryResource implementations and the CachingAllocator.
list(APPEND STRATA_SOURCES
  src/memory/resources.cpp
  src/memory/caching_allocator.cpp)
