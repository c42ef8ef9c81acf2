#include "scrubber/report/image_cache_classes.hpp"

namespace singleton {

ImageCacheClasses classify_image_cache(PageCacheView& view, const ReadOnlyFile& file,
                                       const ScrubPolicy& policy,
                                       std::span<const PageIndex* const> holders) {
  ImageCacheClasses out;
  out.counts.cached_pages_before = view.count(file, {}).cached_pages;
  uint64_t budget = UINT64_MAX;
  for (uint64_t from = 0;;) {
    ScanBatch batch = view.scan(file, from, ScanOptions{true});
    EvictionPlan plan;
    plan_batch(batch.pages, policy, holders, budget, plan);
    carry_out(view, file, /*evict=*/false, plan);
    out.counts += plan.counts;
    for (const CachedPage& page : batch.pages) {
      const bool hashed = (page.flags & kPageHashed) != 0;
      out.pages.push_back({page.index, hashed && policy.held(page.hash, holders), hashed,
                           hashed ? page.hash : 0});
    }
    if (batch.done) break;
    from = batch.next_index;
  }
  out.counts.cached_pages_after = view.count(file, {}).cached_pages;
  return out;
}

}  // namespace singleton
