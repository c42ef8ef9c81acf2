// The --evict-when and --pressure-* options, one definition for `singleton scrub` and `watch`
// (and so for the config file's keys of the same names).
#pragma once

#include <boost/program_options.hpp>
#include <string>

#include "scrubber/pressure/pressure_gauge.hpp"

namespace singleton {

// What program_options fills in; settings() turns it into PressureSettings after notify().
struct PressureOptionValues {
  std::string when = "always";
  std::string order = "newest";
  std::string cgroup;
  uint64_t headroom_mib = 0;
  double available_percent = 5;
  double psi_percent = 10;
  uint64_t step_mib = 16;
  PressureSettings settings() const;  // throws Error(kUsage) for an unknown word
};

// `watch`: true (the order of evictions follows the placement tracker); scrub: false.
void add_pressure_options(boost::program_options::options_description& desc,
                          PressureOptionValues& values, bool with_order);

}  // namespace singleton
