// Decoding the BPF program's ring-buffer record (struct placement_record): every field, and the
// records refused rather than guessed (wrong size, impossible counts, a truncation flag that
// disagrees with the counts).
#include <gtest/gtest.h>
#include <linux/types.h>

#include <cstring>

#include "scrubber/placement/placement_record.h"
#include "scrubber/placement/placement_tracer.hpp"

namespace singleton {
namespace {

placement_record sample() {
  placement_record r;
  std::memset(&r, 0, sizeof r);
  r.time_ns = 123456789;
  r.pid = 4242;
  r.tid = 4250;
  r.fd = 17;
  r.op = PLACEMENT_OP_READ;
  r.offset = 1 << 20;
  r.bytes = 8192;
  r.dev = 0x803;
  r.ino = 99;
  r.nr = 295;
  r.iov_count = 2;
  r.iov_total = 2;
  r.iov[0] = {0x7f0000001000, 4096};
  r.iov[1] = {0x7f0000009000, 4096};
  return r;
}

TEST(PlacementRecord, DecodesEveryField) {
  const placement_record raw = sample();
  const auto r = decode_record(&raw, sizeof raw);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->time_ns, 123456789u);
  EXPECT_EQ(r->pid, 4242);
  EXPECT_EQ(r->tid, 4250);
  EXPECT_EQ(r->fd, 17);
  EXPECT_EQ(r->op, PlacementOp::kRead);
  EXPECT_EQ(r->offset, 1u << 20);
  EXPECT_EQ(r->bytes, 8192);
  EXPECT_EQ(r->dev, 0x803u);
  EXPECT_EQ(r->ino, 99u);
  EXPECT_EQ(r->syscall, 295u);
  EXPECT_FALSE(r->truncated);
  ASSERT_EQ(r->iovs.size(), 2u);
  EXPECT_EQ(r->iovs[1].base, 0x7f0000009000u);
  EXPECT_EQ(r->iovs[1].len, 4096u);
}

TEST(PlacementRecord, DecodesWritesAndTruncatedRecords) {
  placement_record raw = sample();
  raw.op = PLACEMENT_OP_WRITE;
  raw.iov_total = 40;
  raw.flags = PLACEMENT_TRUNCATED;
  const auto r = decode_record(&raw, sizeof raw);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->op, PlacementOp::kWrite);
  EXPECT_TRUE(r->truncated);
  EXPECT_EQ(r->iov_total, 40u);
  EXPECT_EQ(r->iovs.size(), 2u);
}

TEST(PlacementRecord, RefusesWhatItCannotTrust) {
  placement_record raw = sample();
  EXPECT_FALSE(decode_record(&raw, sizeof raw - 1));
  EXPECT_FALSE(decode_record(nullptr, sizeof raw));
  raw.iov_count = PLACEMENT_MAX_IOVS + 1;
  raw.iov_total = PLACEMENT_MAX_IOVS + 1;
  EXPECT_FALSE(decode_record(&raw, sizeof raw));
  raw = sample();
  raw.iov_total = 5;  // more iovecs than kept, but not flagged truncated
  EXPECT_FALSE(decode_record(&raw, sizeof raw));
  raw = sample();
  raw.flags = PLACEMENT_TRUNCATED;  // flagged, but every iovec is there
  EXPECT_FALSE(decode_record(&raw, sizeof raw));
  raw = sample();
  raw.bytes = 0;
  EXPECT_FALSE(decode_record(&raw, sizeof raw));
  raw = sample();
  raw.op = 7;
  EXPECT_FALSE(decode_record(&raw, sizeof raw));
  raw = sample();
  raw.iov_count = 0;
  EXPECT_FALSE(decode_record(&raw, sizeof raw));
}

}  // namespace
}  // namespace singleton
