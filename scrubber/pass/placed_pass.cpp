#include "scrubber/pass/placed_pass.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>

#include "snapshot/base/error.hpp"
#include "snapshot/base/page_size.hpp"
#include "snapshot/memory/process_memory.hpp"

namespace singleton {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A guest page to read: where it is in QEMU and which host page it is compared with.
struct GuestPage {
  uint64_t addr = 0;
  uint64_t page = 0;       // image page
  uint64_t host_hash = 0;  // the host page's XXH64 (or, re-verifying, the guest's at placement)
  ImageFileId image;
  bool compare = true;  // false: no host page to compare with (not cached); record the hash
};

// Reads and hashes guest pages (any order; sorted here) through `mem_of(false)`, the process's
// /proc/PID/mem (nullptr: it cannot be read, nothing is said about its pages), and calls
// `result(page, hash)` for each page read, `unreadable(page)` for each address no longer mapped.
// A cached file whose process is gone is opened again once (`mem_of(true)`): the pid may be a
// new QEMU's.
template <typename MemOf, typename OnHash, typename OnUnreadable>
void hash_guest_pages(MemOf&& mem_of, std::vector<GuestPage>& pages, OnHash&& result,
                      OnUnreadable&& unreadable) {
  std::sort(pages.begin(), pages.end(),
            [](const GuestPage& a, const GuestPage& b) { return a.addr < b.addr; });
  ProcessMemFile* mem = mem_of(false);
  if (mem == nullptr) return;
  bool reopened = false;
  std::vector<uint64_t> addrs;
  addrs.reserve(pages.size());
  for (const GuestPage& p : pages) addrs.push_back(p.addr);
  std::vector<std::byte> buffer(kPageBytes * std::min<size_t>(addrs.size(), 256));
  for (size_t at = 0; at < addrs.size();) {
    const size_t n = std::min<size_t>(addrs.size() - at, 256);
    const PageReadResult read =
        mem->read_pages(std::span<const uint64_t>(addrs).subspan(at, n), buffer.data());
    for (size_t k = 0; k < read.pages; ++k) {
      result(pages[at + k], XXH64(buffer.data() + k * kPageBytes, kPageBytes, 0));
    }
    at += read.pages;
    if (read.pages == n) continue;
    if (read.err == ESRCH) {
      if (reopened || (mem = mem_of(true)) == nullptr) return;  // exited: discovery drops it
      reopened = true;
      continue;
    }
    unreadable(pages[at]);  // EFAULT, EIO: that address is no longer guest memory
    ++at;
  }
}

}  // namespace

ProcessMemFile* PlacedScrubber::mem_of(pid_t pid, bool reopen) {
  auto& file = mem_[pid];
  if (!file || reopen) {
    file.reset();
    try {
      file = std::make_unique<ProcessMemFile>(pid);
    } catch (const Error&) {
      mem_.erase(pid);
      return nullptr;
    }
  }
  return file.get();
}

bool PlacedScrubber::in_guest_ram(pid_t pid, uint64_t addr, std::set<pid_t>& reread) {
  auto inside = [&] {
    const auto& regions = ram_[pid];
    return std::any_of(regions.begin(), regions.end(), [addr](const MemoryRegion& r) {
      return addr >= r.start && addr + kPageBytes <= r.end;
    });
  };
  if (inside()) return true;
  if (!reread.insert(pid).second) return false;
  try {
    ram_[pid] = select_regions(read_smaps(pid), RegionSelection::kMergeable);
  } catch (const Error&) {
    ram_[pid].clear();  // gone or unreadable: nothing is guest RAM
  }
  return inside();
}

PassReport PlacedScrubber::run(PageCacheView& view, ImageSet& images, std::span<const Vm> vms,
                               PendingPages& pending, PendingPages& retry,
                               const PassOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  PassReport report = new_pass_report(view, options);
  report.tracker = "bpf";
  TrackerCounts& tracked = report.tracked;
  const ScrubPolicy policy(options.shared_policy);
  uint64_t budget = options.max_evict_pages;
  std::set<pid_t> reread;
  PassProgress progress{options.evict ? "scrub" : "scan", "", 0, pending.size(), 0};

  for (auto& [i, wanted] : pending) {
    Image& image = images.images.at(i);
    const auto image_start = std::chrono::steady_clock::now();
    ImageReport out;
    out.path = image.path;
    for (size_t v : image.vms) out.vms.push_back(vms[v].name);
    tracked.placed_pages += wanted.size();
    ++progress.item;
    progress.what = image.path;
    if (!image.file) {
      out.error = image.error;
      report.images.push_back(std::move(out));
      continue;
    }
    try {
      const ReadOnlyFile& file = *image.file;
      const ImageFileId id{file.device(), file.inode()};
      // Only folios that can go now are hashed, host and guest: every page placed by the VMs
      // the policy needs (a folio whose other pages are not placed yet is looked at again when
      // they are, as they are queued then), and clean (a held dirty folio is retried after
      // writeback). So each folio is hashed about once, when the guests' reads complete it.
      const auto attached = [&](pid_t pid) {
        return std::any_of(image.vms.begin(), image.vms.end(),
                           [&](size_t v) { return vms[v].pid == pid; });
      };
      const auto placed_enough = [&](uint64_t page) {
        size_t by_attached = 0;
        for (const Placement& where : map_.holders(id, page)) by_attached += attached(where.pid);
        return policy.shared() == SharedPolicy::kAny ? by_attached > 0
                                                     : by_attached >= image.vms.size();
      };
      ScanOptions scan{.hashes = true};
      uint64_t covered = 0;  // pages below it were looked at by an earlier scan of this pass
      scan.hash_folio = [&](std::span<const CachedPage> folio) {
        const CachedPage& head = folio.front();
        if (head.index < covered) return false;  // a folio two runs share: judged once
        uint32_t flags = 0;
        bool complete = head.index == head.folio_first && folio.size() == head.folio_pages;
        uint64_t wanted_here = 0;
        for (const CachedPage& page : folio) {
          flags |= page.flags;
          wanted_here += wanted.contains(page.index);
          complete = complete && placed_enough(page.index);
        }
        if (!complete) {
          tracked.incomplete_folio_pages += wanted_here;
          return false;
        }
        if (flags & (kPageDirty | kPageWriteback)) {
          out.counts.skipped[(flags & kPageDirty) ? SkipReason::kDirty : SkipReason::kWriteback] +=
              folio.size();
          for (const CachedPage& page : folio) {
            if (wanted.contains(page.index)) {
              retry[i].insert(page.index);
              ++tracked.retry_pages;
            }
          }
          return false;
        }
        return true;
      };
      // The folios holding the wanted pages, each once, ascending: one bounded scan per run of
      // wanted pages; `seen` all of them, `host` the ones hashed.
      std::vector<CachedPage> seen;
      std::vector<CachedPage> host;
      // One mapping of the image for all its runs, unmapped before the eviction below.
      std::optional<PageCacheView::KeptMapping> kept(std::in_place, view);
      for (auto it = wanted.begin(); it != wanted.end();) {
        uint64_t first = *it, end = first + 1;
        for (++it; it != wanted.end() && *it == end; ++it) ++end;
        first = std::max(first, covered);
        if (first >= end) continue;
        scan.end = end;
        const ScanBatch batch = view.scan(file, first, scan);
        for (const CachedPage& page : batch.pages) {
          if (page.index < covered) continue;
          seen.push_back(page);
          if (page.flags & kPageHashed) host.push_back(page);
        }
        if (!seen.empty()) covered = std::max(covered, seen.back().index + 1);
      }
      kept.reset();
      tracked.host_pages_hashed += host.size();

      // The guest pages placed at those host pages, by VM (only the VMs on this image); and
      // those placed at pages the host does not cache (evicted since, or never cached): their
      // hash is recorded as they are now, which is the block QEMU just read or wrote, so that
      // re-verification can tell when the guest reuses the page.
      std::map<pid_t, std::vector<GuestPage>> by_pid;
      std::vector<uint64_t> uncached;
      {
        auto h = seen.begin();
        for (uint64_t page : wanted) {
          while (h != seen.end() && h->index < page) ++h;
          if (h == seen.end() || h->index != page) uncached.push_back(page);
        }
      }
      auto add_guest_pages = [&](uint64_t page, uint64_t host_hash, bool compare) {
        for (const Placement& where : map_.holders(id, page)) {
          if (!attached(where.pid)) continue;
          if (!in_guest_ram(where.pid, where.addr, reread)) {
            ++tracked.outside_guest_ram;
            map_.drop(id, page, where.pid);
            continue;
          }
          by_pid[where.pid].push_back({where.addr, page, host_hash, id, compare});
        }
      };
      for (const CachedPage& page : host) {
        if (page.flags & kPageHashed) add_guest_pages(page.index, page.hash, true);
      }
      for (uint64_t page : uncached) add_guest_pages(page, 0, false);
      std::map<pid_t, std::vector<uint64_t>> held_hashes;
      for (auto& [pid, pages] : by_pid) {
        hash_guest_pages(
            [&](bool reopen) { return mem_of(pid, reopen); }, pages,
            [&](const GuestPage& g, uint64_t hash) {
              ++tracked.guest_pages_hashed;
              if (!g.compare) {
                map_.mark_verified(id, g.page, pid, hash);
              } else if (hash == g.host_hash) {
                ++tracked.guest_pages_matched;
                map_.mark_verified(id, g.page, pid, hash);
                held_hashes[pid].push_back(hash);
              } else {
                ++tracked.stale_placements;
                map_.drop(id, g.page, pid);
              }
            },
            [&](const GuestPage& g) {
              ++tracked.stale_placements;
              map_.drop(id, g.page, pid);
            });
      }
      // One index per VM on the image (empty for a VM with nothing placed here): the shared
      // policy then decides exactly as in the full pass.
      std::vector<PageIndex> indices;
      indices.reserve(image.vms.size());
      for (size_t v : image.vms) {
        auto it = held_hashes.find(vms[v].pid);
        indices.emplace_back(it == held_hashes.end() ? std::vector<uint64_t>{}
                                                     : std::move(it->second));
      }
      std::vector<const PageIndex*> holders;
      for (const PageIndex& index : indices) holders.push_back(&index);

      EvictionPlan plan;
      plan.counts.skipped = out.counts.skipped;  // the dirty folios not hashed
      plan_batch(host, policy, holders, budget, plan);
      carry_out(view, file, options.evict, plan);
      // A held page in a dirty or writeback folio becomes an evictable duplicate once written
      // back: looked at again later. (Dirty folios were not hashed; this is a folio dirtied
      // after the scan judged it, as the kmod view reads the flags again when it hashes.)
      for (const CachedPage& page : host) {
        if ((page.flags & (kPageDirty | kPageWriteback)) && wanted.contains(page.index) &&
            (page.flags & kPageHashed) && policy.held(page.hash, holders)) {
          retry[i].insert(page.index);
          ++tracked.retry_pages;
        }
      }
      out.counts = plan.counts;
      // What this pass looked at: the folios of the placed pages, not the whole image.
      out.counts.cached_pages_before = host.size();
      out.counts.cached_pages_after = host.size() - std::min<uint64_t>(host.size(),
                                                                       out.counts.evicted_pages);
    } catch (const Error& e) {
      out.error = e.what();
    }
    out.seconds = seconds_since(image_start);
    report.totals += out.counts;
    report.images.push_back(std::move(out));
    progress.pages = tracked.host_pages_hashed;
    if (options.on_progress) options.on_progress(progress);
  }
  pending.clear();
  report.scrub_seconds = seconds_since(start);
  report.duration_seconds = report.scrub_seconds;
  return report;
}

size_t PlacedScrubber::reverify(size_t n) {
  const std::vector<PlacedPage> sample = map_.next_after(reverify_cursor_, n);
  std::map<pid_t, std::vector<GuestPage>> by_pid;
  for (const PlacedPage& p : sample) {
    if (p.where.verified) {
      by_pid[p.where.pid].push_back({p.where.addr, p.page, p.where.hash, p.image, true});
    }
  }
  size_t dropped = 0;
  for (auto& [pid, pages] : by_pid) {
    auto drop = [&](const GuestPage& g) {
      map_.drop(g.image, g.page, pid);
      ++dropped;
    };
    hash_guest_pages(
        [&](bool reopen) { return mem_of(pid, reopen); }, pages,
        [&](const GuestPage& g, uint64_t hash) {
          if (hash != g.host_hash) drop(g);
        },
        drop);
  }
  return dropped;
}

void PlacedScrubber::forget(pid_t pid) {
  map_.forget(pid);
  ram_.erase(pid);
  mem_.erase(pid);
}

}  // namespace singleton
