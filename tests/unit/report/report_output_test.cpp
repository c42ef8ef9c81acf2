// The report's JSON schema and its Prometheus text (checked by promtool).
#include "scrubber/report/report_output.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "snapshot/memory/compression_sample.hpp"
#include "tests/unit/promtool_check.hpp"

namespace singleton {
namespace {

int64_t num(const boost::json::value& v) { return boost::json::value_to<int64_t>(v); }

Report sample_report(bool explain) {
  Report r;
  r.backend = "mincore";
  r.shared_policy = "all";
  VmFigures vm;
  vm.name = "web \"1\"";
  vm.pid = 42;
  vm.ram_bytes = 1 << 30;
  vm.resident_pages = 1000;
  vm.zero_pages = 100;
  vm.image_block_pages = 300;
  vm.sample_every = 100;
  vm.sample_pages = 10;
  vm.compression_ratio = 2.5;
  r.vms.push_back(vm);
  vm.name = "db";
  vm.image_block_pages.reset();
  vm.error = "VM db (pid 43): the process exited";
  r.vms.push_back(vm);
  ImageFigures image;
  image.path = "/images/web.img";
  image.format = "raw";
  image.vms = {"web \"1\""};
  image.cached_pages = 500;
  image.double_cached_pages = 400;
  image.host_only_pages = 100;
  if (explain) {
    ImageExplanation e;
    e.disk = image.path;
    e.files.push_back({"/data/a.bin", "/dev/sda", 400 * 4096, 0});
    e.other.push_back({"(free space)", "/dev/sda", 0, 100 * 4096});
    image.explanation = e;
    r.explain = ExplainRun{12.5, 14.0, 500 * 4096, "direct", {"a note"}};
  }
  r.images.push_back(image);
  image.path = "/images/bad.img";
  image.error = "cannot open";
  image.explanation.reset();
  r.images.push_back(image);
  return r;
}

TEST(ReportJson, VmsImagesAndFilesUnderExplain) {
  const auto doc = report_json(sample_report(true));
  const auto& vms = doc.at("vms").as_array();
  ASSERT_EQ(vms.size(), 2u);
  EXPECT_EQ(num(vms[0].at("image_block_pages")), 300);
  EXPECT_TRUE(vms[1].at("image_block_pages").is_null());
  EXPECT_EQ(num(vms[0].at("compression").at("sample_every")), 100);
  const auto& images = doc.at("images").as_array();
  const auto& files = images[0].at("files").as_array();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].at("path").as_string(), "/data/a.bin");
  EXPECT_EQ(num(files[0].at("double_cached_bytes")), 400 * 4096);
  EXPECT_EQ(num(files[0].at("host_only_bytes")), 0);
  EXPECT_EQ(images[0].at("not_file_data").as_array().at(0).at("path").as_string(), "(free space)");
  EXPECT_FALSE(images[1].as_object().contains("files"));
  EXPECT_EQ(images[1].at("error").as_string(), "cannot open");
  EXPECT_EQ(doc.at("explain").at("appliance_s").as_double(), 12.5);
  EXPECT_TRUE(report_json(sample_report(false)).at("explain").is_null());
}

TEST(ReportExitCode, AnyFailedVmImageOrExplanationIsDoneInPart) {
  Report r = sample_report(false);
  EXPECT_EQ(r.exit_code(), ExitCode::kPartial);
  r.vms.pop_back();
  r.images.pop_back();
  EXPECT_EQ(r.exit_code(), ExitCode::kDone);
  r.images[0].explanation.emplace().error = "libguestfs: launch failed";
  EXPECT_EQ(r.exit_code(), ExitCode::kPartial);
}

TEST(ReportPrometheus, PromtoolAcceptsItWithAndWithoutExplain) {
  for (bool explain : {false, true}) {
    const std::string text = report_prometheus(sample_report(explain));
    const auto [status, out] = testing::promtool_check(text);
    EXPECT_EQ(status, 0) << out << text;
    EXPECT_NE(text.find("singleton_report_vm_zero_bytes{vm=\"web \\\"1\\\"\"} 409600"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("singleton_report_file_double_cached_bytes") != std::string::npos,
              explain);
  }
}

TEST(CompressionSample, ZerosCompressAndRandomBytesDoNot) {
  CompressionSample zeros(2);
  std::vector<std::byte> page(4096);
  for (int i = 0; i < 10; ++i) zeros.offer(page.data());
  EXPECT_EQ(zeros.sampled_pages(), 5u);  // one in two
  EXPECT_GT(zeros.ratio(), 50.0);
  CompressionSample noise(1);
  uint64_t x = 88172645463325252ull;
  for (auto& b : page) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    b = static_cast<std::byte>(x);
  }
  noise.offer(page.data());
  EXPECT_NEAR(noise.ratio(), 1.0, 0.01);  // stored, never counted above a page
}

}  // namespace
}  // namespace singleton
