// One image's host page cache, page by page, as `scan` sees it: the same scan and the same
// eviction plan (a dry run), so the counts equal scan's, plus which page is double-cached and
// which host-only, for --explain to map to guest files.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "scrubber/pagecache/page_cache_view.hpp"
#include "scrubber/pass/eviction_plan.hpp"
#include "scrubber/pass/scrub_policy.hpp"

namespace singleton {

struct ClassifiedPage {
  uint64_t index = 0;   // page of the image file
  bool held = false;    // double-cached: the guests hold its content (per the shared policy)
  bool hashed = false;  // `hash` is the page's content hash (the view could hash it)
  uint64_t hash = 0;
};

struct ImageCacheClasses {
  PageCounts counts;                  // as a dry-run scan counts them
  std::vector<ClassifiedPage> pages;  // every cached page seen, ascending
};

// Adds no page to the cache and evicts none. Throws SystemError naming the image.
ImageCacheClasses classify_image_cache(PageCacheView& view, const ReadOnlyFile& file,
                                       const ScrubPolicy& policy,
                                       std::span<const PageIndex* const> holders);

}  // namespace singleton
