// A throw-away qcow2 overlay over a disk's image chain, in a private temporary directory: what
// libguestfs is given instead of the image itself. Two reasons:
// - a running VM's QEMU holds a write lock on its image, and libguestfs's own read-only open
//   would be refused; the overlay names every file of the chain with locking off (the chain is
//   read as it is at that moment: a running guest's writes may be half-way, the report says so);
// - every write goes to the overlay, never to an image (libguestfs opens it read-only as well).
// qemu-img creates it with -u, so it never opens (or probes) the images itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace singleton {

struct ChainFile {
  std::string path;    // absolute
  std::string format;  // raw | qcow2
  bool block_device = false;
  // Read with O_DIRECT (cache.direct): the appliance's reads then add nothing to the host page
  // cache a report measures. False only where O_DIRECT is refused (tmpfs).
  bool direct = true;
};

// The QEMU json: description of `chain` (top first, each backing the one before), every file
// opened without locks (and with O_DIRECT where asked), the last one's backing (if any) switched off:
// so `chain` must be whole (report_engine never inspects a chain cut above a missing backing file,
// which would read as zeros).
std::string chain_json(const std::vector<ChainFile>& chain);

class ReadOnlyOverlay {
 public:
  // Throws Error(kPartial) when qemu-img cannot create it.
  ReadOnlyOverlay(const std::vector<ChainFile>& chain, uint64_t virtual_size);
  ~ReadOnlyOverlay();
  ReadOnlyOverlay(const ReadOnlyOverlay&) = delete;
  ReadOnlyOverlay& operator=(const ReadOnlyOverlay&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace singleton
