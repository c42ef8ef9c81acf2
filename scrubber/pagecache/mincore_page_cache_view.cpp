#include "scrubber/pagecache/mincore_page_cache_view.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <xxhash.h>

#include <algorithm>
#include <vector>

#include "scrubber/pagecache/cachestat_counts.hpp"
#include "scrubber/pagecache/eviction_audit.hpp"
#include "scrubber/pagecache/file_mapping.hpp"
#include "scrubber/pagecache/folio_extents.hpp"
#include "scrubber/pagecache/sigbus_guard.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

// Residency of `count` pages from `first`, by mincore() on a fresh mapping. mincore() faults
// nothing in, so this never adds a page. (It reports "all resident" to callers who could not
// write the file unless privileged; the backend requires root anyway.)
std::vector<unsigned char> resident_pages(const ReadOnlyFile& file, const unsigned char* data,
                                          uint64_t count) {
  std::vector<unsigned char> vec(count);
  if (::mincore(const_cast<unsigned char*>(data), count * kPageBytes, vec.data()) != 0) {
    throw_errno("mincore " + file.path());
  }
  return vec;
}

// Appends the resident pages of a window (hashed, or only touched so that pagemap sees them) to
// `out`, which has room for all of them. False when the file was truncated under us (SIGBUS):
// the guard turns that into an error for this image instead of a crash. Kept apart from its
// caller so that nothing the caller uses lives across the sigsetjmp.
bool read_resident_pages(const unsigned char* data, const std::vector<unsigned char>& resident,
                         uint64_t window, uint64_t from, bool hashes,
                         std::vector<CachedPage>& out) {
  SigbusGuard guard;
  if (sigsetjmp(guard.env, 0) != 0) {
    guard.recover();
    return false;
  }
  guard.arm();
  for (uint64_t i = 0; i < resident.size(); ++i) {
    if (!(resident[i] & 1) || window + i < from) continue;
    CachedPage page;
    page.index = window + i;
    const unsigned char* bytes = data + i * kPageBytes;
    if (hashes) {
      page.hash = XXH64(bytes, kPageBytes, 0);
      page.flags |= kPageHashed;
    } else {
      *static_cast<const volatile unsigned char*>(bytes);  // fault in: pagemap needs the PTE
    }
    out.push_back(page);  // within capacity: no allocation while the guard is armed
  }
  guard.disarm();
  return true;
}

// Hashes `pages` (cached pages of the mapping at `data`, which starts at page `window`) in
// place. False on SIGBUS (the file was truncated under us), as read_resident_pages.
bool hash_pages(const unsigned char* data, uint64_t window, std::span<CachedPage> pages) {
  SigbusGuard guard;
  if (sigsetjmp(guard.env, 0) != 0) {
    guard.recover();
    return false;
  }
  guard.arm();
  for (CachedPage& page : pages) {
    page.hash = XXH64(data + (page.index - window) * kPageBytes, kPageBytes, 0);
    page.flags |= kPageHashed;
  }
  guard.disarm();
  return true;
}

// The largest folio (2 MiB): a window aligned to it holds the head and the tails of every folio
// that has a page in it.
constexpr uint64_t kLargestFolioPages = 512;

}  // namespace

MincorePageCacheView::MincorePageCacheView() = default;

std::unique_ptr<PageCacheView> make_mincore_page_cache_view() {
  return std::make_unique<MincorePageCacheView>();
}

CacheCounts MincorePageCacheView::count_pages(const ReadOnlyFile& file, uint64_t first,
                                              uint64_t count) {
  const uint64_t size = file.size_pages();
  if (first >= size) return {};
  if (count == 0 || count > size - first) count = size - first;
  if (have_cachestat_.value_or(true)) {
    auto counts = cachestat_counts(file.fd(), file.path(), first, count);
    have_cachestat_ = counts.has_value();
    if (counts) return *counts;
  }
  // No cachestat (Linux < 6.5): residency by mincore(), dirty and writeback from the frames'
  // kpageflags (each cached page touched through the mapping, as scan() does), so that evict()
  // still never hands a dirty page to fadvise (DONTNEED writes it back and drops it: measured on
  // 6.1, where the plain mincore count let that happen). A range that starts inside a folio has
  // no head: on 6.1 its tails' own bits are used (evict() ranges are whole folios).
  CacheCounts counts;
  for (uint64_t at = first; at < first + count; at += kWindowPages) {
    const uint64_t n = std::min(kWindowPages, first + count - at);
    FileMapping map(file.fd(), file.path().c_str(), at * kPageBytes, n * kPageBytes);
    const std::vector<unsigned char> resident = resident_pages(file, map.data(), n);
    std::vector<CachedPage> pages;
    pages.reserve(n);
    if (!read_resident_pages(map.data(), resident, at, at, /*hashes=*/false, pages)) {
      throw Error(ExitCode::kPartial,
                  "count " + file.path() + ": the file shrank during the count");
    }
    const std::vector<PageFrame> all = frames_.frames(map.data(), n);
    std::vector<PageFrame> frames;
    frames.reserve(pages.size());
    for (CachedPage& page : pages) {
      frames.push_back(all[page.index - at]);
      page.flags |= page_flags_from_frame(frames.back(), /*own_mappings=*/1);
    }
    assign_folio_extents(pages, frames);
    inherit_folio_flags(pages);
    for (const CachedPage& page : pages) {
      ++counts.cached_pages;
      counts.dirty_pages += (page.flags & kPageDirty) ? 1 : 0;  // both, as cachestat counts
      counts.writeback_pages += (page.flags & kPageWriteback) ? 1 : 0;
    }
  }
  return counts;
}

CacheCounts MincorePageCacheView::count(const ReadOnlyFile& file, PageRange range) {
  return count_pages(file, range.first, range.count);
}

bool MincorePageCacheView::scan_window(const ReadOnlyFile& file, uint64_t window, uint64_t n,
                                       uint64_t from, uint64_t end, const ScanOptions& options,
                                       std::optional<uint64_t> edge, ScanBatch& batch) {
  if (count_pages(file, window, n).cached_pages == 0) return true;  // nothing to map
  std::optional<FileMapping> own;
  const unsigned char* data = map_window(file, window, n, own);
  const std::vector<unsigned char> resident = resident_pages(file, data, n);
  std::vector<CachedPage> pages;
  pages.reserve(n);
  // Touched only (a minor fault each: pagemap needs the PTE); hashed below, folios known.
  if (!read_resident_pages(data, resident, window, window, /*hashes=*/false, pages)) {
    throw Error(ExitCode::kPartial, "scan " + file.path() + ": the file shrank during the scan");
  }
  const std::vector<PageFrame> all = frames_.frames(data, n);
  if (edge && !pages.empty()) {
    // A large folio across either edge of the window: its head or its tails are outside.
    const PageFrame& first = all[pages.front().index - window];
    const bool last_is_tail =
        *edge < window + n && resident[*edge - window] & 1 &&
        kpf::test(all[*edge - window].kflags, kpf::kCompoundTail);
    if (kpf::test(first.kflags, kpf::kCompoundTail) || last_is_tail) return false;
  }
  std::vector<PageFrame> frames;
  frames.reserve(pages.size());
  for (CachedPage& page : pages) {
    frames.push_back(all[page.index - window]);
    page.flags |= page_flags_from_frame(frames.back(), /*own_mappings=*/1);
  }
  assign_folio_extents(pages, frames);
  inherit_folio_flags(pages);
  batch.pages.reserve(pages.size());
  for (const CachedPage& page : pages) {
    if (page.folio_first < end && page.folio_first + page.folio_pages > from) {
      batch.pages.push_back(page);
      batch.next_index = std::max(batch.next_index, page.index + 1);
    }
  }
  for (size_t a = 0; options.hashes && a < batch.pages.size();) {
    size_t b = a + 1;
    while (b < batch.pages.size() && batch.pages[b].folio_first == batch.pages[a].folio_first) ++b;
    const std::span<CachedPage> folio(batch.pages.data() + a, b - a);
    if ((!options.hash_folio || options.hash_folio(folio)) &&
        !hash_pages(data, window, folio)) {
      throw Error(ExitCode::kPartial, "scan " + file.path() + ": the file shrank during the scan");
    }
    a = b;
  }
  for (CachedPage& page : batch.pages) {
    if (!(page.flags & kPageUptodate) && all[page.index - window].pfn != 0) {
      page.flags &= ~kPageHashed;
    }
  }
  return true;
}

void MincorePageCacheView::keep_mapping(bool keep) {
  keep_ = keep;
  if (!keep) kept_.map.reset();
}

const unsigned char* MincorePageCacheView::map_window(const ReadOnlyFile& file, uint64_t window,
                                                      uint64_t n,
                                                      std::optional<FileMapping>& own) {
  if (!keep_) {
    own.emplace(file.fd(), file.path().c_str(), window * kPageBytes, n * kPageBytes);
    return own->data();
  }
  if (!kept_.map || kept_.device != file.device() || kept_.inode != file.inode() ||
      window + n > kept_.pages) {
    kept_.map.reset();  // unmapped before the new one is made
    kept_.pages = std::max(file.size_pages(), window + n);
    kept_.map.emplace(file.fd(), file.path().c_str(), 0, kept_.pages * kPageBytes);
    kept_.device = file.device();
    kept_.inode = file.inode();
  }
  return kept_.map->data() + window * kPageBytes;
}

ScanBatch MincorePageCacheView::scan_folios(const ReadOnlyFile& file, uint64_t from,
                                            const ScanOptions& options) {
  ScanBatch batch;
  const uint64_t size = file.size_pages();
  const uint64_t end = std::min(options.end, size);
  batch.done = true;
  batch.next_index = end;
  if (from >= end) return batch;
  // First only [from, end] (one page past the range says whether its last folio goes on):
  // with small folios (Linux 6.1's ext4, random reads) that touches just the pages asked for.
  const uint64_t narrow_end = std::min(size, end + 1);
  if (scan_window(file, from, narrow_end - from, from, end, options, end, batch)) {
    return batch;
  }
  // A large folio crosses an edge. Folios are naturally aligned powers of two: one of at most
  // `align` pages with a page in the range lies inside the range widened to `align`, and a
  // bigger one crosses that window's edge. Wider windows in turn, up to the largest folio,
  // whose window holds the head and the tails of every folio that has a page in the range.
  // Each page of a window is touched (a minor fault, so that pagemap sees it), which is the
  // scan's cost: the readahead folios of ext4 (16 to 128 pages) are found without touching
  // the 512 pages of the largest window.
  for (const uint64_t align : {uint64_t{16}, uint64_t{128}, kLargestFolioPages}) {
    batch.pages.clear();
    batch.next_index = end;
    const uint64_t window = from - from % align;
    const uint64_t aligned_end = std::min(size, end + (align - end % align) % align);
    if (align == kLargestFolioPages) {
      scan_window(file, window, aligned_end - window, from, end, options, std::nullopt, batch);
      break;
    }
    const uint64_t n = std::min(size, aligned_end + 1) - window;
    if (scan_window(file, window, n, from, end, options, aligned_end, batch)) break;
  }
  return batch;
}

ScanBatch MincorePageCacheView::scan(const ReadOnlyFile& file, uint64_t from,
                                     const ScanOptions& options) {
  if (options.end != 0) return scan_folios(file, from, options);
  ScanBatch batch;
  const uint64_t size = file.size_pages();
  uint64_t window = from - from % kWindowPages;
  for (; window < size && batch.pages.empty(); window += kWindowPages) {
    const uint64_t n = std::min(kWindowPages, size - window);
    if (count_pages(file, window, n).cached_pages == 0) continue;  // nothing to map
    FileMapping map(file.fd(), file.path().c_str(), window * kPageBytes, n * kPageBytes);
    const std::vector<unsigned char> resident = resident_pages(file, map.data(), n);
    // Room for every resident page first: no allocation while the SIGBUS guard is armed.
    uint64_t resident_count = 0;
    for (unsigned char v : resident) resident_count += v & 1;
    batch.pages.reserve(resident_count);
    // Read each cached page through the mapping: a minor fault, no I/O, no readahead
    // (MADV_RANDOM). A page evicted between mincore() and this read would be read back from
    // disk, one page: that window is microseconds and costs one page of cache at worst.
    if (!read_resident_pages(map.data(), resident, window, from, options.hashes, batch.pages)) {
      throw Error(ExitCode::kPartial, "scan " + file.path() + ": the file shrank during the scan");
    }
    // The content hashed above may change before eviction (a host write): that page is then
    // dirty and never evicted, or, written back already, evicted as a false match that costs
    // only a re-read from disk, never data.
    const std::vector<PageFrame> all = frames_.frames(map.data(), n);
    std::vector<PageFrame> frames;
    frames.reserve(batch.pages.size());
    for (CachedPage& page : batch.pages) {
      const PageFrame& frame = all[page.index - window];
      frames.push_back(frame);
      page.flags |= page_flags_from_frame(frame, /*own_mappings=*/1);
    }
    assign_folio_extents(batch.pages, frames);
    inherit_folio_flags(batch.pages);
    // Hash only what the kernel says is valid content.
    for (size_t k = 0; k < batch.pages.size(); ++k) {
      if (!(batch.pages[k].flags & kPageUptodate) && frames[k].pfn != 0) {
        batch.pages[k].flags &= ~kPageHashed;
      }
    }
    // `map` is unmapped here, before the caller can evict anything.
  }
  batch.next_index = std::min(window, size);
  batch.done = window >= size;
  return batch;
}

EvictResult MincorePageCacheView::evict(const ReadOnlyFile& file,
                                        std::span<const PageRange> ranges) {
  kept_.map.reset();  // the view's own mapping would keep the pages mapped, hence cached
  EvictResult result;
  // Ranges are folios (or runs of whole folios). Runs of adjacent ranges are coalesced into one
  // fadvise call; a run holding dirty or writeback pages falls back to its ranges one by one,
  // so a clean folio next to a dirty one is still evicted.
  auto evict_one = [&](PageRange range, bool whole_run_or_single) -> bool {
    const CacheCounts before = count_pages(file, range.first, range.count);
    if (before.cached_pages == 0) return true;
    if (before.dirty_pages != 0 || before.writeback_pages != 0) {
      if (!whole_run_or_single) return false;  // the caller splits the run
    }
    result.requested_pages += before.cached_pages;
    if (before.dirty_pages != 0 || before.writeback_pages != 0) {
      // Never handed to fadvise: DONTNEED would start writeback of the dirty pages.
      const uint64_t dirty = std::min(before.dirty_pages, before.cached_pages);
      result.skipped[SkipReason::kDirty] += dirty;
      result.skipped[SkipReason::kWriteback] += before.cached_pages - dirty;
      return true;
    }
    if (audit_ != nullptr) audit_->record(file, range.first, range.count, "fadvise");
    const int err =
        ::posix_fadvise(file.fd(), static_cast<off_t>(range.first * kPageBytes),
                        static_cast<off_t>(range.count * kPageBytes), POSIX_FADV_DONTNEED);
    if (err != 0) throw SystemError("posix_fadvise DONTNEED " + file.path(), err);
    const CacheCounts after = count_pages(file, range.first, range.count);
    const uint64_t left = std::min(after.cached_pages, before.cached_pages);
    result.evicted_pages += before.cached_pages - left;
    const uint64_t dirty = std::min(after.dirty_pages, left);
    const uint64_t writeback = std::min(after.writeback_pages, left - dirty);
    result.skipped[SkipReason::kDirty] += dirty;
    result.skipped[SkipReason::kWriteback] += writeback;
    // Mapped, locked, or raced with a reader: the kernel does not say which.
    result.skipped[SkipReason::kBusy] += left - dirty - writeback;
    return true;
  };

  size_t i = 0;
  while (i < ranges.size()) {
    size_t j = i + 1;
    while (j < ranges.size() && ranges[j].first == ranges[j - 1].end()) ++j;
    const PageRange run{ranges[i].first, ranges[j - 1].end() - ranges[i].first};
    if (!evict_one(run, /*whole_run_or_single=*/j - i == 1)) {
      for (size_t k = i; k < j; ++k) evict_one(ranges[k], /*whole_run_or_single=*/true);
    }
    i = j;
  }
  return result;
}

}  // namespace singleton
