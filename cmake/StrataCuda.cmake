# Resolves STRATA_WITH_CUDA (AUTO/ON/OFF) into STRATA_CUDA_ENABLED and enables the
# CUDA language. nvcc need not be on PATH: the usual toolkit location is tried.
include(CheckLanguage)
set(STRATA_CUDA_ENABLED OFF)
string(TOUPPER "${STRATA_WITH_CUDA}" _strata_cuda_mode)
if(NOT _strata_cuda_mode STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS "/usr/local/cuda/bin/nvcc")
    set(CMAKE_CUDA_COMPILER "/usr/local/cuda/bin/nvcc" CACHE FILEPATH "CUDA compiler")
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(CMAKE_CUDA_ARCHITECTURES "${STRATA_CUDA_ARCHITECTURES}")
    # CMake 3.25 knows no CUDA20 dialect for nvcc; .cu files see only kernels/ and
    # the dtype headers, which are C++17.
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    enable_language(CUDA)
    # The checked scatter kernels take more than 4 KiB of parameters (the
    # descriptor and the index tensors' checks), which CUDA 12.1 first allows.
    if(CMAKE_CUDA_COMPILER_VERSION VERSION_LESS 12.1)
      if(_strata_cuda_mode STREQUAL "ON")
        message(FATAL_ERROR "strata needs CUDA 12.1 or newer; found nvcc ${CMAKE_CUDA_COMPILER_VERSION}.")
      endif()
      message(STATUS "strata: nvcc ${CMAKE_CUDA_COMPILER_VERSION} is older than 12.1, building the CPU backend only")
    else()
      set(STRATA_CUDA_ENABLED ON)
    endif()
  elseif(_strata_cuda_mode STREQUAL "ON")
    message(FATAL_ERROR "STRATA_WITH_CUDA=ON but no CUDA compiler (nvcc) was found. "
                        "Install the CUDA toolkit, set CUDACXX, or configure with -DSTRATA_WITH_CUDA=OFF.")
  else()
    message(STATUS "strata: nvcc not found, building the CPU backend only")
  endif()
endif()
