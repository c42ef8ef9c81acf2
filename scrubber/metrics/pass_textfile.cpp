#include "scrubber/metrics/pass_textfile.hpp"

#include <time.h>

#include "scrubber/metrics/scrub_metrics.hpp"
#include "scrubber/metrics/textfile.hpp"

namespace singleton {

void add_pass_to_textfile(const std::string& path, const PassReport& report) {
  ScrubMetrics metrics;
  metrics.resume_counters_from(read_file_if_exists(path));
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  metrics.add_pass(report, static_cast<double>(now.tv_sec) + now.tv_nsec / 1e9);
  write_file_atomically(path, metrics.prometheus_text());
}

}  // namespace singleton
