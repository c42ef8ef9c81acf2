// Where a qcow2 file's data clusters sit on its virtual disk: the reverse of its L1/L2 tables,
// so a host page-cache page of the file (a file offset) can be named as a virtual-disk offset.
// Read from the tables themselves (O_DIRECT, bounded), never by running qemu-img on a path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace singleton {

class DirectReader;

struct Qcow2Header {
  uint32_t version = 0;
  uint32_t cluster_bits = 0;
  uint64_t virtual_size = 0;
  uint32_t l1_entries = 0;
  uint64_t l1_offset = 0;
  bool extended_l2 = false;  // 16-byte L2 entries (subclusters)
  // The backing file the header names (as written: may be relative to the image's directory).
  // backing_size 0: none. backing_file is filled when the name lies within the bytes parsed;
  // otherwise it is read from [backing_offset, +backing_size) (inside the first cluster).
  uint64_t backing_offset = 0;
  uint32_t backing_size = 0;
  std::string backing_file;
  bool names_backing() const { return backing_size != 0; }
};

// True when `first_bytes` starts with the qcow2 magic.
bool is_qcow2(const std::string& first_bytes);

// Parses and bounds-checks a qcow2 header (the first bytes of the file). Throws Error(kPartial)
// naming `origin` when it is not one singleton can map (bad magic, sizes out of QEMU's bounds,
// a backing file name out of QEMU's bounds, encryption, unknown incompatible features).
Qcow2Header parse_qcow2_header(const std::string& first_bytes, const std::string& origin);

class Qcow2ClusterMap {
 public:
  // Reads the L1 table and every L2 table of the file behind `reader`. Compressed clusters and
  // clusters that read as zeros are not data at a host offset and are left out. Throws
  // Error(kPartial) naming `origin` on a table outside the file or out of bounds.
  Qcow2ClusterMap(DirectReader& reader, uint64_t file_bytes, const std::string& origin);
  // For tests: runs of (host offset, virtual offset, clusters).
  Qcow2ClusterMap(uint32_t cluster_bits, std::vector<uint64_t> host, std::vector<uint64_t> guest);

  // The virtual-disk offset of file offset `host_offset`; nullopt for metadata (header, tables,
  // refcounts), unused clusters and anything else that holds no guest data.
  std::optional<uint64_t> virtual_offset(uint64_t host_offset) const;

  const Qcow2Header& header() const { return header_; }
  size_t clusters() const { return host_.size(); }

 private:
  void sort();
  Qcow2Header header_;
  std::vector<uint64_t> host_;   // host cluster offsets, ascending after sort()
  std::vector<uint64_t> guest_;  // the virtual offset of each, parallel
};

}  // namespace singleton
