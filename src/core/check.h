// STRATA_CHECK and friends: throw a strata error with a formatted message and the
// source location. Internal (uses fmt, which the library links header-only).
#pragma once

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>

#include "strata/errors.h"

namespace strata::detail {

template <typename ErrorType>
[[noreturn]] void throw_error(const char* file, int line, std::string message) {
  throw ErrorType(message, file, line);
}

}  // namespace strata::detail

/// STRATA_CHECK(cond, ErrorType, "fmt {}", args...): throws ErrorType when cond is false.
#define STRATA_CHECK(cond, ErrorType, ...)                                                  \
  do {                                                                                       \
    if (!(cond)) [[unlikely]] {                                                              \
      ::strata::detail::throw_error<ErrorType>(__FILE__, __LINE__, fmt::format(__VA_ARGS__)); \
    }                                                                                        \
  } while (0)

/// STRATA_FAIL(ErrorType, "fmt {}", args...): throws unconditionally.
#define STRATA_FAIL(ErrorType, ...) \
  ::strata::detail::throw_error<ErrorType>(__FILE__, __LINE__, fmt::format(__VA_ARGS__))
