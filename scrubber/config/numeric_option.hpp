// The numbers of command-line options and config-file keys, parsed strictly and range-checked in
// one place. program_options alone would take `--max-evict -1` (it wraps to 2^64-1), `nan` and
// `inf` for a real, and an unbounded value: each option declares its range here instead.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <string>

namespace singleton {

struct CountRange {
  uint64_t min;
  uint64_t max;
  const char* unit;  // "MiB", ... ("" for none)
};

struct RealRange {
  double min;
  double max;
  const char* unit;
};

// --max-evict of scan, scrub and watch: 1 MiB to 1 PiB (more than any host's RAM, hence its page
// cache; far from overflowing when turned into bytes).
inline constexpr CountRange kMaxEvictMib{1, uint64_t{1} << 30, "MiB"};

// Decimal digits only (no sign, no space, nothing after them), within `range`. Throws
// Error(kUsage) "--OPTION TEXT: expected a whole number from MIN to MAX UNIT".
uint64_t parse_count_option(const std::string& option, const std::string& text, CountRange range);

// A decimal number (digits, optionally a fraction and an exponent; no sign, no space, no hex,
// not nan or inf), within `range`. Throws Error(kUsage) "--OPTION TEXT: expected a number from MIN
// to MAX UNIT".
double parse_real_option(const std::string& option, const std::string& text, RealRange range);

// program_options values that take the option's text and, when notified, parse it with the above
// into `*target`. They throw program_options errors, so a command reports them as usage errors
// and the config file with the line they are on.
boost::program_options::typed_value<std::string>* count_option(const std::string& option,
                                                               uint64_t* target, CountRange range);
boost::program_options::typed_value<std::string>* real_option(const std::string& option,
                                                              double* target, RealRange range);

}  // namespace singleton
