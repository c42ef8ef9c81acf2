#include "snapshot/memory/guest_snapshot.hpp"

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "snapshot/memory/kpageflags.hpp"
#include "snapshot/memory/page_hash.hpp"
#include "snapshot/memory/pagemap.hpp"
#include "snapshot/base/proc_files.hpp"
#include "snapshot/memory/process_memory.hpp"
#include "snapshot/base/page_size.hpp"

namespace singleton {
namespace {

// Thrown inside one VM's snapshot once its result says why it stopped.
struct SnapshotStopped {};

std::string describe(const Vm& vm) {
  std::string who = "pid " + std::to_string(vm.pid);
  return vm.name.empty() ? who : "VM '" + vm.name + "' (" + who + ")";
}

class VmSnapshotter {
 public:
  VmSnapshotter(const Vm& vm, KsmHashCache& ksm, const KpageflagsReader& kpageflags,
                const SnapshotOptions& options, GuestSnapshot& out)
      : vm_(vm), ksm_(ksm), kpageflags_(kpageflags), options_(options), out_(out) {
    batch_pages_ = std::max<size_t>(1, options.read_batch_bytes / kPageBytes);
    pinned_.buffer = std::make_unique<std::byte[]>(batch_pages_ * kPageBytes);
    unpinned_.buffer = std::make_unique<std::byte[]>(batch_pages_ * kPageBytes);
  }

  void run() {
    std::vector<MemoryRegion> regions;
    try {
      regions = select_regions(read_smaps(vm_.pid), options_.regions);
    } catch (const SystemError& e) {
      stop(e.err(), "read smaps");
    } catch (const Error& e) {  // smaps the parser does not understand
      out_.error = describe(vm_) + ": " + e.what();
      out_.error_code = e.code();
      throw SnapshotStopped{};
    }
    if (regions.empty()) {
      out_.error = describe(vm_) + ": no " + to_string(options_.regions) +
                   " memory regions to snapshot" +
                   (options_.regions == RegionSelection::kMergeable
                        ? " (a VMM that does not mark its RAM mergeable needs --regions anon)"
                        : "");
      out_.error_code = ExitCode::kPartial;
      return;
    }
    for (const auto& region : regions) {
      out_.counts.regions++;
      out_.counts.region_bytes += region.size();
      out_.counts.resident_bytes += region.rss_bytes;
    }
    hashes_.reserve(out_.counts.resident_bytes / kPageBytes);
    if (options_.in_place != nullptr) {
      snapshot_in_place(regions, *options_.in_place);
    } else {
      for (const auto& region : regions) copy_range(region.start, region.end);
    }
    flush(pinned_);
    flush(unpinned_);
  }

  std::vector<uint64_t> take_hashes() { return std::move(hashes_); }

 private:
  // The module hashes every present page where it is: no pagemap, no copy, no pin (KSM pages
  // stay merged); it says which pages are the zero page or KSM. A page whose hash is that of a
  // page of zeros counts as zero (as a copied page does after a byte check; 2^-64 apart).
  void snapshot_in_place(const std::vector<MemoryRegion>& regions, const InPlaceHasher& hasher) {
    out_.reader = hasher.name();
    std::unique_ptr<InPlaceProcessPages> process;
    try {
      process = hasher.open(vm_.pid);
    } catch (const SystemError& e) {
      stop(e.err(), "pidfd_open");
    }
    const uint64_t zero_hash = zero_page_hash();
    std::vector<InPlacePage> pages;
    for (const MemoryRegion& region : regions) {
      for (uint64_t vaddr = region.start; vaddr < region.end;) {
        uint64_t next = vaddr;
        try {
          next = process->describe(vaddr, region.end, pages);
        } catch (const SystemError& e) {
          if (e.err() != EOPNOTSUPP) stop(e.err(), hasher.name() + " process pages");
          // Memory the hasher cannot look at without faulting pages in (hugetlb before Linux
          // 6.6): the pages pagemap shows present are copied out like any snapshot's.
          out_.counts.regions_copied++;
          copy_range(vaddr, region.end);
          break;
        }
        if (next <= vaddr || next > region.end) stop(EIO, hasher.name() + " process pages: no progress");
        vaddr = next;
        for (const InPlacePage& page : pages) {
          if (!(page.flags & kInPlacePresent)) continue;
          out_.counts.present_pages++;
          if (page.flags & kInPlaceKsm) out_.counts.ksm_pages++;
          if (!(page.flags & kInPlaceHashed)) continue;  // poisoned: never read
          out_.counts.pages_read++;
          add_hash(page.hash, (page.flags & kInPlaceZero) || page.hash == zero_hash);
        }
        if (options_.on_batch) options_.on_batch(out_.counts.pages_read);
      }
    }
  }

  // Copies out and hashes the present pages of [start, end): pagemap says which pages are
  // present, and nothing else is touched (no page is faulted in).
  void copy_range(uint64_t start, uint64_t end) {
    if (!pagemap_) {
      try {
        pagemap_ = std::make_unique<PagemapReader>(vm_.pid);
        mem_file_ = std::make_unique<ProcessMemFile>(vm_.pid);
      } catch (const SystemError& e) {
        stop(e.err(), "open /proc/" + std::to_string(vm_.pid) + "/pagemap or /mem");
      }
      entries_.resize(std::max<size_t>(1, options_.pagemap_batch_pages));
    }
    for (uint64_t vaddr = start; vaddr < end;) {
      size_t pages = std::min<uint64_t>(entries_.size(), (end - vaddr) / kPageBytes);
      std::span<PagemapEntry> window(entries_.data(), pages);
      size_t got = pagemap_->read(vaddr, window);
      if (got < pages) stop(ESRCH, "read pagemap");
      classify(vaddr, window);
      vaddr += pages * kPageBytes;
    }
  }

  // Sorts the present pages of one pagemap window into zero pages, KSM pages whose hash is
  // known, and pages to read.
  void classify(uint64_t vaddr, std::span<const PagemapEntry> window) {
    const std::span<const uint64_t> page_flags = frame_flags_.read(window, kpageflags_);

    for (size_t i = 0; i < window.size(); ++i) {
      const PagemapEntry& entry = window[i];
      if (!entry.present()) continue;
      out_.counts.present_pages++;
      uint64_t flags = page_flags[i];
      if (flags & kKpfZeroPage) {
        out_.counts.zero_pages++;
        continue;
      }
      uint64_t page_vaddr = vaddr + i * kPageBytes;
      if (!(flags & kKpfKsm)) {
        queue_read(entry.exclusive() ? pinned_ : unpinned_, page_vaddr, 0);
        continue;
      }
      out_.counts.ksm_pages++;
      uint64_t pfn = entry.pfn();
      if (auto hash = ksm_.lookup(pfn)) {
        out_.counts.ksm_hashes_reused++;
        add_hash(*hash, /*zero=*/*hash == zero_page_hash());
      } else if (auto pending = pending_ksm_.find(pfn); pending != pending_ksm_.end()) {
        pending->second++;  // already queued in this batch: hashed once, counted again later
      } else {
        pending_ksm_.emplace(pfn, 0);
        queue_read(unpinned_, page_vaddr, pfn);
      }
    }
  }

  // Pages waiting to be copied, and how: `pinned_` (process_vm_readv) for exclusively owned
  // pages, `unpinned_` (/proc/PID/mem) for shared and KSM pages, which a pin would unshare.
  struct ReadQueue {
    bool pin = false;
    std::vector<uint64_t> vaddrs;
    std::vector<uint64_t> ksm_pfns;  // parallel to vaddrs; 0 for non-KSM pages
    std::unique_ptr<std::byte[]> buffer;
  };

  void queue_read(ReadQueue& queue, uint64_t vaddr, uint64_t ksm_pfn) {
    queue.vaddrs.push_back(vaddr);
    queue.ksm_pfns.push_back(ksm_pfn);
    if (queue.vaddrs.size() >= batch_pages_) flush(queue);
  }

  void flush(ReadQueue& queue) {
    if (queue.vaddrs.empty()) return;
    PageReadResult read = queue.pin ? read_process_pages(vm_.pid, queue.vaddrs, queue.buffer.get())
                                    : mem_file_->read_pages(queue.vaddrs, queue.buffer.get());
    out_.counts.pages_read += read.pages;
    const uint64_t zero_hash = zero_page_hash();
    for (size_t i = 0; i < read.pages; ++i) {
      const std::byte* page = queue.buffer.get() + i * kPageBytes;
      uint64_t hash = hash_page(page);
      bool zero = hash == zero_hash && is_zero_page(page);
      add_hash(hash, zero);
      if (uint64_t pfn = queue.ksm_pfns[i]) {
        ksm_.insert(pfn, hash);
        uint64_t aliases = pending_ksm_[pfn];
        pending_ksm_.erase(pfn);
        out_.counts.ksm_hashes_reused += aliases;
        if (zero) {
          out_.counts.zero_pages += aliases;
        } else {
          out_.counts.indexed_pages += aliases;
        }
      }
    }
    if (read.err != 0) {
      uint64_t at = queue.vaddrs[read.pages];
      char where[32];
      std::snprintf(where, sizeof where, "0x%llx", static_cast<unsigned long long>(at));
      stop(read.err,
           std::string(queue.pin ? "process_vm_readv" : "read /proc/PID/mem") + " at " + where);
    }
    queue.vaddrs.clear();
    queue.ksm_pfns.clear();
    if (options_.on_batch) options_.on_batch(out_.counts.pages_read);
  }

  void add_hash(uint64_t hash, bool zero) {
    if (zero) {
      out_.counts.zero_pages++;
    } else {
      out_.counts.indexed_pages++;
      hashes_.push_back(hash);
    }
  }

  // Records why the snapshot of this VM cannot go on, then unwinds to snapshot_vm.
  [[noreturn]] void stop(int err, const std::string& what) {
    out_.error_code = ExitCode::kPartial;
    if (!process_alive(vm_.pid)) {
      out_.vanished = true;
      out_.error = describe(vm_) + ": the process exited during the snapshot";
    } else if (err == EPERM || err == EACCES) {
      out_.error = describe(vm_) + ": " + what + ": " + std::strerror(err) +
                   " (reading another process's memory needs root)";
      out_.error_code = ExitCode::kEnvironment;
    } else if (err == EFAULT || err == ENOMEM) {
      out_.vanished = true;
      out_.error = describe(vm_) + ": guest memory was unmapped during the snapshot (" + what + ")";
    } else {
      out_.error = describe(vm_) + ": " + what + ": " + std::strerror(err);
    }
    throw SnapshotStopped{};
  }

  const Vm& vm_;
  KsmHashCache& ksm_;
  const KpageflagsReader& kpageflags_;
  const SnapshotOptions& options_;
  GuestSnapshot& out_;

  size_t batch_pages_ = 0;
  ReadQueue pinned_{.pin = true};
  ReadQueue unpinned_{.pin = false};
  std::unique_ptr<PagemapReader> pagemap_;  // opened on the first copy
  std::unique_ptr<ProcessMemFile> mem_file_;
  std::vector<PagemapEntry> entries_;
  WindowFrameFlags frame_flags_;
  boost::unordered_flat_map<uint64_t, uint64_t> pending_ksm_;  // queued pfn -> further mappings
  std::vector<uint64_t> hashes_;
};

GuestSnapshot snapshot_with(const Vm& vm, KsmHashCache& ksm, const KpageflagsReader& kpageflags,
                            const SnapshotOptions& options) {
  auto started = std::chrono::steady_clock::now();
  GuestSnapshot snapshot;
  snapshot.vm = vm;
  VmSnapshotter snapshotter(vm, ksm, kpageflags, options, snapshot);
  try {
    snapshotter.run();
  } catch (const SnapshotStopped&) {
    // The reason is in snapshot.error; what was read so far is kept, flagged incomplete.
  }
  snapshot.index = PageIndex(snapshotter.take_hashes());
  snapshot.counts.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return snapshot;
}

}  // namespace

GuestSnapshot snapshot_vm(const Vm& vm, KsmHashCache& ksm, const SnapshotOptions& options) {
  KpageflagsReader kpageflags;
  return snapshot_with(vm, ksm, kpageflags, options);
}

std::vector<GuestSnapshot> snapshot_vms(const std::vector<Vm>& vms, KsmHashCache& ksm,
                                        const SnapshotOptions& options) {
  KpageflagsReader kpageflags;
  std::vector<GuestSnapshot> snapshots;
  snapshots.reserve(vms.size());
  ksm.begin_pass();
  for (const auto& vm : vms) snapshots.push_back(snapshot_with(vm, ksm, kpageflags, options));
  ksm.end_pass();
  return snapshots;
}

}  // namespace singleton
