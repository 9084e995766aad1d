#pragma once
#include "strata/export.h"
namespace strata {
/// The library's version, "MAJOR.MINOR.PATCH".
STRATA_API const char* version();
}  // namespace strata
