// The error hierarchy. Destructors are defined here, out of line, so that each
// class's typeinfo and vtable live in libstrata.so and catch clauses in user code
// match exceptions thrown by the library.
#include "strata/errors.h"

#include <string>

namespace strata {

namespace {

std::string with_location(const std::string& message, const char* file, int line) {
  if (file == nullptr) return message;
  return message + " [" + file + ":" + std::to_string(line) + "]";
}

}  // namespace

Error::Error(const std::string& message, const char* file, int line)
    : std::runtime_error(with_location(message, file, line)), message_(message), file_(file), line_(line) {}

Error::~Error() = default;
ShapeError::~ShapeError() = default;
DTypeError::~DTypeError() = default;
IndexError::~IndexError() = default;
OverlapError::~OverlapError() = default;
DeviceError::~DeviceError() = default;
OutOfMemoryError::~OutOfMemoryError() = default;
NotSupportedError::~NotSupportedError() = default;
ValueError::~ValueError() = default;

}  // namespace strata
