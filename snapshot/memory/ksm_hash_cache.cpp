#include "snapshot/memory/ksm_hash_cache.hpp"

namespace singleton {

void KsmHashCache::end_pass() {
  boost::unordered::erase_if(entries_,
                             [this](const auto& item) { return item.second.pass != pass_; });
}

std::optional<uint64_t> KsmHashCache::lookup(uint64_t pfn) {
  auto it = entries_.find(pfn);
  if (it == entries_.end()) return std::nullopt;
  it->second.pass = pass_;
  return it->second.hash;
}

void KsmHashCache::insert(uint64_t pfn, uint64_t hash) { entries_[pfn] = Entry{hash, pass_}; }

size_t KsmHashCache::memory_bytes() const {
  // Slots of key + value plus one metadata byte each (boost's open addressing layout).
  return entries_.bucket_count() * (sizeof(uint64_t) + sizeof(Entry) + 1);
}

}  // namespace singleton
