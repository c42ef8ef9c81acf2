// The Prometheus text of pass reports: figures per image and VM, counters summed over passes,
// counters carried over from an earlier textfile, and `promtool check metrics` on the output.
#include "scrubber/metrics/scrub_metrics.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include "tests/unit/promtool_check.hpp"

namespace singleton {
namespace {

PassReport report_with(const std::string& image, uint64_t before, uint64_t doubled,
                       uint64_t evicted, uint64_t dirty) {
  PassReport report;
  report.dry_run = false;
  ImageReport out;
  out.path = image;
  out.counts.cached_pages_before = before;
  out.counts.double_cached_pages = doubled;
  out.counts.evicted_pages = evicted;
  out.counts.skipped[SkipReason::kDirty] = dirty;
  out.counts.partial_folio_pages = 3;
  out.counts.cached_pages_after = before - evicted;
  report.totals += out.counts;
  report.images.push_back(out);
  report.vms.push_back(VmReport{"web-1", 42, 1000, 0.5, ""});
  report.duration_seconds = 1.25;
  report.snapshot_seconds = 0.5;
  return report;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

using testing::promtool_check;

TEST(ScrubMetrics, PerImageFiguresAndTotalsAfterTwoPasses) {
  ScrubMetrics metrics;
  metrics.add_pass(report_with("/var/lib/a.img", 100, 80, 70, 2), 1700000000);
  metrics.add_pass(report_with("/var/lib/a.img", 50, 40, 30, 1), 1700000010);
  const std::string text = metrics.prometheus_text();
  EXPECT_TRUE(has_line(text, "singleton_image_cached_bytes{image=\"/var/lib/a.img\"} 81920"))
      << text;
  EXPECT_TRUE(
      has_line(text, "singleton_image_double_cached_bytes{image=\"/var/lib/a.img\"} 163840"));
  EXPECT_TRUE(
      has_line(text, "singleton_image_evicted_bytes_total{image=\"/var/lib/a.img\"} 409600"));
  EXPECT_TRUE(has_line(text, "singleton_evicted_bytes_total 409600"));
  EXPECT_TRUE(has_line(text, "singleton_skipped_pages_total{reason=\"dirty\"} 3"));
  EXPECT_TRUE(has_line(text, "singleton_skipped_pages_total{reason=\"partial_folio\"} 6"));
  EXPECT_TRUE(has_line(text, "singleton_skipped_pages_total{reason=\"limit\"} 0"));
  EXPECT_TRUE(has_line(text, "singleton_passes_total{result=\"done\"} 2"));
  EXPECT_TRUE(has_line(text, "singleton_passes_total{result=\"failed\"} 0"));
  EXPECT_TRUE(has_line(text, "singleton_pass_duration_seconds 1.25"));
  EXPECT_TRUE(has_line(text, "singleton_vm_indexed_pages{vm=\"web-1\"} 1000"));
  EXPECT_EQ(text.find("singleton_watch_cpu_seconds_total"), std::string::npos)
      << "watch figures only once set";
}

TEST(ScrubMetrics, PartialPassIsCountedAsPartial) {
  ScrubMetrics metrics;
  PassReport report = report_with("/a", 10, 0, 0, 0);
  report.images[0].error = "gone";
  metrics.add_pass(report, 1);
  metrics.add_failed_pass(2);
  const std::string text = metrics.prometheus_text();
  EXPECT_TRUE(has_line(text, "singleton_passes_total{result=\"partial\"} 1"));
  EXPECT_TRUE(has_line(text, "singleton_passes_total{result=\"failed\"} 1"));
}

TEST(ScrubMetrics, DryRunEvictsNothingInTheCounters) {
  ScrubMetrics metrics;
  PassReport report = report_with("/a", 10, 10, 10, 0);
  report.dry_run = true;
  metrics.add_pass(report, 1);
  EXPECT_EQ(metrics.evicted_bytes_total(), 0u);
}

TEST(ScrubMetrics, LabelValuesAreEscaped) {
  EXPECT_EQ(prometheus_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  ScrubMetrics metrics;
  metrics.add_pass(report_with("/odd \"name\"\\.img", 10, 5, 5, 0), 1);
  const auto [rc, out] = promtool_check(metrics.prometheus_text());
  EXPECT_EQ(rc, 0) << out;
}

TEST(ScrubMetrics, CountersCarryOverFromAnEarlierTextfile) {
  ScrubMetrics first;
  first.add_pass(report_with("/q \"x\".img", 100, 80, 70, 2), 1);
  ScrubMetrics second;
  second.resume_counters_from(first.prometheus_text());
  second.add_pass(report_with("/q \"x\".img", 50, 40, 30, 1), 2);
  const std::string text = second.prometheus_text();
  EXPECT_TRUE(has_line(text, "singleton_evicted_bytes_total 409600")) << text;
  EXPECT_TRUE(has_line(text, "singleton_passes_total{result=\"done\"} 2"));
  EXPECT_TRUE(has_line(text, "singleton_skipped_pages_total{reason=\"dirty\"} 3"));
  EXPECT_TRUE(
      has_line(text, "singleton_image_evicted_bytes_total{image=\"/q \\\"x\\\".img\"} 409600"));
}

TEST(ScrubMetrics, ForgottenVmAndImageSeriesEnd) {
  ScrubMetrics metrics;
  metrics.add_pass(report_with("/a", 10, 5, 5, 0), 1);
  metrics.forget_absent({}, {});
  const std::string text = metrics.prometheus_text();
  EXPECT_EQ(text.find("image=\"/a\""), std::string::npos);
  EXPECT_EQ(text.find("vm=\"web-1\""), std::string::npos);
  EXPECT_TRUE(has_line(text, "singleton_evicted_bytes_total 20480")) << "totals stay";
}

TEST(ScrubMetrics, PromtoolAcceptsTheWholeOutput) {
  ScrubMetrics metrics;
  metrics.add_pass(report_with("/var/lib/libvirt/images/a.qcow2", 100, 80, 70, 2), 1700000000);
  metrics.add_pass(report_with("/var/lib/libvirt/images/b.img", 10, 8, 7, 0), 1700000001);
  metrics.set_watch_state(12.5, 10, 1, 2.5, 1 << 30);
  metrics.set_policy_state({true, 3, uint64_t{5} << 20, 1234});
  const std::string text = metrics.prometheus_text();
  EXPECT_TRUE(has_line(text, "singleton_memory_needed 1")) << text;
  EXPECT_TRUE(has_line(text, "singleton_pressure_steps_total 3")) << text;
  EXPECT_TRUE(has_line(text, "singleton_pressure_cgroup_headroom_bytes 5242880")) << text;
  EXPECT_TRUE(has_line(text, "singleton_kept_duplicate_candidate_pages 1234")) << text;
  const auto [rc, out] = promtool_check(metrics.prometheus_text());
  ASSERT_NE(rc, 127) << "promtool missing: install the Debian package prometheus "
                        "(tests/install-deps)";
  EXPECT_EQ(rc, 0) << out << "\n" << metrics.prometheus_text();
  EXPECT_EQ(out, "") << "promtool has lint remarks";
}

}  // namespace
}  // namespace singleton
