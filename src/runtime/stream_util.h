// Internal: the stream an op on `device` runs on.
#pragma once

#include "strata/device.h"
#include "strata/memory.h"

namespace strata::detail {

/// cuda::current_stream(device.index()).handle() for CUDA, nullptr for the CPU.
StreamHandle current_stream_handle(const Device& device);

}  // namespace strata::detail
