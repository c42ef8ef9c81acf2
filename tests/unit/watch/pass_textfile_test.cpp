// Passes added to a textfile one process after another (cron, timers): counters add up, gauges
// are the last pass's, and promtool accepts the file.
#include "scrubber/metrics/pass_textfile.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "scrubber/metrics/textfile.hpp"

namespace singleton {
namespace {

PassReport pass(uint64_t cached, uint64_t evicted) {
  PassReport report;
  report.dry_run = false;
  ImageReport image;
  image.path = "/var/lib/libvirt/images/a.img";
  image.counts.cached_pages_before = cached;
  image.counts.double_cached_pages = evicted;
  image.counts.evicted_pages = evicted;
  image.counts.cached_pages_after = cached - evicted;
  report.totals += image.counts;
  report.images.push_back(image);
  return report;
}

TEST(PassTextfile, CountersAddUpAcrossRuns) {
  const std::string path = "/tmp/singleton-pass-textfile-" + std::to_string(::getpid()) + ".prom";
  std::filesystem::remove(path);
  add_pass_to_textfile(path, pass(100, 60));
  add_pass_to_textfile(path, pass(50, 10));
  const std::string text = read_file_if_exists(path);
  EXPECT_NE(text.find("\nsingleton_evicted_bytes_total 286720\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nsingleton_passes_total{result=\"done\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("singleton_image_cached_bytes{image=\"/var/lib/libvirt/images/a.img\"} "
                      "163840\n"),
            std::string::npos);
  FILE* pipe = ::popen(("promtool check metrics < " + path + " 2>&1").c_str(), "r");
  char buf[512] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, pipe);
  const int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << std::string(buf, n);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace singleton
