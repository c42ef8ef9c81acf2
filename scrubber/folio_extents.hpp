// Which folio each cached page belongs to, from the physical frames behind it.
#pragma once

#include <span>

#include "scrubber/kernel_page_frames.hpp"
#include "scrubber/page_cache_view.hpp"

namespace singleton {

// Sets folio_first/folio_pages of `pages` (ascending indices, all cached) from their frames
// (same order): a folio is a page whose frame is a compound head (or not compound at all)
// followed by the pages at consecutive indices whose frames are the consecutive compound tails.
// A run that does not start at a head (its head was not seen) is its own extent: evicting it
// cannot drop the folio, and no page outside it is ever assumed to be in it.
void assign_folio_extents(std::span<CachedPage> pages, std::span<const PageFrame> frames);

// PageFlag bits from kpageflags and kpagecount (`own_mappings`: how many of the counted
// mappings are our own, so the rest are other processes').
uint32_t page_flags_from_frame(const PageFrame& frame, uint64_t own_mappings);

}  // namespace singleton
