// AllocatorConfig: parsing STRATA_ALLOC_CONF.
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <string_view>

#include "src/core/check.h"
#include "strata/caching_allocator.h"

namespace strata {

namespace {

constexpr size_t kMiB = size_t{1} << 20;
// Segments of the large pool are 20 MiB; a max split size at or below that would
// make ordinary segments unsplittable, as in PyTorch.
constexpr size_t kMinMaxSplitSizeMiB = 20;

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

[[noreturn]] void bad_value(std::string_view key, std::string_view value, std::string_view why) {
  STRATA_FAIL(ValueError, "STRATA_ALLOC_CONF: invalid value '{}' for key '{}': {}", value, key, why);
}

size_t parse_unsigned(std::string_view key, std::string_view value) {
  size_t result = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), result);
  if (error != std::errc() || end != value.data() + value.size() || value.empty()) {
    bad_value(key, value, "expected a non-negative integer");
  }
  return result;
}

double parse_double(std::string_view key, std::string_view value) {
  std::string text(value);
  char* end = nullptr;
  double result = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) bad_value(key, value, "expected a number");
  return result;
}

bool parse_bool(std::string_view key, std::string_view value) {
  if (value == "True" || value == "true" || value == "1") return true;
  if (value == "False" || value == "false" || value == "0") return false;
  bad_value(key, value, "expected True or False");
}

bool is_power_of_two_or_zero(size_t value) { return (value & (value - 1)) == 0; }

size_t parse_divisions(std::string_view key, std::string_view value) {
  size_t divisions = parse_unsigned(key, value);
  if (!is_power_of_two_or_zero(divisions)) bad_value(key, value, "divisions must be a power of two (or 0)");
  return divisions;
}

size_t log2_floor(size_t value) { return 63 - static_cast<size_t>(__builtin_clzll(value)); }

// "4" (every interval) or "[256:1,1024:4,>:8]": an entry `M:D` gives D divisions
// to the intervals from the previous entry's up to that of M MiB; `>:D` to every
// interval after the last entry.
void parse_roundup_divisions(std::string_view key, std::string_view value,
                             std::array<size_t, 16>& divisions) {
  if (value.empty() || value.front() != '[') {
    divisions.fill(parse_divisions(key, value));
    return;
  }
  if (value.back() != ']') bad_value(key, value, "a list must end with ']'");
  std::string_view list = value.substr(1, value.size() - 2);
  size_t next_interval = 0;
  bool any = false;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view entry = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    size_t colon = entry.find(':');
    if (colon == std::string_view::npos) bad_value(key, entry, "expected 'size_mb:divisions' or '>:divisions'");
    std::string_view bound = trim(entry.substr(0, colon));
    size_t entry_divisions = parse_divisions(key, trim(entry.substr(colon + 1)));
    any = true;
    if (bound == ">") {
      for (size_t i = next_interval; i < divisions.size(); ++i) divisions[i] = entry_divisions;
      next_interval = divisions.size();
      continue;
    }
    size_t size_mb = parse_unsigned(key, bound);
    if (size_mb == 0 || !is_power_of_two_or_zero(size_mb)) {
      bad_value(key, bound, "sizes in the list must be powers of two (in MiB)");
    }
    size_t interval = std::min<size_t>(log2_floor(size_mb), divisions.size() - 1);
    if (interval < next_interval && next_interval != 0) {
      bad_value(key, bound, "sizes in the list must increase");
    }
    for (size_t i = next_interval; i <= interval; ++i) divisions[i] = entry_divisions;
    next_interval = interval + 1;
  }
  if (!any) bad_value(key, value, "the list is empty");
}

// Splits at commas outside brackets.
std::vector<std::string_view> split_options(std::string_view text) {
  std::vector<std::string_view> options;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      std::string_view option = trim(text.substr(start, i - start));
      if (!option.empty()) options.push_back(option);
      start = i + 1;
    } else if (text[i] == '[') {
      ++depth;
    } else if (text[i] == ']') {
      --depth;
    }
  }
  return options;
}

}  // namespace

AllocatorConfig AllocatorConfig::parse(const std::string& text) {
  AllocatorConfig config;
  for (std::string_view option : split_options(text)) {
    size_t colon = option.find(':');
    STRATA_CHECK(colon != std::string_view::npos, ValueError,
                 "STRATA_ALLOC_CONF: expected 'key:value' but got '{}' in '{}'", option, text);
    std::string_view key = trim(option.substr(0, colon));
    std::string_view value = trim(option.substr(colon + 1));
    if (key == "max_split_size_mb") {
      size_t mb = parse_unsigned(key, value);
      if (mb <= kMinMaxSplitSizeMiB) {
        bad_value(key, value, fmt::format("must be greater than {}", kMinMaxSplitSizeMiB));
      }
      config.max_split_size = mb > (SIZE_MAX >> 20) ? SIZE_MAX : mb * kMiB;
    } else if (key == "max_non_split_rounding_mb") {
      size_t mb = parse_unsigned(key, value);
      config.max_non_split_rounding = mb > (SIZE_MAX >> 20) ? SIZE_MAX : mb * kMiB;
    } else if (key == "roundup_power2_divisions") {
      parse_roundup_divisions(key, value, config.roundup_power2_divisions);
    } else if (key == "garbage_collection_threshold") {
      double threshold = parse_double(key, value);
      if (!(threshold > 0.0 && threshold < 1.0)) bad_value(key, value, "must be in (0, 1)");
      config.garbage_collection_threshold = threshold;
    } else if (key == "caching_enabled") {
      config.caching_enabled = parse_bool(key, value);
    } else {
      STRATA_FAIL(ValueError,
                  "STRATA_ALLOC_CONF: unknown key '{}' in '{}' (known keys: max_split_size_mb, "
                  "max_non_split_rounding_mb, roundup_power2_divisions, "
                  "garbage_collection_threshold, caching_enabled)",
                  key, text);
    }
  }
  return config;
}

AllocatorConfig AllocatorConfig::from_env() {
  const char* text = std::getenv("STRATA_ALLOC_CONF");
  AllocatorConfig config = text == nullptr ? AllocatorConfig{} : parse(text);
  const char* no_caching = std::getenv("STRATA_NO_MEMORY_CACHING");
  if (no_caching != nullptr && std::string_view(no_caching) != "" && std::string_view(no_caching) != "0") {
    config.caching_enabled = false;
  }
  return config;
}

}  // namespace strata
