// Which folios of an image to evict, decided folio by folio from a scan batch.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "scrubber/pagecache/page_cache_view.hpp"
#include "scrubber/pass/scrub_policy.hpp"

namespace singleton {

struct PageCounts {
  uint64_t cached_pages_before = 0;  // measured before the scan (cachestat)
  uint64_t scanned_pages = 0;        // cached pages the scan saw
  uint64_t double_cached_pages = 0;  // scanned pages whose content the guests hold (policy)
  uint64_t evicted_pages = 0;        // measured after eviction (scan: would be evicted)
  uint64_t partial_folio_pages = 0;  // double-cached, kept: their folio holds pages no guest has
  SkipCounts skipped;
  uint64_t cached_pages_after = 0;  // measured after the pass
  PageCounts& operator+=(const PageCounts& o);
};

struct EvictionPlan {
  std::vector<PageRange> folios;  // whole folios to evict, ascending
  uint64_t pages = 0;             // pages in `folios`
  PageCounts counts;              // scanned, double_cached, partial_folio, skipped so far
};

// Adds the decisions for `pages` (one scan batch: ascending, whole folios) to `plan`. A folio is
// evicted only when every one of its pages is double-cached and none is dirty, under writeback,
// mapped, locked or unevictable; a page no guest holds is never evicted. `budget_pages` is what
// --max-evict still allows (decremented; UINT64_MAX for no cap).
void plan_batch(std::span<const CachedPage> pages, const ScrubPolicy& policy,
                std::span<const PageIndex* const> holders, uint64_t& budget_pages,
                EvictionPlan& plan);

// Evicts the plan's folios from `file` and records what was measured in plan.counts
// (evicted_pages, skipped); `evict` false: a dry run, where evicted_pages is what would go.
void carry_out(PageCacheView& view, const ReadOnlyFile& file, bool evict, EvictionPlan& plan);

}  // namespace singleton
