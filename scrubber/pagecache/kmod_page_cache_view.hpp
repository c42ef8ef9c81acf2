// The PageCacheView of the singleton_pcache kernel module (/dev/singleton_pcache, ABI in
// kmod/include/uapi/singleton_pcache.h): the kernel lists cached pages with their folio's order
// and flags and hashes them in place (no mapping, no copy, no LRU or readahead effect), and
// evicts whole folios with invalidate_mapping_pages() semantics, counting what it keeps and why.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scrubber/pagecache/page_cache_view.hpp"
#include "snapshot/base/unique_fd.hpp"

namespace singleton {

class KmodPageCacheView : public PageCacheView {
 public:
  // Opens the device and checks the ABI (same major, minor at least ours, the features the view
  // uses). Throws Error(kEnvironment) saying why the module cannot be used.
  KmodPageCacheView();

  std::string name() const override { return "kmod"; }
  CacheCounts count(const ReadOnlyFile& file, PageRange range) override;
  ScanBatch scan(const ReadOnlyFile& file, uint64_t from, const ScanOptions& options) override;
  EvictResult evict(const ReadOnlyFile& file, std::span<const PageRange> ranges) override;

  // Entries asked for per scan() call: 64 MiB of pages, a multiple of the largest folio.
  static constexpr uint32_t kBatchPages = 16384;

 private:
  // One ioctl: up to `max_entries` cached pages from `from`, never a split folio at the end.
  ScanBatch scan_batch(const ReadOnlyFile& file, uint64_t from, bool hashes, uint32_t max_entries);
  // The cached pages from `from` on, ioctl after ioctl, until the first page of a folio that
  // starts at or after `limit`.
  std::vector<CachedPage> pages_of_folios_before(const ReadOnlyFile& file, uint64_t from,
                                                 uint64_t limit, bool hashes);
  // scan() with options.end: the folios holding a page of [from, end), hashed only those.
  ScanBatch scan_folios(const ReadOnlyFile& file, uint64_t from, const ScanOptions& options);

  UniqueFd dev_;
  std::optional<bool> have_cachestat_;
};

}  // namespace singleton
