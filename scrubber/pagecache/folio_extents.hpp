// Which folio each cached page belongs to, from the physical frames behind it.
#pragma once

#include <span>

#include "scrubber/pagecache/kernel_page_frames.hpp"
#include "scrubber/pagecache/page_cache_view.hpp"

namespace singleton {

// Sets folio_first/folio_pages of `pages` (ascending indices, all cached) from their frames
// (same order): a folio is a page whose frame is a compound head (or not compound at all)
// followed by the pages at consecutive indices whose frames are the consecutive compound tails.
// A run that does not start at a head (its head was not seen) is its own extent: evicting it
// cannot drop the folio, and no page outside it is ever assumed to be in it.
void assign_folio_extents(std::span<CachedPage> pages, std::span<const PageFrame> frames);

// Gives every page of a folio the folio's own state (dirty, writeback, locked, uptodate, LRU
// bits), taken from its head page. Needed because /proc/kpageflags reports the unused flag bits
// of a tail page on 6.1 (measured in the 6.1 guests: tails of dirty or uptodate XFS and
// tmpfs-huge folios read as clean and not uptodate), and the folio's on later kernels. Call after
// assign_folio_extents; "mapped" stays per page (mapcounts are per page).
void inherit_folio_flags(std::span<CachedPage> pages);

// PageFlag bits from kpageflags and kpagecount (`own_mappings`: how many of the counted
// mappings are our own, so the rest are other processes').
uint32_t page_flags_from_frame(const PageFrame& frame, uint64_t own_mappings);

}  // namespace singleton
