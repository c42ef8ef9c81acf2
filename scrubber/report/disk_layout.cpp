#include "scrubber/report/disk_layout.hpp"

#include <algorithm>

namespace singleton {

uint32_t DiskLayout::add_owner(LayoutOwner owner) {
  owners_.push_back(std::move(owner));
  return static_cast<uint32_t>(owners_.size() - 1);
}

void DiskLayout::add(uint64_t disk_offset, uint64_t length, uint32_t owner) {
  if (length != 0) fine_.push_back({disk_offset, length, owner});
}

void DiskLayout::add_filesystem_span(uint64_t disk_offset, uint64_t length, uint32_t owner) {
  if (length != 0) spans_.push_back({disk_offset, length, owner});
}

void DiskLayout::finish() {
  auto by_offset = [](const Extent& a, const Extent& b) { return a.offset < b.offset; };
  std::sort(fine_.begin(), fine_.end(), by_offset);
  std::sort(spans_.begin(), spans_.end(), by_offset);
}

uint32_t DiskLayout::find(const std::vector<Extent>& extents, uint64_t offset) {
  // The last extent starting at or before `offset`; extents of one disk do not overlap (a
  // block belongs to one file, or is free, or is the journal), shared (reflinked) blocks aside.
  auto it = std::upper_bound(extents.begin(), extents.end(), offset,
                             [](uint64_t o, const Extent& e) { return o < e.offset; });
  if (it == extents.begin()) return kOutside;
  --it;
  return offset < it->offset + it->length ? it->owner : kOutside;
}

uint32_t DiskLayout::owner_at(uint64_t offset) const {
  const uint32_t fine = find(fine_, offset);
  return fine != kOutside ? fine : find(spans_, offset);
}

}  // namespace singleton
