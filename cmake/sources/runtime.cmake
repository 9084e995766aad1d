# src/runtime: CUDA runtime wrappers (plain C++ over cudart), default device,
# thread pool, process-wide config.
list(APPEND STRATA_SOURCES
  src/runtime/cuda_runtime.cpp
  src/runtime/thread_pool.cpp
  src/runtime/config.cpp)
