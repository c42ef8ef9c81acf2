#include "scrubber/pressure/pressure_options.hpp"

#include "scrubber/config/numeric_option.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace po = boost::program_options;
namespace {

// The words are checked when notified, so the config file reports a bad one with its line.
template <typename Parse>
po::typed_value<std::string>* word_option(std::string* target, const char* default_word,
                                          Parse parse) {
  return po::value(target)->default_value(default_word)->notifier([parse](const std::string& v) {
    try {
      parse(v);
    } catch (const Error& e) {
      throw po::error(e.what());
    }
  });
}

}  // namespace

PressureSettings PressureOptionValues::settings() const {
  PressureSettings s;
  s.when = evict_when_from_string(when);
  s.order = evict_order_from_string(order);
  s.cgroup = cgroup;
  s.headroom_bytes = headroom_mib << 20;
  s.available_percent = available_percent;
  s.psi_percent = psi_percent;
  s.step_bytes = step_mib << 20;
  return s;
}

void add_pressure_options(po::options_description& desc, PressureOptionValues& v,
                          bool with_order) {
  desc.add_options()(
      "evict-when", word_option(&v.when, "always", evict_when_from_string),
      "always: evict duplicates as soon as they are found; pressure: keep them (a free second "
      "copy) while memory is free and evict them, duplicates first, when it is needed (see "
      "--pressure-*)")(
      "pressure-cgroup", po::value(&v.cgroup),
      "a memory cgroup (v1 or v2; path, or name under /sys/fs/cgroup[/memory]) near whose limit "
      "memory is needed, e.g. machine.slice")(
      "pressure-headroom",
      count_option("pressure-headroom", &v.headroom_mib, {0, uint64_t{1} << 30, "MiB"})
          ->default_value("0"),
      "the cgroup's usage within this many MiB of its limit is pressure (0: the larger of "
      "16 MiB and 5% of the limit)")(
      "pressure-available",
      real_option("pressure-available", &v.available_percent, {0, 100, "percent"})
          ->default_value("5"),
      "host MemAvailable under this percent of MemTotal is pressure (0: not a signal)")(
      "pressure-psi",
      real_option("pressure-psi", &v.psi_percent, {0, 100, "percent"})->default_value("10"),
      "PSI memory some avg10 at or above this percent is pressure (0: not a signal)")(
      "evict-step",
      count_option("evict-step", &v.step_mib, {1, uint64_t{1} << 30, "MiB"})->default_value("16"),
      "under pressure, evict at most this many MiB of duplicates per step");
  if (with_order) {
    desc.add_options()(
        "evict-order", word_option(&v.order, "newest", evict_order_from_string),
        "newest|oldest: which duplicates go first under pressure, by when the guest read the "
        "block (the bpf tracker; the scan tracker evicts in file order)");
  }
}

}  // namespace singleton
