#include "scrubber/report/cache_attribution.hpp"

#include <algorithm>
#include <map>

#include "snapshot/base/page_size.hpp"

namespace singleton {

ImageExplanation attribute_cache(const ImageCacheClasses& classes, const Qcow2ClusterMap* qcow2,
                                 const DiskLayout& layout, size_t top_files,
                                 const std::string& disk) {
  std::vector<CacheShare> by_owner(layout.owners());
  CacheShare outside{kOutsideFilesystems, "", 0, 0};
  CacheShare format{kImageFormatMetadata, "", 0, 0};
  for (const ClassifiedPage& page : classes.pages) {
    CacheShare* share = &outside;
    const uint64_t file_offset = page.index * kPageBytes;
    std::optional<uint64_t> disk_offset = file_offset;
    if (qcow2 != nullptr) disk_offset = qcow2->virtual_offset(file_offset);
    if (!disk_offset) {
      share = &format;
    } else if (const uint32_t owner = layout.owner_at(*disk_offset);
               owner != DiskLayout::kOutside) {
      share = &by_owner[owner];
    }
    (page.held ? share->double_cached_bytes : share->host_only_bytes) += kPageBytes;
  }
  ImageExplanation out;
  out.disk = disk;
  std::vector<CacheShare> files;
  std::map<std::pair<std::string, std::string>, CacheShare> other;  // (kind, fs)
  for (size_t id = 0; id < by_owner.size(); ++id) {
    CacheShare& share = by_owner[id];
    if (share.total() == 0) continue;
    const LayoutOwner& owner = layout.owner(static_cast<uint32_t>(id));
    share.path = owner.path;
    share.filesystem = owner.filesystem;
    if (owner.kind == LayoutOwner::kFile) {
      files.push_back(share);
    } else {
      CacheShare& sum = other[{owner.path, owner.filesystem}];
      sum.path = owner.path;
      sum.filesystem = owner.filesystem;
      sum.double_cached_bytes += share.double_cached_bytes;
      sum.host_only_bytes += share.host_only_bytes;
    }
  }
  std::sort(files.begin(), files.end(), [](const CacheShare& a, const CacheShare& b) {
    return a.total() != b.total() ? a.total() > b.total() : a.path < b.path;
  });
  out.other_files.path = "(other files)";
  for (size_t i = 0; i < files.size(); ++i) {
    if (i < top_files) {
      out.files.push_back(files[i]);
    } else {
      out.other_files.double_cached_bytes += files[i].double_cached_bytes;
      out.other_files.host_only_bytes += files[i].host_only_bytes;
    }
  }
  for (auto& [key, share] : other) out.other.push_back(share);
  for (CacheShare* s : {&outside, &format}) {
    if (s->total() != 0) out.other.push_back(*s);
  }
  return out;
}

}  // namespace singleton
