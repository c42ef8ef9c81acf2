// The host page cache of one file, page for page: the one interface both backends implement
// (`mincore`: userspace, any kernel; `kmod`: the singleton_pcache module), and what scrub passes
// are built on. Pages are 4 KiB; indices are file offsets / 4096.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "scrubber/pagecache/read_only_file.hpp"
#include "scrubber/pagecache/skip_reason.hpp"
#include "snapshot/base/page_size.hpp"

namespace singleton {

class EvictionAudit;

// State of a cached page. Bits, so a backend reports what it can know; kHashed says whether
// CachedPage::hash is valid.
enum PageFlag : uint32_t {
  kPageDirty = 1u << 0,        // modified, not yet written back: never evicted
  kPageWriteback = 1u << 1,    // being written back: never evicted
  kPageMapped = 1u << 2,       // mapped by some process other than the view itself: never evicted
  kPageLocked = 1u << 3,       // locked (I/O in flight): never evicted
  kPageUptodate = 1u << 4,     // content valid (a page not uptodate is never hashed)
  kPageActive = 1u << 5,       // on the active LRU list
  kPageReferenced = 1u << 6,   // referenced since the last LRU scan
  kPageUnevictable = 1u << 7,  // mlocked or otherwise unevictable
  kPageHashed = 1u << 8,       // CachedPage::hash holds XXH64 (seed 0) of the page's 4 KiB
};

// Names for reports and `singleton pagecache --pages`: "dirty", "writeback", ...
std::vector<std::string> page_flag_names(uint32_t flags);

// Flags that forbid eviction of the folio holding the page.
inline constexpr uint32_t kPageNeverEvict =
    kPageDirty | kPageWriteback | kPageMapped | kPageLocked | kPageUnevictable;

struct CachedPage {
  uint64_t index = 0;        // page index in the file
  uint64_t folio_first = 0;  // index of the first page of the folio holding this page
  uint32_t folio_pages = 1;  // pages in that folio (1, 4, 16, ... 512): a power of two
  uint32_t flags = 0;        // PageFlag bits
  uint64_t hash = 0;         // XXH64, seed 0, of the page's 4 KiB (bytes past EOF read as 0);
                             // valid only with kPageHashed
};

struct ScanOptions {
  bool hashes = true;  // false: indices, flags and folios only (cheaper)
  // 0: from `from` to the end of the file, in batches. Else one bounded scan: exactly the
  // folios that hold a page in [from, end), whole (a folio that starts before `from` or ends
  // after `end` is returned whole), hashed only those; the batch is done. For work that follows
  // a few known pages (the placement tracker) instead of the whole file.
  uint64_t end = 0;
  // With `end`: which folios to hash, asked once per folio with its pages (whole, flags set,
  // not hashed yet); the others come back without kPageHashed. Empty: every folio. Lets a
  // caller that decides by folio (the placed pass: every page placed, clean) pay for one scan.
  std::function<bool(std::span<const CachedPage> folio)> hash_folio;
};

// One batch of a scan, pages in ascending index order. A batch never splits a folio: every
// folio whose first page is in the batch is in it whole, so decisions per folio can be made
// batch by batch.
struct ScanBatch {
  std::vector<CachedPage> pages;
  uint64_t next_index = 0;  // where the next batch starts
  bool done = false;        // no cached page at or after next_index (as of this scan)
};

// A run of pages [first, first + count).
struct PageRange {
  uint64_t first = 0;
  uint64_t count = 0;
  uint64_t end() const { return first + count; }
};

struct EvictResult {
  uint64_t requested_pages = 0;  // cached pages in the requested ranges just before eviction
  uint64_t evicted_pages = 0;    // measured: cached before minus cached after, per range
  SkipCounts skipped;  // why pages asked to be evicted are still cached (dirty, writeback,
                       // mapped, busy)
};

// Exact counts for a file, cheap (cachestat(2) or the module; no per-page work in userspace
// when the kernel can count).
struct CacheCounts {
  uint64_t cached_pages = 0;
  uint64_t dirty_pages = 0;
  uint64_t writeback_pages = 0;
};

class PageCacheView {
 public:
  virtual ~PageCacheView() = default;

  // "mincore" or "kmod".
  virtual std::string name() const = 0;

  // Cheap counts of `file`'s cached pages in [range.first, range.end()) (clamped to the file);
  // count == 0 means to the end of the file. Adds no page to the cache.
  virtual CacheCounts count(const ReadOnlyFile& file, PageRange range = {}) = 0;

  // The cached pages of `file` from page `from` on, with flags, folio extents and (with
  // options.hashes) hashes. Promises: adds no page to the host cache, moves nothing on the LRU
  // beyond what reading a page does, and holds no mapping of the file when it returns (so a
  // following evict() is not defeated by the view's own mapping), unless a KeptMapping is alive.
  // Call repeatedly with batch.next_index until batch.done(). Throws SystemError (with the path)
  // on failure.
  virtual ScanBatch scan(const ReadOnlyFile& file, uint64_t from, const ScanOptions& options) = 0;

  // While one lives, bounded scans (ScanOptions::end) of one file share one mapping of it,
  // unmapped when it ends (or by evict(), which never runs against the view's own mapping).
  // For the placement tracker's many small scans of an image in a row: a view that maps per
  // scan otherwise pays an unmap each, which is a TLB shootdown on every CPU the process ran on.
  class KeptMapping {
   public:
    explicit KeptMapping(PageCacheView& view) : view_(view) { view_.keep_mapping(true); }
    ~KeptMapping() { view_.keep_mapping(false); }
    KeptMapping(const KeptMapping&) = delete;
    KeptMapping& operator=(const KeptMapping&) = delete;

   private:
    PageCacheView& view_;
  };

  // Evicts the clean, unmapped pages of `ranges` (ascending, non-overlapping, each covering
  // whole folios; adjacent ranges may be coalesced by the backend). Right before evicting, a
  // range holding dirty or writeback pages is narrowed to its clean folios or left alone:
  // dirty and writeback pages are never evicted, nor written back on our account.
  // The result is measured after eviction, not assumed.
  virtual EvictResult evict(const ReadOnlyFile& file, std::span<const PageRange> ranges) = 0;

  // Every range evict() hands to the kernel is first recorded in `audit` (nullptr: none).
  // The audit must outlive the view's use.
  void set_audit(EvictionAudit* audit) { audit_ = audit; }

 protected:
  // KeptMapping's switch: false unmaps what is kept. Views that map nothing ignore it.
  virtual void keep_mapping(bool /*keep*/) {}
  EvictionAudit* audit_ = nullptr;
};

// Which backend `--backend` asks for.
enum class BackendChoice { kAuto, kKmod, kMincore };
// "auto" | "kmod" | "mincore"; throws Error(kUsage) for anything else.
BackendChoice backend_choice_from_string(const std::string& text);

struct ChosenView {
  std::unique_ptr<PageCacheView> view;
  // Empty, or why the preferred backend was not used ("kmod: /dev/singleton_pcache: No such
  // file or directory; using mincore"), to be shown to the user.
  std::string note;
};

// Makes the view asked for. kAuto tries the backends in order of preference (kmod, then
// mincore) and says in `note` why it fell back. An explicit choice that is unavailable throws
// Error(ExitCode::kEnvironment) saying why (module not loaded, not built in, not root).
ChosenView make_page_cache_view(BackendChoice choice);

}  // namespace singleton
