// sg-backend-agree DIR: inside a guest with singleton_pcache loaded, checks that the scrubber's
// two PageCacheView backends (kmod and mincore) see the same cached pages of a file in DIR: same
// indices, same hashes, same folios, same dirty bits; that `auto` picks kmod; that neither scan
// adds a page; and that a page evicted through one backend is gone for the other.
// Prints "FAIL ..." lines; the exit status is the number of failures (capped at 100).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "scrubber/pagecache/page_cache_view.hpp"
#include "scrubber/pagecache/read_only_file.hpp"
#include "snapshot/base/error.hpp"

namespace {

using singleton::CachedPage;
using singleton::PageCacheView;

int failures = 0;

template <typename... Args>
void fail(const char* fmt, Args... args) {
  std::printf("FAIL backends-agree: ");
  std::printf(fmt, args...);
  std::printf("\n");
  ++failures;
}

std::vector<CachedPage> scan_all(PageCacheView& view, const singleton::ReadOnlyFile& file,
                                 double* seconds) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<CachedPage> all;
  uint64_t from = 0;
  for (int calls = 0; calls < 100000; ++calls) {
    singleton::ScanBatch batch = view.scan(file, from, {.hashes = true});
    all.insert(all.end(), batch.pages.begin(), batch.pages.end());
    if (batch.done) break;
    from = batch.next_index;
  }
  *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return all;
}

// A file with a mix of cached and uncached pages: a sequential start (readahead marks), then
// scattered pages, and 10 dirty pages.
std::string make_file(const std::string& dir) {
  const std::string path = dir + "/agree.bin";
  const size_t size = 12 * 1024 * 1024 + 3 * 4096 + 5;
  std::vector<unsigned char> data(size);
  uint64_t s = 0x1234567;
  for (auto& b : data) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    b = static_cast<unsigned char>(s);
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ::pwrite(fd, data.data(), size, 0) != static_cast<ssize_t>(size)) {
    std::perror(path.c_str());
    std::exit(100);
  }
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  std::vector<unsigned char> buf(1 << 20);
  if (::pread(fd, buf.data(), buf.size(), 0) < 0) std::exit(100);
  for (size_t page = 400; page * 4096 < size; page += 29) {
    if (::pread(fd, buf.data(), 100, page * 4096) < 0) std::exit(100);
  }
  if (::pwrite(fd, buf.data(), 10 * 4096, 2000 * 4096) != 10 * 4096) std::exit(100);
  ::close(fd);
  return path;
}

}  // namespace

int snapshot_agree();  // snapshot_agree.cpp

int main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--snapshot") == 0) {
    const int failures = snapshot_agree();
    return failures > 100 ? 100 : failures;
  }
  if (argc != 2) {
    std::fprintf(stderr, "usage: sg-backend-agree DIR | --snapshot\n");
    return 2;
  }
  try {
    const std::string path = make_file(argv[1]);
    singleton::ReadOnlyFile file(path);
    auto chosen = singleton::make_page_cache_view(singleton::BackendChoice::kAuto);
    if (chosen.view->name() != "kmod")
      fail("auto chose %s (%s)", chosen.view->name().c_str(), chosen.note.c_str());
    auto kmod = singleton::make_page_cache_view(singleton::BackendChoice::kKmod).view;
    auto mincore = singleton::make_page_cache_view(singleton::BackendChoice::kMincore).view;

    const uint64_t before = kmod->count(file).cached_pages;
    double tk = 0, tm = 0;
    const std::vector<CachedPage> k = scan_all(*kmod, file, &tk);
    const std::vector<CachedPage> m = scan_all(*mincore, file, &tm);
    const uint64_t after = mincore->count(file).cached_pages;
    std::printf("backends-agree %s: %zu pages (kmod %.3f s, mincore %.3f s), count %llu -> %llu\n",
                argv[1], k.size(), tk, tm, static_cast<unsigned long long>(before),
                static_cast<unsigned long long>(after));
    if (before != after)
      fail("cached pages %llu before the scans, %llu after",
           static_cast<unsigned long long>(before), static_cast<unsigned long long>(after));
    if (k.size() != m.size()) fail("kmod sees %zu pages, mincore %zu", k.size(), m.size());
    if (k.size() != before)
      fail("kmod scanned %zu pages, count says %llu", k.size(),
           static_cast<unsigned long long>(before));
    int shown = 0;
    // A large folio holding EOF continues past it: mincore sees only the mapped part of it, the
    // module the whole folio. Compare extents clipped at EOF and say when they differ beyond.
    const uint64_t eof = file.size_pages();
    auto clipped_end = [eof](const CachedPage& p) {
      return std::min<uint64_t>(p.folio_first + p.folio_pages, eof);
    };
    bool said_eof = false;
    size_t unhashed_kmod = 0, unhashed_mincore = 0, unhashed_mincore_tails = 0;
    for (size_t i = 0; i < k.size() && i < m.size(); ++i) {
      const CachedPage& a = k[i];
      const CachedPage& b = m[i];
      const uint32_t dirty = singleton::kPageDirty;
      if (a.folio_pages != b.folio_pages && clipped_end(a) == clipped_end(b) && !said_eof) {
        std::printf("note: the folio at %llu holds EOF: kmod %u pages, mincore %u (mapped part)\n",
                    (unsigned long long)a.folio_first, a.folio_pages, b.folio_pages);
        said_eof = true;
      }
      const bool hashes_differ = (a.flags & b.flags & singleton::kPageHashed) && a.hash != b.hash;
      if (a.index != b.index || hashes_differ || a.folio_first != b.folio_first ||
          clipped_end(a) != clipped_end(b) || (a.flags & dirty) != (b.flags & dirty)) {
        if (shown++ < 8)
          fail(
              "page #%zu: kmod {index %llu folio %llu+%u flags %#x hash %016llx}, "
              "mincore {index %llu folio %llu+%u flags %#x hash %016llx}",
              i, (unsigned long long)a.index, (unsigned long long)a.folio_first, a.folio_pages,
              a.flags, (unsigned long long)a.hash, (unsigned long long)b.index,
              (unsigned long long)b.folio_first, b.folio_pages, b.flags,
              (unsigned long long)b.hash);
      }
      if (!(a.flags & singleton::kPageHashed)) ++unhashed_kmod;
      if (!(b.flags & singleton::kPageHashed)) {
        ++unhashed_mincore;
        if (b.index != b.folio_first) ++unhashed_mincore_tails;
      }
    }

    if (unhashed_kmod) fail("kmod left %zu uptodate pages unhashed", unhashed_kmod);
    if (unhashed_mincore) {
      fail("mincore left %zu pages unhashed (%zu of them tail pages of large folios)",
           unhashed_mincore, unhashed_mincore_tails);
      if (unhashed_mincore_tails)
        std::printf(
            "hint: on the 6.1 line /proc/kpageflags reports PG_uptodate of each page "
            "(6.12: of its folio), so tail pages look not uptodate to the mincore backend; "
            "it should take uptodate from the folio's head frame\n");
    }

    // Bounded scans (ScanOptions::end, the placement tracker's): both backends return exactly
    // the folios of the full scan that hold a page of [from, end), with the same hashes.
    for (const auto [from, end] : {std::pair<uint64_t, uint64_t>{0, 1}, {100, 101},
                                   {255, 300}, {429, 430}, {1999, 2003}, {2900, 3000}}) {
      std::vector<uint64_t> want;
      for (const CachedPage& p : k) {
        if (p.folio_first < end && p.folio_first + p.folio_pages > from) want.push_back(p.index);
      }
      for (PageCacheView* view : {kmod.get(), mincore.get()}) {
        const singleton::ScanBatch batch = view->scan(file, from, {.hashes = true, .end = end});
        std::vector<uint64_t> got;
        for (const CachedPage& p : batch.pages) {
          got.push_back(p.index);
          const auto full = std::find_if(k.begin(), k.end(),
                                         [&](const CachedPage& q) { return q.index == p.index; });
          if (full != k.end() && (p.flags & full->flags & singleton::kPageHashed) &&
              p.hash != full->hash)
            fail("%s bounded scan [%llu, %llu): page %llu hash differs from the full scan",
                 view->name().c_str(), (unsigned long long)from, (unsigned long long)end,
                 (unsigned long long)p.index);
        }
        if (got != want || !batch.done)
          fail("%s bounded scan [%llu, %llu): %zu pages, the full scan's folios hold %zu",
               view->name().c_str(), (unsigned long long)from, (unsigned long long)end,
               got.size(), want.size());
      }
    }

    // A bounded scan that hashes every other folio (ScanOptions::hash_folio): both backends
    // hash the same pages.
    {
      std::vector<std::vector<uint64_t>> hashed(2);
      int which = 0;
      for (PageCacheView* view : {kmod.get(), mincore.get()}) {
        singleton::ScanOptions every_other{.hashes = true, .end = 2500};
        size_t asked = 0;
        every_other.hash_folio = [&](std::span<const CachedPage>) { return asked++ % 2 == 0; };
        const singleton::ScanBatch batch = view->scan(file, 0, every_other);
        for (const CachedPage& p : batch.pages) {
          if (p.flags & singleton::kPageHashed) hashed[which].push_back(p.index);
        }
        ++which;
      }
      if (hashed[0] != hashed[1] || hashed[0].empty())
        fail("hash_folio: kmod hashed %zu pages, mincore %zu, not the same ones",
             hashed[0].size(), hashed[1].size());
    }

    // Evict the first half of the folios through kmod, the rest through mincore; each time the
    // other backend must see the evicted pages gone (dirty ones stay).
    std::vector<singleton::PageRange> first_half, second_half;
    for (const CachedPage& p : k) {
      if (p.index != p.folio_first && p.index != k.front().index) continue;
      singleton::PageRange r{p.folio_first, p.folio_pages};
      (p.index < k[k.size() / 2].index ? first_half : second_half).push_back(r);
    }
    auto check_gone = [&](PageCacheView& evictor, PageCacheView& checker,
                          const std::vector<singleton::PageRange>& ranges) {
      const singleton::EvictResult r = evictor.evict(file, ranges);
      double t;
      const std::vector<CachedPage> left = scan_all(checker, file, &t);
      std::printf("evict via %s: requested %llu evicted %llu dirty %llu busy %llu\n",
                  evictor.name().c_str(), (unsigned long long)r.requested_pages,
                  (unsigned long long)r.evicted_pages,
                  (unsigned long long)r.skipped[singleton::SkipReason::kDirty],
                  (unsigned long long)r.skipped[singleton::SkipReason::kBusy]);
      uint64_t still = 0;
      for (const CachedPage& p : left) {
        for (const auto& range : ranges) {
          if (p.index >= range.first && p.index < range.end()) {
            still += 1;
            if (!(p.flags & (singleton::kPageDirty | singleton::kPageWriteback)) &&
                r.skipped[singleton::SkipReason::kBusy] == 0 &&
                r.skipped[singleton::SkipReason::kMapped] == 0)
              fail("clean page %llu still cached after %s evicted its range",
                   (unsigned long long)p.index, evictor.name().c_str());
          }
        }
      }
      if (still != r.requested_pages - r.evicted_pages)
        fail("%s: %llu pages left in the ranges, it said %llu", checker.name().c_str(),
             (unsigned long long)still, (unsigned long long)(r.requested_pages - r.evicted_pages));
    };
    check_gone(*kmod, *mincore, first_half);
    check_gone(*mincore, *kmod, second_half);
  } catch (const singleton::Error& e) {
    fail("%s", e.what());
  }
  std::printf("%s backends-agree %s: %d failure(s)\n", failures ? "FAILED" : "PASSED", argv[1],
              failures);
  return failures > 100 ? 100 : failures;
}
