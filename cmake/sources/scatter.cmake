# Scatter family and advanced indexing: front-ends (src/ops) and kernels.
list(APPEND STRATA_SOURCES
  src/ops/scatter.cpp
  src/ops/index.cpp
  kernels/cpu/scatter.cpp
  kernels/cpu/index.cpp)
list(APPEND STRATA_CUDA_SOURCES
  kernels/cuda/scatter.cu
  kernels/cuda/index.cu)
