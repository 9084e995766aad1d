// The whole public API of strata.
#pragma once

#include "strata/config.h"
#include "strata/cuda.h"
#include "strata/device.h"
#include "strata/dtype.h"
#include "strata/errors.h"
#include "strata/export.h"
#include "strata/factories.h"
#include "strata/memory.h"
#include "strata/ops.h"
#include "strata/scalar.h"
#include "strata/simulated_resource.h"
#include "strata/storage.h"
#include "strata/tensor.h"
#include "strata/tensor_options.h"
#include "strata/version.h"
