// GoogleTest entry point shared by the suites. Prints a marker that ctest's
// SKIP_REGULAR_EXPRESSION turns into "Skipped" for the `cuda` entries.
#include <gtest/gtest.h>

#include <cstdio>

#include "strata/cuda.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!strata::cuda::is_available()) std::printf("strata: no CUDA device; CUDA cases skip\n");
  return RUN_ALL_TESTS();
}
