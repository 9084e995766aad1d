# add / add_ / add_out: front-end (promotion, overlap) and kernels.
list(APPEND STRATA_SOURCES
  src/ops/overlap.cpp
  src/ops/binary.cpp
  kernels/cpu/binary.cpp)
list(APPEND STRATA_CUDA_SOURCES
  kernels/cuda/binary.cu)
# a + alpha * b rounds the product and the sum separately on every path (vector
# body, scalar tail, CUDA with __fmul_rn/__fadd_rn), so that results never depend
# on how the work is split; GCC would otherwise contract them into FMAs in C++.
set_source_files_properties(kernels/cpu/binary.cpp PROPERTIES COMPILE_OPTIONS "-ffp-contract=off")
