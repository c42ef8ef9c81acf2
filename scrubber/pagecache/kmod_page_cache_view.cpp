#include "scrubber/pagecache/kmod_page_cache_view.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "kmod/include/uapi/singleton_pcache.h"
#include "scrubber/pagecache/cachestat_counts.hpp"
#include "scrubber/pagecache/eviction_audit.hpp"
#include "scrubber/pagecache/kmod_device.hpp"
#include "scrubber/pagecache/page_cache_backends.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

static_assert(kPageBytes == 4096, "the module's indices are 4 KiB pages");

constexpr uint64_t kNeededFeatures = SG_PCACHE_FEAT_FILE_PAGES | SG_PCACHE_FEAT_XXH64 |
                                     SG_PCACHE_FEAT_EVICT | SG_PCACHE_FEAT_FOLIO_ORDER;

uint32_t view_flags(uint32_t kflags) {
  uint32_t flags = 0;
  if (kflags & SG_PCACHE_PAGE_DIRTY) flags |= kPageDirty;
  if (kflags & SG_PCACHE_PAGE_WRITEBACK) flags |= kPageWriteback;
  if (kflags & SG_PCACHE_PAGE_MAPPED) flags |= kPageMapped;
  if (kflags & SG_PCACHE_PAGE_LOCKED) flags |= kPageLocked;
  if (kflags & SG_PCACHE_PAGE_UPTODATE) flags |= kPageUptodate;
  if (kflags & SG_PCACHE_PAGE_ACTIVE) flags |= kPageActive;
  if (kflags & SG_PCACHE_PAGE_REFERENCED) flags |= kPageReferenced;
  if (kflags & SG_PCACHE_PAGE_HASHED) flags |= kPageHashed;
  // tmpfs/shmem: the page cache is the only copy; the module never evicts it.
  if (kflags & SG_PCACHE_PAGE_SWAPBACKED) flags |= kPageUnevictable;
  return flags;
}

}  // namespace

KmodPageCacheView::KmodPageCacheView() : dev_(open_kmod_device(kNeededFeatures)) {}

std::unique_ptr<PageCacheView> make_kmod_page_cache_view() {
  return std::make_unique<KmodPageCacheView>();
}

CacheCounts KmodPageCacheView::count(const ReadOnlyFile& file, PageRange range) {
  const uint64_t size = file.size_pages();
  if (range.first >= size) return {};
  uint64_t n = range.count;
  if (n == 0 || n > size - range.first) n = size - range.first;
  if (have_cachestat_.value_or(true)) {
    auto counts = cachestat_counts(file.fd(), file.path(), range.first, n);
    have_cachestat_ = counts.has_value();
    if (counts) return *counts;
  }
  // Kernels before 6.5: count with the module (no hashing: cheap, and it knows dirty pages).
  CacheCounts counts;
  for (uint64_t from = range.first; from < range.first + n;) {
    ScanBatch batch = scan(file, from, ScanOptions{.hashes = false});
    for (const CachedPage& page : batch.pages) {
      if (page.index >= range.first + n) break;
      ++counts.cached_pages;
      if (page.flags & kPageDirty) ++counts.dirty_pages;
      if (page.flags & kPageWriteback) ++counts.writeback_pages;
    }
    if (batch.done || batch.next_index <= from) break;
    from = batch.next_index;
  }
  return counts;
}

std::vector<CachedPage> KmodPageCacheView::pages_of_folios_before(const ReadOnlyFile& file,
                                                                  uint64_t from, uint64_t limit,
                                                                  bool hashes) {
  std::vector<CachedPage> pages;
  for (uint64_t at = from; at < limit;) {
    // At most `limit - at` entries: nothing far past the limit is read or hashed. A folio cut at
    // max_entries still says its extent (its order).
    const ScanBatch batch = scan_batch(
        file, at, hashes, static_cast<uint32_t>(std::min<uint64_t>(kBatchPages, limit - at)));
    for (const CachedPage& page : batch.pages) {
      if (page.folio_first >= limit) return pages;
      pages.push_back(page);
    }
    if (batch.done || batch.next_index <= at) break;
    at = batch.next_index;
  }
  return pages;
}

ScanBatch KmodPageCacheView::scan_folios(const ReadOnlyFile& file, uint64_t from,
                                          const ScanOptions& options) {
  // First the folios without hashes (cheap), to learn where each folio of [from, end) begins
  // and ends; then the hashes of just the folios wanted.
  const uint64_t end = std::min(options.end, file.size_pages());
  ScanBatch out;
  out.done = true;
  out.next_index = end;
  if (from >= end) return out;
  uint64_t first = UINT64_MAX, last = 0;
  for (const CachedPage& page : pages_of_folios_before(file, from, end, false)) {
    first = std::min(first, page.folio_first);
    last = std::max(last, page.folio_first + page.folio_pages);
  }
  if (first == UINT64_MAX) return out;
  // The pages of those folios, whole (the first look may have started inside one), unhashed.
  out.pages = pages_of_folios_before(file, first, last, false);
  out.next_index = std::max(end, last);
  if (!options.hashes) return out;
  // The folios to hash, as runs of pages.
  std::vector<PageRange> wanted;
  for (size_t a = 0; a < out.pages.size();) {
    size_t b = a + 1;
    while (b < out.pages.size() && out.pages[b].folio_first == out.pages[a].folio_first) ++b;
    if (!options.hash_folio ||
        options.hash_folio(std::span<const CachedPage>(out.pages.data() + a, b - a))) {
      const PageRange folio{out.pages[a].folio_first, out.pages[a].folio_pages};
      if (!wanted.empty() && wanted.back().end() == folio.first) {
        wanted.back().count += folio.count;
      } else {
        wanted.push_back(folio);
      }
    }
    a = b;
  }
  auto page = out.pages.begin();
  for (const PageRange& range : wanted) {
    for (const CachedPage& hashed :
         pages_of_folios_before(file, range.first, range.end(), true)) {
      while (page != out.pages.end() && page->index < hashed.index) ++page;
      if (page != out.pages.end() && page->index == hashed.index) *page = hashed;
    }
  }
  return out;
}

ScanBatch KmodPageCacheView::scan(const ReadOnlyFile& file, uint64_t from,
                                  const ScanOptions& options) {
  if (options.end != 0) return scan_folios(file, from, options);
  return scan_batch(file, from, options.hashes, kBatchPages);
}

ScanBatch KmodPageCacheView::scan_batch(const ReadOnlyFile& file, uint64_t from, bool hashes,
                                        uint32_t max_entries) {
  ScanBatch batch;
  const uint64_t size = file.size_pages();
  if (from >= size) {
    batch.next_index = size;
    batch.done = true;
    return batch;
  }
  std::vector<sg_pcache_page> entries(max_entries);
  sg_pcache_file_pages args{};
  args.size = sizeof(args);
  args.fd = file.fd();
  args.flags = hashes ? SG_PCACHE_WANT_HASH : 0;
  args.max_entries = max_entries;
  args.start_index = from;
  args.entries = reinterpret_cast<uintptr_t>(entries.data());
  if (::ioctl(dev_.get(), SG_PCACHE_IOC_FILE_PAGES, &args) != 0) {
    throw_errno("singleton_pcache file pages of " + file.path());
  }
  const uint32_t n = std::min(args.nr_entries, max_entries);
  uint64_t next = args.next_index;
  bool done = (args.status & SG_PCACHE_STATUS_DONE) != 0;
  // A batch never splits a folio: a folio cut by max_entries starts the next batch (one folio,
  // at most 512 pages, always fits in kBatchPages).
  uint32_t keep = n;
  if (!done && n > 0) {
    const sg_pcache_page& last = entries[n - 1];
    const uint64_t pages = 1ULL << SG_PCACHE_PAGE_ORDER(last.flags);
    const uint64_t head = last.index & ~(pages - 1);
    if (last.index != head + pages - 1 && head > from) {
      while (keep > 0 && entries[keep - 1].index >= head) --keep;
      next = head;
    }
  }
  batch.pages.reserve(keep);
  for (uint32_t i = 0; i < keep; ++i) {
    const sg_pcache_page& e = entries[i];
    // Pages past EOF (the tail of a large folio) are not part of the file's view, as with
    // mincore, which only sees the mapped length.
    if (e.index >= size) {
      done = true;
      next = size;
      break;
    }
    CachedPage page;
    page.index = e.index;
    page.folio_pages = 1u << SG_PCACHE_PAGE_ORDER(e.flags);
    page.folio_first = e.index & ~(uint64_t{page.folio_pages} - 1);
    page.flags = view_flags(e.flags);
    if (page.flags & kPageHashed) page.hash = e.xxh64;
    batch.pages.push_back(page);
  }
  batch.next_index = std::min(next, size);
  batch.done = done || batch.next_index >= size;
  return batch;
}

EvictResult KmodPageCacheView::evict(const ReadOnlyFile& file, std::span<const PageRange> ranges) {
  EvictResult result;
  // Adjacent ranges coalesce; the module takes up to SG_PCACHE_MAX_EVICT_RANGES per call and
  // refuses ranges starting past EOF (-ERANGE): the file may have shrunk since the scan, so
  // ranges are clipped to the current size first.
  const uint64_t size = file.size_pages();
  std::vector<sg_pcache_range> list;
  for (const PageRange& r : ranges) {
    if (r.count == 0 || r.first >= size) continue;
    if (!list.empty() && list.back().start + list.back().nr_pages == r.first) {
      list.back().nr_pages += r.count;
    } else {
      list.push_back(sg_pcache_range{r.first, r.count});
    }
  }
  // Audited once per range before any call (a range retried alone after ERANGE is not
  // logged again).
  if (audit_ != nullptr) {
    for (const sg_pcache_range& r : list) audit_->record(file, r.start, r.nr_pages, "kmod_evict");
  }
  auto call = [&](const sg_pcache_range* first, uint32_t n) -> int {
    sg_pcache_evict args{};
    args.size = sizeof(args);
    args.fd = file.fd();
    args.nr_ranges = n;
    args.ranges = reinterpret_cast<uintptr_t>(first);
    if (::ioctl(dev_.get(), SG_PCACHE_IOC_EVICT, &args) != 0) return errno;
    const uint64_t kept = args.skipped_dirty + args.skipped_writeback + args.skipped_mapped +
                          args.skipped_locked + args.skipped_partial + args.skipped_shmem +
                          args.skipped_busy;
    result.requested_pages += args.evicted_pages + kept;
    result.evicted_pages += args.evicted_pages;
    result.skipped[SkipReason::kDirty] += args.skipped_dirty;
    result.skipped[SkipReason::kWriteback] += args.skipped_writeback;
    result.skipped[SkipReason::kMapped] += args.skipped_mapped;
    result.skipped[SkipReason::kBusy] +=
        args.skipped_locked + args.skipped_partial + args.skipped_shmem + args.skipped_busy;
    return 0;
  };
  for (size_t i = 0; i < list.size(); i += SG_PCACHE_MAX_EVICT_RANGES) {
    const auto n =
        static_cast<uint32_t>(std::min<size_t>(SG_PCACHE_MAX_EVICT_RANGES, list.size() - i));
    int err = call(&list[i], n);
    if (err == ERANGE) {
      // Truncated under us: one range at a time, dropping those now past EOF.
      for (uint32_t k = 0; k < n; ++k) {
        err = call(&list[i + k], 1);
        if (err != 0 && err != ERANGE) break;
        err = 0;
      }
    }
    if (err != 0) throw SystemError("singleton_pcache evict in " + file.path(), err);
  }
  return result;
}

}  // namespace singleton
