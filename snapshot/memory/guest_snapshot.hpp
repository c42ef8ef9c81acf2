// A snapshot of what one guest's memory holds: the content hashes of its present pages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "snapshot/base/error.hpp"
#include "snapshot/memory/ksm_hash_cache.hpp"
#include "snapshot/memory/in_place_hasher.hpp"
#include "snapshot/memory/page_index.hpp"
#include "snapshot/memory/smaps.hpp"
#include "snapshot/discovery/vm.hpp"

namespace singleton {

struct SnapshotOptions {
  RegionSelection regions = RegionSelection::kMergeable;
  // Bytes copied per process_vm_readv call: small enough to stay in L2 while they are hashed.
  size_t read_batch_bytes = 1024 * 1024;
  // Pagemap entries read per call (x 8 bytes).
  size_t pagemap_batch_pages = 64 * 1024;
  // Called after each batch of pages is copied and hashed, with the pages read so far: progress
  // reports, and tests that must act in the middle of a snapshot.
  std::function<void(uint64_t pages_read)> on_batch;
  // Hashes the pages in place (the module) instead of copying them out; nullptr: copy
  // (process_vm_readv for exclusive pages, /proc/PID/mem for shared and KSM ones). A region the
  // hasher refuses (EOPNOTSUPP: hugetlb memory on kernels before 6.6) is copied.
  const InPlaceHasher* in_place = nullptr;
};

struct SnapshotCounts {
  uint64_t regions = 0;            // selected memory regions
  uint64_t region_bytes = 0;       // their total size (guest RAM as mapped)
  uint64_t resident_bytes = 0;     // their Rss at the start of the snapshot
  uint64_t present_pages = 0;      // pages present in RAM (pagemap)
  uint64_t indexed_pages = 0;      // non-zero present pages hashed into the index
  uint64_t zero_pages = 0;         // present pages of zeros (not indexed)
  uint64_t ksm_pages = 0;          // present pages on a KSM frame
  uint64_t ksm_hashes_reused = 0;  // KSM pages whose hash came from the cache (not read)
  uint64_t pages_read = 0;         // pages copied from the process (or hashed in place)
  // Regions (or their tails) the in-place hasher cannot look at without faulting pages in
  // (hugetlb memory before Linux 6.6: EOPNOTSUPP), copied out instead.
  uint64_t regions_copied = 0;
  double seconds = 0;
};

struct GuestSnapshot {
  Vm vm;
  PageIndex index;
  SnapshotCounts counts;
  // The process exited or unmapped guest memory during the snapshot: the index is incomplete
  // and must not be used to evict anything on this VM's behalf.
  bool vanished = false;
  std::string error;  // what went wrong, naming the pid; "" when complete
  std::string reader = "process_vm_readv";  // or the in-place hasher's name ("kmod")
  ExitCode error_code = ExitCode::kDone;

  bool complete() const { return !vanished && error.empty(); }
  bool contains(uint64_t hash) const { return index.contains(hash); }
};

// Reads and indexes the present pages of `vm.pid`'s guest RAM. Never throws for problems of
// that process (gone, no access, memory unmapped): they are reported in the result. KSM frames
// are looked up in and added to `ksm`; call ksm.begin_pass()/end_pass() around a pass, or use
// snapshot_vms.
GuestSnapshot snapshot_vm(const Vm& vm, KsmHashCache& ksm, const SnapshotOptions& options = {});

// One pass over several VMs: a KSM frame shared by several of them is hashed once.
std::vector<GuestSnapshot> snapshot_vms(const std::vector<Vm>& vms, KsmHashCache& ksm,
                                        const SnapshotOptions& options = {});

}  // namespace singleton
