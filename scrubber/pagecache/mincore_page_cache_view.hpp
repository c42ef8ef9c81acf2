// The userspace PageCacheView: works on any kernel, needs root (pagemap PFNs, kpageflags).
//
// How it looks without touching what it looks at (README.md, "Kernel facts"):
// - pread() of cached pages can start readahead; a MADV_RANDOM mapping + mincore() + reading
//   through the mapping adds no page (measured), so pages are read only through such a mapping
//   and only where mincore() said they are cached;
// - posix_fadvise(DONTNEED) skips pages mapped by anyone, ourselves included: scan() unmaps
//   before it returns, and evict() maps nothing;
// - posix_fadvise(DONTNEED) drops a large folio only when the range covers all of it: the
//   folio of each page comes from the PFN runs (compound head + tails) behind our mapping.
#pragma once

#include <memory>
#include <optional>

#include "scrubber/pagecache/file_mapping.hpp"

#include "scrubber/pagecache/kernel_page_frames.hpp"
#include "scrubber/pagecache/page_cache_view.hpp"

namespace singleton {

class MincorePageCacheView : public PageCacheView {
 public:
  // Throws Error(kEnvironment) when /proc/kpageflags & co. cannot be read (not root).
  MincorePageCacheView();

  std::string name() const override { return "mincore"; }
  CacheCounts count(const ReadOnlyFile& file, PageRange range) override;
  ScanBatch scan(const ReadOnlyFile& file, uint64_t from, const ScanOptions& options) override;
  EvictResult evict(const ReadOnlyFile& file, std::span<const PageRange> ranges) override;

  // Pages one scan() batch maps at most: 128 MiB, a multiple of the largest folio (2 MiB), so
  // windows aligned to it never split a folio.
  static constexpr uint64_t kWindowPages = 32768;

 private:
  // Counts by cachestat(2), or where the kernel lacks it by mincore() on a fresh mapping and the
  // kpageflags of the cached pages (dirty, writeback).
  CacheCounts count_pages(const ReadOnlyFile& file, uint64_t first, uint64_t count);
  // scan() with options.end: the folios holding a page of [from, end), hashed only those.
  ScanBatch scan_folios(const ReadOnlyFile& file, uint64_t from, const ScanOptions& options);
  // The pages of [window, window + n) whose folio holds a page of [from, end), into `batch`.
  // With `edge` (the window's last page, one past what it must cover): false (nothing added)
  // when a large folio crosses an edge, i.e. the window's first cached page or the page at
  // `edge` is a folio's tail.
  bool scan_window(const ReadOnlyFile& file, uint64_t window, uint64_t n, uint64_t from,
                   uint64_t end, const ScanOptions& options, std::optional<uint64_t> edge,
                   ScanBatch& batch);

  void keep_mapping(bool keep) override;
  // The bytes of pages [window, window + n) of `file`: from the kept mapping while a
  // KeptMapping lives (made or remade to cover them), else from a mapping made in `own`.
  const unsigned char* map_window(const ReadOnlyFile& file, uint64_t window, uint64_t n,
                                  std::optional<FileMapping>& own);

  KernelPageFrames frames_;
  std::optional<bool> have_cachestat_;
  // The whole-file mapping kept for bounded scans, and which file it maps.
  bool keep_ = false;
  struct Kept {
    uint64_t device = 0;
    uint64_t inode = 0;
    uint64_t pages = 0;
    std::optional<FileMapping> map;
  };
  Kept kept_;
};

}  // namespace singleton
