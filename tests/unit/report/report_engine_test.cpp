// run_report on a disk whose qcow2 chain is cut above a missing backing file: an error of the
// image that names it (exit 1), the disk never explained (no appliance on a chain that would
// read as zeros where the missing file is), a whole disk beside it reported as usual.
#include "scrubber/report/report_engine.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "scrubber/pagecache/page_cache_view.hpp"
#include "tests/unit/memory_holder_process.hpp"
#include "tests/unit/temp_dir.hpp"

namespace singleton {
namespace {

void run(const std::string& command) { ASSERT_EQ(std::system(command.c_str()), 0) << command; }

const ImageFigures* figures_of(const Report& report, const std::string& path) {
  for (const ImageFigures& image : report.images)
    if (image.path == path) return &image;
  return nullptr;
}

VmDisk disk(const std::string& path, const std::string& format) {
  VmDisk d;
  d.path = path;
  d.format = format;
  d.cache = CacheMode::kWriteback;
  return d;
}

struct CutChain : ::testing::Test {
  void SetUp() override {
    run("qemu-img create -q -f raw " + dir / "base.raw" + " 8M");
    run("qemu-img create -q -f qcow2 -F raw -b base.raw " + dir / "overlay.qcow2");  // relative
    run("qemu-img create -q -f raw " + dir / "good.raw" + " 8M");
    run("cat " + dir / "overlay.qcow2" + " " + dir / "good.raw" + " > /dev/null");
    ASSERT_EQ(::unlink((dir / "base.raw").c_str()), 0);
  }
  Vm vm() const {
    Vm v;
    v.name = "vm";
    v.pid = holder.pid();
    return v;
  }
  Report report(const Vm& v, bool explain) {
    ChosenView view = make_page_cache_view(BackendChoice::kMincore);
    ReportOptions options;
    options.explain = explain;
    return run_report(*view.view, {v}, options);
  }
  testing::TempDir dir{"report-test"};
  testing::MemoryHolderProcess holder{{.pages = 16}};
};

// Discovery cut the chain (VmDisk::backing_missing): that reason is the overlay's error.
TEST_F(CutChain, TheImageWhoseBackingFileIsMissingHasTheErrorAndTheRestIsDone) {
  Vm v = vm();
  VmDisk overlay = disk(dir / "overlay.qcow2", "qcow2");
  struct stat st {};
  ASSERT_EQ(::stat(overlay.path.c_str(), &st), 0);
  overlay.held = {FileId{st.st_dev, st.st_ino}};  // as discovery leaves it: checked
  overlay.backing_missing = "backing file " + dir / "base.raw" + " missing: No such file or directory";
  v.disks = {overlay, disk(dir / "good.raw", "raw")};
  const Report r = report(v, false);
  const ImageFigures* top = figures_of(r, dir / "overlay.qcow2");
  const ImageFigures* good = figures_of(r, dir / "good.raw");
  ASSERT_NE(top, nullptr);
  ASSERT_NE(good, nullptr);
  EXPECT_NE(top->error.find("backing file " + dir / "base.raw" + " missing"), std::string::npos)
      << top->error;
  EXPECT_EQ(top->format, "qcow2");
  EXPECT_EQ(good->error, "");
  EXPECT_EQ(r.exit_code(), ExitCode::kPartial);

  v.disks = {overlay};
  const Report explained = report(v, true);
  top = figures_of(explained, dir / "overlay.qcow2");
  ASSERT_NE(top, nullptr);
  ASSERT_TRUE(top->explanation);
  EXPECT_NE(top->explanation->error.find("cut"), std::string::npos) << top->explanation->error;
  EXPECT_NE(top->explanation->error.find("base.raw missing"), std::string::npos);
  ASSERT_TRUE(explained.explain);
  EXPECT_EQ(explained.explain->appliance_seconds, 0.0) << "an appliance ran on a cut chain";
  EXPECT_EQ(explained.explain->backend, "");
}

// A chain no discovery checked (a Vm built by hand): the overlay's own header names base.raw,
// which is not in the chain.
TEST_F(CutChain, AnUncheckedChainIsCutWhereAQcow2HeaderNamesABackingFileNotInIt) {
  Vm v = vm();
  v.disks = {disk(dir / "overlay.qcow2", "qcow2")};
  const Report r = report(v, true);
  const ImageFigures* top = figures_of(r, dir / "overlay.qcow2");
  ASSERT_NE(top, nullptr);
  EXPECT_NE(top->error.find("names backing file base.raw"), std::string::npos) << top->error;
  ASSERT_TRUE(top->explanation);
  EXPECT_NE(top->explanation->error.find("cut"), std::string::npos) << top->explanation->error;
  EXPECT_EQ(r.explain->appliance_seconds, 0.0);
  EXPECT_EQ(r.exit_code(), ExitCode::kPartial);
}

}  // namespace
}  // namespace singleton
