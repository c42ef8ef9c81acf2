#include "scrubber/advise/cache_model.hpp"

#include <limits>
#include <stdexcept>
#include <string>

namespace singleton::advise {
namespace {

// Block numbers are 32-bit (kNil and kOut reserved): 16 TiB of images per model.
constexpr uint64_t kMaxBlocks = kOut;

uint64_t checked_total(const Topology& t) {
  const uint64_t total = t.total_pages();
  if (total > kMaxBlocks)
    throw std::invalid_argument("the images hold " + std::to_string(total) +
                                " pages; the model takes at most " + std::to_string(kMaxBlocks));
  return total;
}

// Policies that give the host's memory to someone else see another topology.
Topology effective(const Topology& t, const Policy& p) {
  Topology e = t;
  if (!p.uses_host()) {
    if (p.kind == PolicyKind::kNoneBiggerGuests && !e.vms.empty())
      for (Topology::Vm& vm : e.vms) vm.cache_blocks += t.host_blocks / e.vms.size();
    e.host_blocks = 0;
  }
  return e;
}

}  // namespace

CacheModel::CacheModel(const Topology& topology, const Policy& policy)
    : policy_(policy), host_(checked_total(topology), effective(topology, policy).host_blocks) {
  const Topology t = effective(topology, policy);
  std::vector<uint64_t> image_base(t.image_pages.size());
  std::vector<uint32_t> vms_on_image(t.image_pages.size(), 0);
  uint64_t base = 0;
  for (size_t i = 0; i < t.image_pages.size(); ++i) {
    image_base[i] = base;
    base += t.image_pages[i];
  }
  for (uint32_t v = 0; v < t.vms.size(); ++v) {
    first_attachment_.push_back(static_cast<uint32_t>(attachments_.size()));
    uint64_t local = 0;
    for (uint32_t image : t.vms[v].images) {
      if (image >= t.image_pages.size())
        throw std::invalid_argument("VM " + std::to_string(v) + " reads image " +
                                    std::to_string(image) + ", which does not exist");
      if (local + t.image_pages[image] > kMaxBlocks)
        throw std::invalid_argument("VM " + std::to_string(v) + "'s images are too large");
      attachments_.push_back(Attachment{v, static_cast<uint32_t>(local),
                                        static_cast<uint32_t>(image_base[image]),
                                        static_cast<uint32_t>(t.image_pages[image])});
      local += t.image_pages[image];
      ++vms_on_image[image];
    }
    guests_.emplace_back(local, t.vms[v].cache_blocks, t.guest_lru);
  }
  if (t.shared_rule == SharedRule::kAll) {
    for (size_t i = 0; i < t.image_pages.size(); ++i) {
      if (vms_on_image[i] > std::numeric_limits<uint16_t>::max())
        throw std::invalid_argument("more than 65535 VMs on one image");
      if (vms_on_image[i] > 1)
        host_.set_need(image_base[i], t.image_pages[i], static_cast<uint16_t>(vms_on_image[i]));
    }
  }
}

uint32_t CacheModel::global_of(uint32_t vm, uint32_t local) const {
  uint32_t a = first_attachment_[vm];
  while (local >= attachments_[a].local_base + attachments_[a].pages) ++a;
  return attachments_[a].global_base + (local - attachments_[a].local_base);
}

void CacheModel::evict_duplicates(uint64_t n) {
  for (uint64_t i = 0; i < n && host_.duplicates() > 0; ++i) {
    host_.remove(policy_.order == EvictOrder::kNewest ? host_.newest_duplicate()
                                                      : host_.oldest_duplicate());
    ++counters_.duplicate_evictions;
  }
}

void CacheModel::host_admit(uint32_t block) {
  if (host_.capacity() == 0) return;
  if (host_.contains(block)) {
    host_.touch(block);
    return;
  }
  // The watch under pressure: the host cache is within its headroom of the bound.
  if (policy_.kind == PolicyKind::kPressure && host_.size() + policy_.headroom >= host_.capacity())
    evict_duplicates(policy_.step);
  // The kernel's reclaim: the least recently used block, duplicate or not.
  while (host_.full()) {
    host_.remove(host_.least_recent());
    ++counters_.lru_evictions;
  }
  host_.admit(block);
}

void CacheModel::guest_dropped(uint32_t vm, uint32_t local) {
  const uint32_t block = global_of(vm, local);
  host_.guest_dropped(block);
  switch (policy_.kind) {
    case PolicyKind::kDemote:
      ++counters_.saved_drops;
      host_admit(block);
      break;
    case PolicyKind::kSaveOnOverwrite:
      save_credit_ += policy_.catch_rate;
      if (save_credit_ >= 1.0) {
        save_credit_ -= 1.0;
        ++counters_.saved_drops;
        host_admit(block);
      }
      break;
    case PolicyKind::kReadmit:
      if (!host_.contains(block)) ++counters_.readmit_reads;
      host_admit(block);
      break;
    default:
      break;
  }
}

void CacheModel::access(uint32_t attachment, uint32_t page, bool write) {
  const Attachment& a = attachments_[attachment];
  GuestCache& guest = guests_[a.vm];
  const uint32_t local = a.local_base + page;
  const uint32_t block = a.global_base + page;
  ++counters_.accesses;
  counters_.writes += write;
  const bool uses_host = policy_.uses_host();
  uint32_t dropped = kNil;
  if (guest.hit(local)) {
    ++counters_.guest_hits;
    counters_.guest_read_hits += !write;
  } else {
    if (write) {
      if (uses_host) host_admit(block);  // cache=writeback: the written page lands in the host
    } else if (uses_host && host_.contains(block)) {
      ++counters_.host_hits;
      host_.touch(block);
    } else {
      ++counters_.device_reads;
      if (uses_host) host_admit(block);  // read through the host cache
    }
    dropped = guest.insert(local);
    host_.guest_got(block);
  }
  // Sweep before the dropped block goes anywhere: under demote the block just served moves out
  // of the host before the dropped one moves in, as one exclusive LRU of G+H would do.
  if (policy_.sweeps() && ++since_sweep_ >= policy_.period) {
    since_sweep_ = 0;
    evict_duplicates(host_.duplicates());
  }
  if (dropped != kNil) guest_dropped(a.vm, dropped);
  counters_.host_blocks_sum += host_.size();
  counters_.duplicate_blocks_sum += host_.duplicates();
}

uint64_t CacheModel::bytes() const {
  uint64_t total = host_.bytes() + attachments_.capacity() * sizeof(Attachment) +
                   first_attachment_.capacity() * sizeof(uint32_t) + sizeof(*this);
  for (const GuestCache& g : guests_) total += g.bytes() + sizeof(GuestCache);
  return total;
}

uint64_t CacheModel::tracked_blocks() const {
  uint64_t total = host_.capacity();
  for (const GuestCache& g : guests_) total += g.capacity();
  return total;
}

}  // namespace singleton::advise
