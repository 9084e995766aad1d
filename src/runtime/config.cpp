// Process-wide switches: determinism, version.
#include <atomic>

#include "strata/config.h"
#include "strata/version.h"

namespace strata {

namespace {
std::atomic<bool> g_deterministic{false};
}

void set_deterministic(bool enabled) { g_deterministic.store(enabled, std::memory_order_relaxed); }
bool is_deterministic() { return g_deterministic.load(std::memory_order_relaxed); }

const char* version() { return STRATA_VERSION_STRING; }

}  // namespace strata
