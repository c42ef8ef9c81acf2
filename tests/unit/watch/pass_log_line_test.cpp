// The one line per pass: its figures in MiB, and failures counted.
#include "scrubber/watch/pass_log_line.hpp"

#include <gtest/gtest.h>

namespace singleton {
namespace {

TEST(PassLogLine, SaysWhatThePassFoundAndDid) {
  PassReport report;
  report.dry_run = false;
  report.vms.push_back(VmReport{"web-1", 42, 30465, 0.08, ""});
  report.images.resize(3);
  report.totals.cached_pages_before = 25523;  // 99.7 MiB
  report.totals.double_cached_pages = 8038;   // 31.4 MiB
  report.totals.evicted_pages = 8038;
  report.snapshot_seconds = 0.08;
  report.duration_seconds = 0.12;
  EXPECT_EQ(pass_log_line(4, "cache", report),
            "pass 4 (cache): 1 VM indexed 30465 pages in 0.08 s; 3 images: cached 99.7 MiB, "
            "double-cached 31.4 MiB, evicted 31.4 MiB, skipped 0.0 MiB, partial folios 0.0 MiB; "
            "0.12 s");
}

TEST(PassLogLine, CountsFailures) {
  PassReport report;
  report.vms.push_back(VmReport{"a", 1, 0, 0, "VM a: gone"});
  report.images.push_back(ImageReport{});
  report.images.back().error = "not scrubbed";
  const std::string line = pass_log_line(1, "io", report);
  EXPECT_NE(line.find("; 2 failed (see below)"), std::string::npos) << line;
  EXPECT_NE(line.find("would evict"), std::string::npos) << "a dry run says so";
}

}  // namespace
}  // namespace singleton
