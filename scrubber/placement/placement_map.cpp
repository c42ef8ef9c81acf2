#include "scrubber/placement/placement_map.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "snapshot/base/page_size.hpp"

namespace singleton {
namespace {

std::optional<FdTarget> stat_fd(pid_t pid, int fd) {
  const std::string link = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  struct stat st {};
  if (::stat(link.c_str(), &st) != 0) return std::nullopt;
  char target[PATH_MAX];
  const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n < 0) return std::nullopt;
  return FdTarget{{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)},
                  std::string(target, static_cast<size_t>(n))};
}

}  // namespace

std::optional<FdTarget> FdResolver::resolve(pid_t pid, int fd, uint64_t dev, uint64_t ino) {
  const bool known = dev != 0 || ino != 0;
  const auto key = std::make_pair(pid, fd);
  if (known) {
    if (auto it = cache_.find(key); it != cache_.end() && it->second.id.dev == dev &&
                                    it->second.id.ino == ino)
      return it->second;
  }
  ++stats_;
  auto target = stat_fd(pid, fd);
  if (!target) {
    cache_.erase(key);
    return std::nullopt;
  }
  cache_[key] = *target;
  if (known && (target->id.dev != dev || target->id.ino != ino))
    return std::nullopt;  // reused since: the file the record read is not this one
  return target;
}

void FdResolver::forget(pid_t pid) {
  std::erase_if(cache_, [pid](const auto& entry) { return entry.first.first == pid; });
}

std::vector<PlacedPage> PlacementMap::add(const PlacementRecord& record, FdResolver& files) {
  ++counts_.records;
  std::vector<PlacedPage> placed;
  const auto done = static_cast<uint64_t>(std::max<int64_t>(record.bytes, 0));
  const auto target = files.resolve(record.pid, record.fd, record.dev, record.ino);
  if (!target) {
    ++counts_.unresolved_records;
    return placed;
  }
  // Walk the iovecs over the bytes done; a segment places pages only when its file offset and
  // its buffer are both page-aligned, and then only its whole pages.
  uint64_t remaining = done;
  uint64_t offset = record.offset;
  for (const auto& iov : record.iovs) {
    if (remaining == 0) break;
    const uint64_t len = std::min(iov.len, remaining);
    const bool aligned = offset % kPageBytes == 0 && iov.base % kPageBytes == 0;
    if (!aligned) {
      counts_.unaligned_bytes += len;
    } else {
      const uint64_t whole = len / kPageBytes;
      for (uint64_t i = 0; i < whole; ++i) {
        PlacedPage p{target->id, target->path, offset / kPageBytes + i,
                     {record.pid, iov.base + i * kPageBytes, record.time_ns, record.op}};
        std::vector<Placement>& where = pages_[{p.image, p.page}];
        auto same = std::find_if(where.begin(), where.end(),
                                 [&](const Placement& w) { return w.pid == record.pid; });
        if (same == where.end()) {
          where.push_back(p.where);
        } else {
          *same = p.where;
        }
        placed.push_back(std::move(p));
      }
      counts_.unaligned_bytes += len % kPageBytes;  // a partial last page
    }
    offset += len;
    remaining -= len;
  }
  if (record.truncated) counts_.truncated_bytes += remaining;
  counts_.pages_placed += placed.size();
  return placed;
}

std::optional<Placement> PlacementMap::find(const ImageFileId& image, uint64_t page) const {
  const auto it = pages_.find({image, page});
  if (it == pages_.end() || it->second.empty()) return std::nullopt;
  return *std::max_element(
      it->second.begin(), it->second.end(),
      [](const Placement& a, const Placement& b) { return a.time_ns < b.time_ns; });
}

std::vector<Placement> PlacementMap::holders(const ImageFileId& image, uint64_t page) const {
  const auto it = pages_.find({image, page});
  return it == pages_.end() ? std::vector<Placement>{} : it->second;
}

void PlacementMap::mark_verified(const ImageFileId& image, uint64_t page, pid_t pid,
                                 uint64_t hash) {
  const auto it = pages_.find({image, page});
  if (it == pages_.end()) return;
  for (Placement& w : it->second) {
    if (w.pid == pid) {
      w.verified = true;
      w.hash = hash;
    }
  }
}

void PlacementMap::drop(const ImageFileId& image, uint64_t page, pid_t pid) {
  const auto it = pages_.find({image, page});
  if (it == pages_.end()) return;
  counts_.dropped_pages += std::erase_if(it->second, [pid](const Placement& w) { return w.pid == pid; });
  if (it->second.empty()) pages_.erase(it);
}

size_t PlacementMap::forget(pid_t pid) {
  size_t dropped = 0;
  for (auto it = pages_.begin(); it != pages_.end();) {
    dropped += std::erase_if(it->second, [pid](const Placement& w) { return w.pid == pid; });
    it = it->second.empty() ? pages_.erase(it) : std::next(it);
  }
  counts_.dropped_pages += dropped;
  return dropped;
}

std::vector<PlacedPage> PlacementMap::next_after(std::optional<PlacementKey>& cursor,
                                                 size_t n) const {
  std::vector<PlacedPage> out;
  if (pages_.empty() || n == 0) return out;
  auto it = cursor ? pages_.upper_bound(*cursor) : pages_.begin();
  for (size_t seen = 0; seen < pages_.size() && out.size() < n; ++seen) {
    if (it == pages_.end()) it = pages_.begin();
    for (const Placement& w : it->second) out.push_back({it->first.image, "", it->first.page, w});
    cursor = it->first;
    ++it;
  }
  return out;
}

}  // namespace singleton
