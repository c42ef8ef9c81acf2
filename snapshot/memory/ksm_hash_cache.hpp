// Hashes of KSM pages by physical frame, kept across passes.
//
// A KSM page is write-protected: while a frame stays a KSM page its content cannot change, so its
// hash is still good next pass and the page need not be read again. The same frame mapped by
// several VMs (the point of KSM) is also hashed once per pass. Entries of frames no VM mapped in
// a pass are dropped at the end of it. Not thread-safe: one pass at a time.
//
// Known limit: a KSM frame freed and reused for a different KSM page between two passes keeps
// the old hash. That can only make the scrubber evict a host page a guest does not hold, which
// costs one re-read, never data.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace singleton {

class KsmHashCache {
 public:
  void begin_pass() { ++pass_; }
  // Drops the frames not seen since begin_pass().
  void end_pass();

  // The hash of `pfn` when known; marks the frame as seen in this pass.
  std::optional<uint64_t> lookup(uint64_t pfn);
  void insert(uint64_t pfn, uint64_t hash);

  size_t size() const { return entries_.size(); }
  size_t memory_bytes() const;

 private:
  struct Entry {
    uint64_t hash;
    uint32_t pass;
  };
  boost::unordered_flat_map<uint64_t, Entry> entries_;
  uint32_t pass_ = 0;
};

}  // namespace singleton
