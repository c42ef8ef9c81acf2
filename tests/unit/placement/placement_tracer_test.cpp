// The BPF placement tracer on this host's kernel (root and kernel BTF: label host-only, never run
// inside the unit-test guests). This process follows itself and does known pread64, preadv,
// preadv2 and pwrite64 into known buffers: the records carry the exact fd, offsets, byte counts,
// file identity and iovecs; a child not followed produces none; more iovecs than the cap are
// flagged truncated; a bogus BTF path is TracerUnavailable.
#include "scrubber/placement/placement_tracer.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/types.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <cstdlib>
#include <string>
#include <vector>

#include "scrubber/placement/placement_record.h"
#include "tests/unit/temp_dir.hpp"

namespace singleton {
namespace {

constexpr size_t kFileBytes = 256 * 1024;

class PlacementTracerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_BPF, CAP_PERFMON)";
    path_ = dir_ / "image";
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT, 0600);
    ASSERT_GE(fd_, 0);
    std::vector<char> bytes(kFileBytes);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + 1);
    ASSERT_EQ(::pwrite(fd_, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(kFileBytes));
    ::fstat(fd_, &st_);
    buffer_ = static_cast<char*>(std::aligned_alloc(4096, kFileBytes));
    tracer_ = std::make_unique<PlacementTracer>();
  }
  void TearDown() override {
    tracer_.reset();
    if (fd_ >= 0) ::close(fd_);
    std::free(buffer_);
  }
  // The records of this test's file descriptor seen within a second (the ring buffer is
  // asynchronous only in when we read it: the records exist when the syscall returns).
  std::vector<PlacementRecord> records_of(int fd, size_t want) {
    std::vector<PlacementRecord> got;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < end && got.size() < want) {
      tracer_->poll(100, [&](const PlacementRecord& r) {
        if (r.fd == fd) got.push_back(r);
      });
    }
    tracer_->poll(0, [&](const PlacementRecord& r) {
      if (r.fd == fd) got.push_back(r);
    });
    return got;
  }
  void expect_this_file(const PlacementRecord& r) {
    EXPECT_EQ(r.pid, ::getpid());
    EXPECT_EQ(r.fd, fd_);
    EXPECT_EQ(r.dev, static_cast<uint64_t>(st_.st_dev));
    EXPECT_EQ(r.ino, static_cast<uint64_t>(st_.st_ino));
  }
  uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }

  testing::TempDir dir_{"sg-placement"};
  std::string path_;
  int fd_ = -1;
  struct stat st_ {};
  char* buffer_ = nullptr;
  std::unique_ptr<PlacementTracer> tracer_;
};

TEST_F(PlacementTracerTest, Pread64RecordIsExact) {
  tracer_->follow(::getpid());
  ASSERT_EQ(::pread(fd_, buffer_ + 8192, 12288, 65536), 12288);
  const auto got = records_of(fd_, 1);
  ASSERT_EQ(got.size(), 1u);
  const PlacementRecord& r = got[0];
  expect_this_file(r);
  EXPECT_EQ(r.syscall, 17u);
  EXPECT_EQ(r.op, PlacementOp::kRead);
  EXPECT_EQ(r.offset, 65536u);
  EXPECT_EQ(r.bytes, 12288);
  EXPECT_FALSE(r.truncated);
  ASSERT_EQ(r.iovs.size(), 1u);
  EXPECT_EQ(r.iovs[0].base, addr(buffer_ + 8192));
  EXPECT_EQ(r.iovs[0].len, 12288u);
}

TEST_F(PlacementTracerTest, PreadvAndPreadv2RecordsCarryEveryIovec) {
  tracer_->follow(::getpid());
  iovec iov[3] = {{buffer_ + 4096, 4096}, {buffer_ + 65536, 8192}, {buffer_ + 20480, 4096}};
  ASSERT_EQ(::preadv(fd_, iov, 3, 131072), 16384);
  ASSERT_EQ(::preadv2(fd_, iov, 2, 4096, 0), 12288);
  ASSERT_EQ(::preadv2(fd_, iov, 1, -1, 0), 4096);  // the file position: no offset, dropped
  const auto got = records_of(fd_, 2);
  ASSERT_EQ(got.size(), 2u);
  for (const auto& r : got) expect_this_file(r);
  EXPECT_EQ(got[0].syscall, 295u);
  EXPECT_EQ(got[0].offset, 131072u);
  EXPECT_EQ(got[0].bytes, 16384);
  ASSERT_EQ(got[0].iovs.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(got[0].iovs[i].base, addr(iov[i].iov_base));
    EXPECT_EQ(got[0].iovs[i].len, iov[i].iov_len);
  }
  EXPECT_EQ(got[1].syscall, 327u);
  EXPECT_EQ(got[1].offset, 4096u);
  EXPECT_EQ(got[1].iovs.size(), 2u);
  EXPECT_GE(tracer_->drops().no_offset, 1u);
}

TEST_F(PlacementTracerTest, WritesAreRecordedAsWrites) {
  tracer_->follow(::getpid());
  ASSERT_EQ(::pwrite(fd_, buffer_, 4096, 8192), 4096);
  const auto got = records_of(fd_, 1);
  ASSERT_EQ(got.size(), 1u);
  expect_this_file(got[0]);
  EXPECT_EQ(got[0].op, PlacementOp::kWrite);
  EXPECT_EQ(got[0].syscall, 18u);
  EXPECT_EQ(got[0].offset, 8192u);
  EXPECT_EQ(got[0].iovs.at(0).base, addr(buffer_));
}

TEST_F(PlacementTracerTest, MoreIovecsThanTheCapAreFlaggedTruncated) {
  tracer_->follow(::getpid());
  constexpr size_t kIovs = PLACEMENT_MAX_IOVS + 6;
  std::vector<iovec> iov(kIovs);
  for (size_t i = 0; i < iov.size(); ++i) iov[i] = {buffer_ + i * 2048, 2048};
  ASSERT_EQ(::preadv(fd_, iov.data(), kIovs, 0), static_cast<ssize_t>(kIovs * 2048));
  const auto got = records_of(fd_, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].truncated);
  EXPECT_EQ(got[0].iov_total, kIovs);
  ASSERT_EQ(got[0].iovs.size(), static_cast<size_t>(PLACEMENT_MAX_IOVS));
  for (size_t i = 0; i < got[0].iovs.size(); ++i) {
    EXPECT_EQ(got[0].iovs[i].base, addr(iov[i].iov_base));
    EXPECT_EQ(got[0].iovs[i].len, 2048u);
  }
  EXPECT_EQ(got[0].bytes, static_cast<int64_t>(kIovs * 2048));
}

TEST_F(PlacementTracerTest, ProcessesNotFollowedProduceNoRecords) {
  // Not following this process: nothing. Then a child, not followed, while this one is.
  ASSERT_EQ(::pread(fd_, buffer_, 4096, 0), 4096);
  EXPECT_TRUE(records_of(fd_, 1).empty());
  tracer_->follow(::getpid());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    char b[4096];
    for (int i = 0; i < 10; ++i) (void)!::pread(fd_, b, sizeof b, i * 4096);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_EQ(::pread(fd_, buffer_, 4096, 4096), 4096);  // ours: exactly one record
  const auto got = records_of(fd_, 2);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].pid, ::getpid());
  EXPECT_EQ(got[0].offset, 4096u);
  tracer_->unfollow(::getpid());
  ASSERT_EQ(::pread(fd_, buffer_, 4096, 0), 4096);
  EXPECT_TRUE(records_of(fd_, 1).empty());
}

TEST(PlacementTracerUnavailable, BogusBtfPathIsTracerUnavailableWithItsReason) {
  try {
    PlacementTracer tracer("/nonexistent/vmlinux");
    FAIL() << "loaded without BTF";
  } catch (const TracerUnavailable& e) {
    EXPECT_EQ(e.code(), ExitCode::kEnvironment);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/vmlinux"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace singleton
