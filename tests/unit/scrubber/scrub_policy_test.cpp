#include "scrubber/pass/scrub_policy.hpp"

#include <gtest/gtest.h>

#include "scrubber/pass/eviction_plan.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

TEST(ScrubPolicy, AllNeedsEveryAttachedVmAnyNeedsOne) {
  const PageIndex a({1, 2, 3});
  const PageIndex b({2, 3, 4});
  const PageIndex* both[] = {&a, &b};
  const ScrubPolicy all(SharedPolicy::kAll);
  const ScrubPolicy any(SharedPolicy::kAny);
  EXPECT_FALSE(all.held(1, both));
  EXPECT_TRUE(all.held(2, both));
  EXPECT_TRUE(any.held(1, both));
  EXPECT_TRUE(any.held(4, both));
  EXPECT_FALSE(any.held(5, both));
  EXPECT_FALSE(all.held(2, {}));
  EXPECT_FALSE(any.held(2, {}));
}

TEST(ScrubPolicy, ParsesItsNamesAndRejectsOthers) {
  EXPECT_EQ(shared_policy_from_string("all"), SharedPolicy::kAll);
  EXPECT_EQ(shared_policy_from_string("any"), SharedPolicy::kAny);
  try {
    shared_policy_from_string("most");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
  }
}

// A folio of `n` pages at `first`, page i hashed to hashes[i].
std::vector<CachedPage> folio(uint64_t first, std::vector<uint64_t> hashes, uint32_t flags = 0) {
  std::vector<CachedPage> pages;
  for (size_t i = 0; i < hashes.size(); ++i) {
    pages.push_back({first + i, first, static_cast<uint32_t>(hashes.size()),
                     flags | kPageHashed | kPageUptodate, hashes[i]});
  }
  return pages;
}

std::vector<CachedPage> concat(std::initializer_list<std::vector<CachedPage>> parts) {
  std::vector<CachedPage> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

TEST(EvictionPlan, EvictsOnlyFoliosWhosePagesAreAllHeld) {
  const PageIndex guest({10, 11, 12, 13, 20, 21, 30});
  const PageIndex* holders[] = {&guest};
  const auto pages = concat({folio(0, {10, 11, 12, 13}),  // all held: evict
                             folio(4, {20, 21, 99, 98}),  // half held: partial
                             folio(8, {30}),              // single page held: evict
                             folio(9, {97})});            // none held
  uint64_t budget = UINT64_MAX;
  EvictionPlan plan;
  plan_batch(pages, ScrubPolicy(SharedPolicy::kAll), holders, budget, plan);
  ASSERT_EQ(plan.folios.size(), 2u);
  EXPECT_EQ(plan.folios[0].first, 0u);
  EXPECT_EQ(plan.folios[0].count, 4u);
  EXPECT_EQ(plan.folios[1].first, 8u);
  EXPECT_EQ(plan.pages, 5u);
  EXPECT_EQ(plan.counts.scanned_pages, 10u);
  EXPECT_EQ(plan.counts.double_cached_pages, 7u);
  EXPECT_EQ(plan.counts.partial_folio_pages, 2u);
  EXPECT_EQ(plan.counts.skipped.total(), 0u);
}

TEST(EvictionPlan, NeverEvictsDirtyWritebackMappedOrLockedFolios) {
  const PageIndex guest({1, 2, 3, 4, 5, 6, 7, 8});
  const PageIndex* holders[] = {&guest};
  const auto pages =
      concat({folio(0, {1, 2}, kPageDirty), folio(2, {3, 4}, kPageWriteback),
              folio(4, {5, 6}, kPageMapped), folio(6, {7}, kPageLocked), folio(7, {8})});
  uint64_t budget = UINT64_MAX;
  EvictionPlan plan;
  plan_batch(pages, ScrubPolicy(SharedPolicy::kAll), holders, budget, plan);
  ASSERT_EQ(plan.folios.size(), 1u);
  EXPECT_EQ(plan.folios[0].first, 7u);
  EXPECT_EQ(plan.counts.skipped[SkipReason::kDirty], 2u);
  EXPECT_EQ(plan.counts.skipped[SkipReason::kWriteback], 2u);
  EXPECT_EQ(plan.counts.skipped[SkipReason::kMapped], 2u);
  EXPECT_EQ(plan.counts.skipped[SkipReason::kLocked], 1u);
}

TEST(EvictionPlan, OneDirtyPageKeepsItsWholeLargeFolio) {
  const PageIndex guest({1, 2, 3, 4});
  const PageIndex* holders[] = {&guest};
  auto pages = folio(0, {1, 2, 3, 4});
  pages[2].flags |= kPageDirty;
  uint64_t budget = UINT64_MAX;
  EvictionPlan plan;
  plan_batch(pages, ScrubPolicy(SharedPolicy::kAll), holders, budget, plan);
  EXPECT_TRUE(plan.folios.empty());
  EXPECT_EQ(plan.counts.skipped[SkipReason::kDirty], 4u);
}

TEST(EvictionPlan, AFolioNotSeenWholeIsNeverEvicted) {
  const PageIndex guest({1, 2, 3});
  const PageIndex* holders[] = {&guest};
  auto pages = folio(0, {1, 2, 3, 4});
  pages.pop_back();  // the 4th page of the folio is missing from the batch
  uint64_t budget = UINT64_MAX;
  EvictionPlan plan;
  plan_batch(pages, ScrubPolicy(SharedPolicy::kAll), holders, budget, plan);
  EXPECT_TRUE(plan.folios.empty());
  EXPECT_EQ(plan.counts.partial_folio_pages, 3u);
}

TEST(EvictionPlan, UnhashedPagesAreNotHeld) {
  const PageIndex guest({1, 2});
  const PageIndex* holders[] = {&guest};
  auto pages = folio(0, {1, 2});
  pages[1].flags &= ~kPageHashed;
  uint64_t budget = UINT64_MAX;
  EvictionPlan plan;
  plan_batch(pages, ScrubPolicy(SharedPolicy::kAll), holders, budget, plan);
  EXPECT_TRUE(plan.folios.empty());
  EXPECT_EQ(plan.counts.partial_folio_pages, 1u);
}

TEST(EvictionPlan, MaxEvictCapsThePassAndCountsTheRestAsSkipped) {
  const PageIndex guest({1, 2, 3, 4, 5, 6});
  const PageIndex* holders[] = {&guest};
  const auto pages = concat({folio(0, {1, 2}), folio(2, {3, 4}), folio(4, {5, 6})});
  uint64_t budget = 3;
  EvictionPlan plan;
  plan_batch(pages, ScrubPolicy(SharedPolicy::kAll), holders, budget, plan);
  EXPECT_EQ(plan.pages, 2u);
  EXPECT_EQ(plan.counts.skipped[SkipReason::kLimit], 4u);
  EXPECT_EQ(budget, 0u);
}

}  // namespace
}  // namespace singleton
