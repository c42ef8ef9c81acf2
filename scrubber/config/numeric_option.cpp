#include "scrubber/config/numeric_option.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

#include "snapshot/base/error.hpp"

namespace singleton {
namespace po = boost::program_options;

namespace {

template <typename Number>
[[noreturn]] void refuse(const std::string& option, const std::string& text, const char* what,
                         Number min, Number max, const char* unit) {
  std::ostringstream message;
  message << "--" << option << " " << (text.empty() ? "''" : text) << ": expected " << what
          << " from " << min << " to " << max << (*unit != '\0' ? " " : "") << unit;
  throw Error(ExitCode::kUsage, message.str());
}

// The leading characters std::from_chars would take but the options do not: a sign, and the
// words nan and inf (out of every range anyway, but said as "expected a number").
bool starts_like_a_number(const std::string& text) {
  return !text.empty() && ((text[0] >= '0' && text[0] <= '9') || text[0] == '.');
}

}  // namespace

uint64_t parse_count_option(const std::string& option, const std::string& text, CountRange range) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value, 10);
  if (!starts_like_a_number(text) || text[0] == '.' || error != std::errc() || stop != end ||
      value < range.min || value > range.max) {
    refuse(option, text, "a whole number", range.min, range.max, range.unit);
  }
  return value;
}

double parse_real_option(const std::string& option, const std::string& text, RealRange range) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value, std::chars_format::general);
  if (!starts_like_a_number(text) || error != std::errc() || stop != end || !std::isfinite(value) ||
      value < range.min || value > range.max) {
    refuse(option, text, "a number", range.min, range.max, range.unit);
  }
  return value;
}

po::typed_value<std::string>* count_option(const std::string& option, uint64_t* target,
                                           CountRange range) {
  return po::value<std::string>()->notifier([option, target, range](const std::string& text) {
    try {
      *target = parse_count_option(option, text, range);
    } catch (const Error& e) {
      throw po::error(e.what());
    }
  });
}

po::typed_value<std::string>* real_option(const std::string& option, double* target,
                                          RealRange range) {
  return po::value<std::string>()->notifier([option, target, range](const std::string& text) {
    try {
      *target = parse_real_option(option, text, range);
    } catch (const Error& e) {
      throw po::error(e.what());
    }
  });
}

}  // namespace singleton
