// The two-level cache the issue asks about, as a model: N guests' page caches above one host
// page cache, under one policy (cache_policy.hpp). An access is a guest's read or write of one
// 4 KiB page of one of its images; the model says where it hit and what the host then does.
// Plain arrays indexed by block (no hashing, no allocation per access): the sweeps run hundreds
// of millions of accesses per policy.
#pragma once

#include <cstdint>
#include <vector>

#include "scrubber/advise/cache_policy.hpp"
#include "scrubber/advise/guest_cache.hpp"
#include "scrubber/advise/host_cache.hpp"
#include "scrubber/advise/model_counters.hpp"
#include "scrubber/advise/topology.hpp"

namespace singleton::advise {

class CacheModel {
 public:
  // Throws std::invalid_argument for a topology the model cannot hold (more than 2^32-2 pages,
  // more than 65535 VMs on one image, a VM's image index out of range).
  CacheModel(const Topology& topology, const Policy& policy);

  // The k-th image of VM `vm` (Topology::Vm::images[k]); accesses name it by this index.
  uint32_t attachment(uint32_t vm, uint32_t k = 0) const { return first_attachment_[vm] + k; }
  uint32_t attachments() const { return static_cast<uint32_t>(attachments_.size()); }

  void access(uint32_t attachment, uint32_t page, bool write = false);
  // Starts loading the memory access() will touch first; call a few accesses ahead.
  void prefetch(uint32_t attachment, uint32_t page) const {
    const Attachment& a = attachments_[attachment];
    __builtin_prefetch(guests_[a.vm].node_address(a.local_base + page));
    if (policy_.uses_host()) __builtin_prefetch(host_.node_address(a.global_base + page));
  }

  const ModelCounters& counters() const { return counters_; }
  void reset_counters() { counters_ = {}; }  // after a warm-up
  const HostCache& host() const { return host_; }
  const GuestCache& guest(uint32_t vm) const { return guests_[vm]; }
  const Policy& policy() const { return policy_; }
  uint64_t bytes() const;           // memory of the model's state
  uint64_t tracked_blocks() const;  // cache slots it models: the guests' and the host's

 private:
  struct Attachment {
    uint32_t vm;
    uint32_t local_base;   // in the VM's guest cache (its images end to end)
    uint32_t global_base;  // in the host cache (every image end to end)
    uint32_t pages;
  };
  uint32_t global_of(uint32_t vm, uint32_t local) const;
  void host_admit(uint32_t block);
  void evict_duplicates(uint64_t n);
  void guest_dropped(uint32_t vm, uint32_t local);

  Policy policy_;
  std::vector<Attachment> attachments_;
  std::vector<uint32_t> first_attachment_;  // per VM
  std::vector<GuestCache> guests_;
  HostCache host_;
  ModelCounters counters_;
  uint64_t since_sweep_ = 0;
  double save_credit_ = 0;
};

}  // namespace singleton::advise
