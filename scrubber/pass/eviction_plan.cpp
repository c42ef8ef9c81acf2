#include "scrubber/pass/eviction_plan.hpp"

namespace singleton {

PageCounts& PageCounts::operator+=(const PageCounts& o) {
  cached_pages_before += o.cached_pages_before;
  scanned_pages += o.scanned_pages;
  double_cached_pages += o.double_cached_pages;
  evicted_pages += o.evicted_pages;
  partial_folio_pages += o.partial_folio_pages;
  skipped += o.skipped;
  cached_pages_after += o.cached_pages_after;
  return *this;
}

void plan_batch(std::span<const CachedPage> pages, const ScrubPolicy& policy,
                std::span<const PageIndex* const> holders, uint64_t& budget_pages,
                EvictionPlan& plan) {
  PageCounts& counts = plan.counts;
  size_t i = 0;
  while (i < pages.size()) {
    // The pages of one folio are consecutive in the batch.
    size_t j = i + 1;
    while (j < pages.size() && pages[j].folio_first == pages[i].folio_first) ++j;
    const CachedPage& first = pages[i];
    uint64_t held = 0;
    uint32_t flags = 0;
    for (size_t k = i; k < j; ++k) {
      flags |= pages[k].flags;
      if ((pages[k].flags & kPageHashed) && policy.held(pages[k].hash, holders)) ++held;
    }
    const uint64_t seen = j - i;
    counts.scanned_pages += seen;
    counts.double_cached_pages += held;
    // A folio we did not see whole (its head before the batch, a page raced away) cannot be
    // judged: its unseen pages may be ones no guest has.
    const bool whole = first.index == first.folio_first && seen == first.folio_pages &&
                       pages[j - 1].index == first.folio_first + seen - 1;
    if (held == 0) {
      // nothing to evict, nothing kept on a guest's behalf
    } else if (held < seen || !whole) {
      counts.partial_folio_pages += held;
    } else if (flags & kPageDirty) {
      counts.skipped[SkipReason::kDirty] += held;
    } else if (flags & kPageWriteback) {
      counts.skipped[SkipReason::kWriteback] += held;
    } else if (flags & kPageMapped) {
      counts.skipped[SkipReason::kMapped] += held;
    } else if (flags & (kPageLocked | kPageUnevictable)) {
      counts.skipped[SkipReason::kLocked] += held;
    } else if (budget_pages < seen) {
      counts.skipped[SkipReason::kLimit] += held;
      budget_pages = 0;  // keep the cap strict: no smaller folio slips in after a big one
    } else {
      budget_pages -= seen;
      plan.folios.push_back({first.folio_first, seen});
      plan.pages += seen;
    }
    i = j;
  }
}

void carry_out(PageCacheView& view, const ReadOnlyFile& file, bool evict, EvictionPlan& plan) {
  if (!evict) {
    plan.counts.evicted_pages = plan.pages;  // what a scrub would evict
  } else if (!plan.folios.empty()) {
    const EvictResult evicted = view.evict(file, plan.folios);
    plan.counts.evicted_pages = evicted.evicted_pages;
    plan.counts.skipped += evicted.skipped;
  }
}

}  // namespace singleton
