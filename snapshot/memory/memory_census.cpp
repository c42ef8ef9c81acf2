#include "snapshot/memory/memory_census.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "snapshot/base/error.hpp"
#include "snapshot/base/page_size.hpp"
#include "snapshot/base/proc_files.hpp"
#include "snapshot/memory/kpageflags.hpp"
#include "snapshot/memory/page_hash.hpp"
#include "snapshot/memory/pagemap.hpp"
#include "snapshot/memory/process_memory.hpp"

namespace singleton {
namespace {

struct CensusStopped {};

class Censor {
 public:
  Censor(const CensusOptions& options, MemoryCensus& out)
      : options_(options), out_(out),
        batch_pages_(std::max<size_t>(1, options.read_batch_bytes / kPageBytes)),
        buffer_(std::make_unique<std::byte[]>(batch_pages_ * kPageBytes)) {}

  void run() {
    const pid_t pid = out_.vm.pid;
    std::vector<MemoryRegion> regions;
    try {
      regions = select_regions(read_smaps(pid), options_.regions);
    } catch (const SystemError& e) {
      stop(e.err(), "read smaps");
    } catch (const Error& e) {
      fail(e.what());
    }
    if (regions.empty()) fail(std::string("no ") + to_string(options_.regions) + " memory regions");
    for (const MemoryRegion& region : regions) out_.region_bytes += region.size();
    std::unique_ptr<PagemapReader> pagemap;
    try {
      pagemap = std::make_unique<PagemapReader>(pid);
      mem_ = std::make_unique<ProcessMemFile>(pid);
    } catch (const SystemError& e) {
      stop(e.err(), "open /proc/" + std::to_string(pid) + "/pagemap or /mem");
    }
    entries_.resize(std::max<size_t>(1, options_.pagemap_batch_pages));
    for (const MemoryRegion& region : regions) {
      for (uint64_t vaddr = region.start; vaddr < region.end;) {
        const size_t pages = std::min<uint64_t>(entries_.size(), (region.end - vaddr) / kPageBytes);
        std::span<PagemapEntry> window(entries_.data(), pages);
        if (pagemap->read(vaddr, window) < pages) stop(ESRCH, "read pagemap");
        classify(vaddr, window);
        vaddr += pages * kPageBytes;
      }
    }
    flush();
    std::sort(out_.hashes.begin(), out_.hashes.end());
  }

 private:
  void classify(uint64_t vaddr, std::span<const PagemapEntry> window) {
    const std::span<const uint64_t> page_flags = frame_flags_.read(window, kpageflags_);
    for (size_t i = 0; i < window.size(); ++i) {
      if (!window[i].present()) continue;
      out_.present_pages++;
      if (page_flags[i] & kKpfZeroPage) {
        out_.zero_pages++;
        continue;
      }
      if (page_flags[i] & kKpfKsm) out_.ksm_pages++;
      vaddrs_.push_back(vaddr + i * kPageBytes);
      if (vaddrs_.size() >= batch_pages_) flush();
    }
  }

  void flush() {
    if (vaddrs_.empty()) return;
    const PageReadResult read = mem_->read_pages(vaddrs_, buffer_.get());
    out_.pages_read += read.pages;
    for (size_t i = 0; i < read.pages; ++i) {
      const std::byte* page = buffer_.get() + i * kPageBytes;
      out_.sample.offer(page);
      const uint64_t hash = hash_page(page);
      if (is_zero_page(page, hash)) {
        out_.zero_pages++;
      } else {
        out_.hashes.push_back(hash);
      }
    }
    if (read.err != 0) stop(read.err, "read /proc/PID/mem");
    vaddrs_.clear();
    if (options_.on_batch) options_.on_batch(out_.pages_read);
  }

  [[noreturn]] void fail(const std::string& what) {
    out_.error = describe() + ": " + what;
    throw CensusStopped{};
  }

  [[noreturn]] void stop(int err, const std::string& what) {
    if (!process_alive(out_.vm.pid) || err == ESRCH || err == EFAULT) {
      out_.vanished = true;
      out_.error = describe() + ": the process exited or unmapped guest memory (" + what + ")";
      throw CensusStopped{};
    }
    fail(what + ": " + std::strerror(err));
  }

  std::string describe() const {
    const std::string who = "pid " + std::to_string(out_.vm.pid);
    return out_.vm.name.empty() ? who : "VM " + out_.vm.name + " (" + who + ")";
  }

  const CensusOptions& options_;
  MemoryCensus& out_;
  size_t batch_pages_;
  std::unique_ptr<std::byte[]> buffer_;
  KpageflagsReader kpageflags_;
  std::unique_ptr<ProcessMemFile> mem_;
  std::vector<PagemapEntry> entries_;
  WindowFrameFlags frame_flags_;
  std::vector<uint64_t> vaddrs_;
};

}  // namespace

MemoryCensus take_memory_census(const Vm& vm, const CensusOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  MemoryCensus census{.vm = vm, .sample = CompressionSample(options.sample_every)};
  Censor censor(options, census);
  try {
    censor.run();
  } catch (const CensusStopped&) {
    // census.error says why; what was counted so far stays, flagged incomplete
  }
  census.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return census;
}

}  // namespace singleton
