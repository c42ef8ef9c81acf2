// The VMM read trigger: /proc/PID/io parsed, an idle QEMU's 8-byte eventfd reads ignored, one
// 4 KiB block read counted.
#include "scrubber/watch/guest_io_counter.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace singleton {
namespace {

TEST(GuestIoCounter, ParsesProcPidIo) {
  const auto reads = parse_process_io(
      "rchar: 14524103\nwchar: 8590\nsyscr: 1091\nsyscw: 763\nread_bytes: 0\n");
  ASSERT_TRUE(reads);
  EXPECT_EQ(reads->bytes, 14524103u);
  EXPECT_EQ(reads->calls, 1091u);
  EXPECT_FALSE(parse_process_io("wchar: 1\n"));
}

// Figures measured on an idle TCG guest: +632 bytes in +79 calls over 5 s.
TEST(GuestIoCounter, IdleEventfdReadsAreNotGuestReads) {
  EXPECT_EQ(guest_read_bytes({14524103, 1091}, {14524735, 1170}), 0u);
}

TEST(GuestIoCounter, OneBlockAmongNoiseTriggers) {
  const uint64_t bytes = guest_read_bytes({1000, 10}, {1000 + 4096 + 160, 10 + 1 + 20});
  EXPECT_EQ(bytes, 4088u);
  EXPECT_GE(bytes, kGuestReadTriggerBytes);
}

TEST(GuestIoCounter, CountersGoingBackwardsCountNothing) {
  EXPECT_EQ(guest_read_bytes({5000, 10}, {4000, 12}), 0u);
}

TEST(GuestIoCounter, OwnProcessIsReadable) {
  const auto reads = read_process_reads(::getpid());
  ASSERT_TRUE(reads) << "/proc/self/io";
  EXPECT_GT(reads->calls, 0u);
  EXPECT_FALSE(read_process_reads(0x7ffffff0));
}

}  // namespace
}  // namespace singleton
