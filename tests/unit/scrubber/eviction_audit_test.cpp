// The eviction audit: what it refuses to write to, what one line says, and that
// the mincore backend records exactly the ranges it hands to posix_fadvise
// (never a dirty one).
#include "scrubber/pagecache/eviction_audit.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "scrubber/pagecache/mincore_page_cache_view.hpp"
#include "snapshot/base/error.hpp"
#include "tests/unit/finishes_within.hpp"
#include "tests/unit/scrubber/temp_file.hpp"
#include "tests/unit/temp_dir.hpp"

namespace singleton {
namespace {

using testing::TempDir;
using testing::TempFile;

std::vector<boost::json::object> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<boost::json::object> out;
  for (std::string line; std::getline(in, line);)
    out.push_back(boost::json::parse(line).as_object());
  return out;
}

ExitCode open_error(const std::string& path) {
  try {
    EvictionAudit audit(path);
  } catch (const Error& e) {
    return e.code();
  }
  return ExitCode::kDone;
}

TEST(EvictionAudit, RefusesSymlinksFifosAndDirectories) {
  TempDir dir;
  std::ofstream(dir / "target") << "precious\n";
  ASSERT_EQ(::symlink((dir / "target").c_str(), (dir / "link").c_str()), 0);
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(open_error(dir / "link"), ExitCode::kUsage);
  // And does not hang on the FIFO: an open for writing without O_NONBLOCK waits for a reader
  // forever. On a thread that must return within the hang guard; on a miss the test opens the
  // FIFO's other end to free it, and fails.
  ExitCode fifo = ExitCode::kDone;
  EXPECT_TRUE(testing::finishes_within(
      testing::kHangLimit, [&] { fifo = open_error(dir / "fifo"); },
      [&] { ::close(::open((dir / "fifo").c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC)); }))
      << "opening the FIFO blocked";
  EXPECT_EQ(fifo, ExitCode::kUsage);
  EXPECT_EQ(open_error(dir / ""), ExitCode::kUsage);
  EXPECT_EQ(open_error(dir / "missing-dir/audit"), ExitCode::kUsage);
  std::ifstream in(dir / "target");
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "precious") << "the symlink's target was written to";
}

TEST(EvictionAudit, OneLinePerRangeAppendedToWhatIsThere) {
  TempDir dir;
  TempFile temp(1 << 20);
  ReadOnlyFile file(temp.path());
  std::ofstream(dir / "audit") << "{\"earlier\":1}\n";
  {
    EvictionAudit audit(dir / "audit");
    audit.record(file, 16, 4, "fadvise");
    audit.record(file, 100, 512, "kmod_evict");
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir / "audit").c_str(), &st), 0);
  const auto lines = lines_of(dir / "audit");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(lines[0].contains("earlier"));
  EXPECT_EQ(lines[1].at("image").as_string(), temp.path());
  EXPECT_EQ(boost::json::value_to<uint64_t>(lines[1].at("first_page")), 16u);
  EXPECT_EQ(boost::json::value_to<uint64_t>(lines[1].at("pages")), 4u);
  EXPECT_EQ(lines[1].at("call").as_string(), "fadvise");
  EXPECT_EQ(lines[1].at("reason").as_string(), "double-cached");
  EXPECT_EQ(boost::json::value_to<uint64_t>(lines[1].at("ino")), file.inode());
  EXPECT_EQ(boost::json::value_to<uint64_t>(lines[2].at("pages")), 512u);
  EXPECT_EQ(lines[2].at("call").as_string(), "kmod_evict");
  EXPECT_GT(boost::json::value_to<double>(lines[2].at("time")), 1.7e9);
}

TEST(EvictionAudit, NewFileIsRootOnly) {
  TempDir dir;
  { EvictionAudit audit(dir / "audit"); }
  struct stat st {};
  ASSERT_EQ(::stat((dir / "audit").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// Every page the mincore backend evicts lies in an audited range; a dirty page
// is never handed to fadvise (so never audited), and the audited ranges are the
// requested ones, coalesced.
TEST(EvictionAudit, MincoreViewRecordsWhatItHandsToFadvise) {
  if (::geteuid() != 0) GTEST_FAIL() << "run as root: the mincore backend needs root";
  TempDir dir;
  TempFile temp(8 << 20);
  temp.read_all();
  {
    // Dirty page 105 (content unchanged).
    const int fd = ::open(temp.path().c_str(), O_RDWR | O_CLOEXEC);
    char buf[4096];
    ASSERT_EQ(::pread(fd, buf, sizeof buf, 105 * 4096), 4096);
    ASSERT_EQ(::pwrite(fd, buf, sizeof buf, 105 * 4096), 4096);
    ::close(fd);
  }
  ReadOnlyFile file(temp.path());
  MincorePageCacheView view;
  EvictionAudit audit(dir / "audit");
  view.set_audit(&audit);
  // Two adjacent ranges (coalesced into one call), one apart, and one holding
  // the dirty page.
  const std::vector<PageRange> ranges{{0, 32}, {32, 32}, {100, 16}, {256, 256}};
  const EvictResult result = view.evict(file, ranges);
  const auto lines = lines_of(dir / "audit");
  std::vector<std::pair<uint64_t, uint64_t>> audited;
  for (const auto& line : lines) {
    audited.emplace_back(boost::json::value_to<uint64_t>(line.at("first_page")),
                         boost::json::value_to<uint64_t>(line.at("pages")));
  }
  // The dirty range [100, 116) is never handed to the kernel: DONTNEED would
  // start its writeback.
  const std::vector<std::pair<uint64_t, uint64_t>> want{{0, 64}, {256, 256}};
  EXPECT_EQ(audited, want);
  EXPECT_GE(result.skipped[SkipReason::kDirty], 1u);
  // Pages outside the audited ranges were not evicted by the view.
  const int fd = ::open(temp.path().c_str(), O_RDONLY | O_CLOEXEC);
  uint64_t cached_outside = 0;
  void* map = ::mmap(nullptr, 8 << 20, PROT_READ, MAP_SHARED, fd, 0);
  std::vector<unsigned char> vec((8 << 20) / 4096);
  ::mincore(map, 8 << 20, vec.data());
  ::munmap(map, 8 << 20);
  ::close(fd);
  for (uint64_t p = 64; p < 100; ++p) cached_outside += vec[p] & 1;
  // Another evictor (DAMON, reclaim) may take a few in between; singleton takes
  // none: the pages it evicted are all in the audited ranges, so [64, 100) is
  // still cached.
  EXPECT_GT(cached_outside, 0u);
  EXPECT_TRUE(vec[105] & 1) << "the dirty page was evicted";
}

}  // namespace
}  // namespace singleton
