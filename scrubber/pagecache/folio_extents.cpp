#include "scrubber/pagecache/folio_extents.hpp"

namespace singleton {

void assign_folio_extents(std::span<CachedPage> pages, std::span<const PageFrame> frames) {
  size_t start = 0;
  auto close_run = [&](size_t end) {
    for (size_t k = start; k < end; ++k) {
      pages[k].folio_first = pages[start].index;
      pages[k].folio_pages = static_cast<uint32_t>(end - start);
    }
  };
  for (size_t i = 1; i <= pages.size(); ++i) {
    const bool continues = i < pages.size() && kpf::test(frames[i].kflags, kpf::kCompoundTail) &&
                           frames[i].pfn != 0 && frames[i].pfn == frames[i - 1].pfn + 1 &&
                           pages[i].index == pages[i - 1].index + 1;
    if (!continues) {
      close_run(i);
      start = i;
    }
  }
}

void inherit_folio_flags(std::span<CachedPage> pages) {
  constexpr uint32_t kFolioWide = kPageDirty | kPageWriteback | kPageLocked | kPageUptodate |
                                  kPageActive | kPageReferenced | kPageUnevictable;
  for (size_t i = 0; i < pages.size(); ++i) {
    const uint64_t offset = pages[i].index - pages[i].folio_first;
    if (offset == 0 || offset > i) continue;  // a head, or a run whose head was not seen
    const CachedPage& head = pages[i - offset];
    pages[i].flags = (pages[i].flags & ~kFolioWide) | (head.flags & kFolioWide);
  }
}

uint32_t page_flags_from_frame(const PageFrame& frame, uint64_t own_mappings) {
  const uint64_t f = frame.kflags;
  uint32_t flags = 0;
  if (kpf::test(f, kpf::kDirty)) flags |= kPageDirty;
  if (kpf::test(f, kpf::kWriteback)) flags |= kPageWriteback;
  if (kpf::test(f, kpf::kLocked)) flags |= kPageLocked;
  if (kpf::test(f, kpf::kUptodate)) flags |= kPageUptodate;
  if (kpf::test(f, kpf::kActive)) flags |= kPageActive;
  if (kpf::test(f, kpf::kReferenced)) flags |= kPageReferenced;
  if (kpf::test(f, kpf::kUnevictable)) flags |= kPageUnevictable;
  if (kpf::test(f, kpf::kMmap) && frame.mapcount > own_mappings) flags |= kPageMapped;
  return flags;
}

}  // namespace singleton
