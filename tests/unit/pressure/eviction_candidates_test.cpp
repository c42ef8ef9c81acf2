// Which kept duplicates are looked at first under pressure: --evict-order newest | oldest, by
// the time each page was placed; a page placed again moves; taken pages leave.
#include "scrubber/pass/eviction_candidates.hpp"

#include <gtest/gtest.h>

namespace singleton {
namespace {

std::vector<std::pair<size_t, uint64_t>> flat(const PendingPages& pages) {
  std::vector<std::pair<size_t, uint64_t>> out;
  for (const auto& [image, set] : pages) {
    for (uint64_t page : set) out.emplace_back(image, page);
  }
  return out;
}

using Pages = std::vector<std::pair<size_t, uint64_t>>;

EvictionCandidates three() {
  EvictionCandidates c;
  c.add(0, 10, 100);  // oldest
  c.add(1, 5, 300);   // newest
  c.add(0, 20, 200);
  return c;
}

TEST(EvictionCandidates, NewestFirst) {
  EvictionCandidates c = three();
  EXPECT_EQ(flat(c.take(EvictOrder::kNewest, 1)), (Pages{{1, 5}}));
  EXPECT_EQ(flat(c.take(EvictOrder::kNewest, 1)), (Pages{{0, 20}}));
  EXPECT_EQ(c.size(), 1u);
}

TEST(EvictionCandidates, OldestFirst) {
  EvictionCandidates c = three();
  EXPECT_EQ(flat(c.take(EvictOrder::kOldest, 2)), (Pages{{0, 10}, {0, 20}}));
  EXPECT_EQ(flat(c.take(EvictOrder::kOldest, 5)), (Pages{{1, 5}}));
  EXPECT_EQ(c.size(), 0u);
  EXPECT_TRUE(c.take(EvictOrder::kOldest, 5).empty());
}

TEST(EvictionCandidates, APagePlacedAgainMovesToItsNewTime) {
  EvictionCandidates c = three();
  c.add(0, 10, 400);  // read again: now the newest
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(flat(c.take(EvictOrder::kNewest, 1)), (Pages{{0, 10}}));
  EXPECT_EQ(flat(c.take(EvictOrder::kOldest, 1)), (Pages{{0, 20}}));
}

TEST(EvictionCandidates, EqualTimesAreAllKept) {
  EvictionCandidates c;
  for (uint64_t page = 0; page < 100; ++page) c.add(3, page, 7);
  EXPECT_EQ(c.size(), 100u);
  EXPECT_EQ(flat(c.take(EvictOrder::kNewest, 1000)).size(), 100u);
  c.add(3, 1, 7);
  c.clear();
  EXPECT_EQ(c.size(), 0u);
}

}  // namespace
}  // namespace singleton
