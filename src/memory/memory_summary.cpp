// memory::summary's table and the byte formatting it shares with the
// out-of-memory message.
#include <fmt/format.h>

#include <array>
#include <string>

#include "src/memory/memory_internal.h"

namespace strata::memory {

std::string format_bytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  static constexpr std::array<const char*, 6> kUnits = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < kUnits.size()) {
    value /= 1024.0;
    ++unit;
  }
  return fmt::format("{:.2f} {}", value, kUnits[unit]);
}

namespace detail {

namespace {

constexpr int kWidth = 82;

std::string rule(char fill) { return "|" + std::string(kWidth - 2, fill) + "|\n"; }

std::string count_text(int64_t value) { return fmt::format("{}", value); }
std::string bytes_text(int64_t value) {
  return value < 0 ? fmt::format("-{}", format_bytes(static_cast<uint64_t>(-value)))
                   : format_bytes(static_cast<uint64_t>(value));
}

template <typename Format>
void add_row(std::string& out, const std::string& name, const Stat& stat, Format format) {
  out += fmt::format("| {:<27}|{:>11} |{:>11} |{:>11} |{:>11} |\n", name, format(stat.current),
                     format(stat.peak), format(stat.allocated), format(stat.freed));
}

template <typename Format>
void add_pooled_rows(std::string& out, const std::string& name, const StatArray& stats, Format format) {
  add_row(out, name, stats[kAllPools], format);
  add_row(out, "      from large pool", stats[kLargePool], format);
  add_row(out, "      from small pool", stats[kSmallPool], format);
}

}  // namespace

std::string format_summary(const MemoryStats& stats, const std::string& device_name) {
  std::string out;
  out += rule('=');
  out += fmt::format("|{:^80}|\n", fmt::format("strata caching allocator summary: {}", device_name));
  out += rule('-');
  out += fmt::format("| {:<27}|{:>11} |{:>11} |{:>11} |{:>11} |\n", "Metric", "Cur Usage", "Peak Usage",
                     "Tot Alloc", "Tot Freed");
  out += rule('-');
  add_pooled_rows(out, "Allocated memory", stats.allocated_bytes, bytes_text);
  add_pooled_rows(out, "Active memory", stats.active_bytes, bytes_text);
  add_pooled_rows(out, "Requested memory", stats.requested_bytes, bytes_text);
  add_pooled_rows(out, "Reserved memory", stats.reserved_bytes, bytes_text);
  add_pooled_rows(out, "Non-releasable memory", stats.inactive_split_bytes, bytes_text);
  out += rule('-');
  add_pooled_rows(out, "Allocations", stats.allocation, count_text);
  add_pooled_rows(out, "Active allocs", stats.active, count_text);
  add_pooled_rows(out, "Segments", stats.segment, count_text);
  add_pooled_rows(out, "Non-releasable allocs", stats.inactive_split, count_text);
  out += rule('-');
  add_row(out, "Oversize allocations", stats.oversize_allocations, count_text);
  add_row(out, "Oversize segments", stats.oversize_segments, count_text);
  out += rule('-');
  out += fmt::format("| {:<27}|{:>50} |\n", "Upstream allocs / frees",
                     fmt::format("{} / {}", stats.num_device_alloc, stats.num_device_free));
  out += fmt::format("| {:<27}|{:>50} |\n", "Cache hits / misses",
                     fmt::format("{} / {}", stats.num_cache_hits, stats.num_cache_misses));
  out += fmt::format("| {:<27}|{:>50} |\n", "Alloc retries / OOMs",
                     fmt::format("{} / {}", stats.num_alloc_retries, stats.num_ooms));
  out += fmt::format("| {:<27}|{:>50} |\n", "Stream synchronizations", stats.num_sync_all_streams);
  out += fmt::format("| {:<27}|{:>50} |\n", "max_split_size",
                     stats.max_split_size == SIZE_MAX ? std::string("unlimited")
                                                      : format_bytes(stats.max_split_size));
  out += rule('=');
  return out;
}

}  // namespace detail

}  // namespace strata::memory
