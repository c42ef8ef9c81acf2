#include "scrubber/advise/model_counters.hpp"

namespace singleton::advise {
namespace {
double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }
}  // namespace

ModelSummary summarize(const ModelCounters& c) {
  const double reads = static_cast<double>(c.accesses - c.writes);
  const double read_misses = reads - static_cast<double>(c.guest_read_hits);
  ModelSummary s;
  s.guest_hit = ratio(static_cast<double>(c.guest_hits), static_cast<double>(c.accesses));
  s.host_hit = ratio(static_cast<double>(c.host_hits), read_misses);
  s.system_hit = reads > 0 ? 1.0 - static_cast<double>(c.device_reads) / reads : 0.0;
  s.device_reads_per_1000 = ratio(1000.0 * static_cast<double>(c.device_reads + c.readmit_reads),
                                  static_cast<double>(c.accesses));
  s.host_mean_blocks = ratio(static_cast<double>(c.host_blocks_sum), static_cast<double>(c.accesses));
  s.duplicate_share = ratio(static_cast<double>(c.duplicate_blocks_sum),
                            static_cast<double>(c.host_blocks_sum));
  return s;
}

}  // namespace singleton::advise
