# add / add_ / add_out: front-end (promotion, overlap) and kernels.
list(APPEND STRATA_SOURCES
  src/ops/overlap.cpp
  src/ops/binary.cpp
  kernels/cpu/binary.cpp)
list(APPEND STRATA_CUDA_SOURCES
  kernels/cuda/binary.cu)
