#include "scrubber/watch/placement_tracking.hpp"

#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

// A held page of a dirty or writeback folio is looked at again this long after: the kernel
// writes dirty page cache back within dirty_expire_centisecs (30 s by default) plus one
// writeback interval; a few seconds per retry keeps the cost low until then.
constexpr auto kRetryDelay = std::chrono::seconds(5);

}  // namespace

TrackerChoice tracker_choice_from_string(const std::string& text) {
  if (text == "auto") return TrackerChoice::kAuto;
  if (text == "bpf") return TrackerChoice::kBpf;
  if (text == "scan") return TrackerChoice::kScan;
  throw Error(ExitCode::kUsage, "unknown --tracker '" + text + "' (expected auto, bpf or scan)");
}

PlacementTracking::PlacementTracking(const std::string& kernel_btf) : tracer_(kernel_btf) {}

void PlacementTracking::set_vms(std::span<const Vm> vms, const ImageSet& images) {
  std::set<pid_t> now;
  for (const Vm& vm : vms) now.insert(vm.pid);
  for (pid_t pid : now) {
    if (!followed_.contains(pid)) tracer_.follow(pid);
  }
  for (pid_t pid : followed_) {
    if (!now.contains(pid)) {
      tracer_.unfollow(pid);
      files_.forget(pid);
      scrubber_.forget(pid);
    }
  }
  followed_ = std::move(now);
  std::map<ImageFileId, size_t> index;
  std::vector<ImageFileId> ids(images.images.size());
  for (size_t i = 0; i < images.images.size(); ++i) {
    const Image& image = images.images[i];
    if (image.file) index[ids[i] = {image.file->device(), image.file->inode()}] = i;
  }
  if (index != image_index_) {
    // Image indices changed meaning: what waits is dropped (the map keeps the placements, and
    // the full pass that follows a change of VMs covers the pages).
    pending_.clear();
    retry_.clear();
    placed_on_.clear();
    candidates_.clear();
    pending_pages_ = 0;
  }
  image_index_ = std::move(index);
  image_ids_ = std::move(ids);
}

void PlacementTracking::drain() {
  tracer_.consume([this](const PlacementRecord& record) {
    ++counts_.records;
    if ((record.dev != 0 || record.ino != 0) &&
        !image_index_.contains(ImageFileId{record.dev, record.ino})) {
      ++counts_.other_files;  // QEMU's other files (firmware, logs, a disk we do not watch)
      return;
    }
    for (const PlacedPage& placed : map_.add(record, files_)) {
      const auto it = image_index_.find(placed.image);
      if (it == image_index_.end()) {
        ++counts_.other_files;
        break;
      }
      if (pending_pages_ >= kMaxPendingPages) {
        ++counts_.pending_overflow;
        continue;
      }
      if (pending_.empty()) pending_since_ = std::chrono::steady_clock::now();
      if (pending_[it->second].insert(placed.page).second) {
        ++pending_pages_;
        ++placed_on_[it->second];
      }
    }
  });
}

void PlacementTracking::requeue_due_retries(std::chrono::steady_clock::time_point now) {
  if (retry_.empty() || now < retry_at_) return;
  for (auto& [image, pages] : retry_) {
    if (pending_.empty()) pending_since_ = now;
    for (uint64_t page : pages) pending_pages_ += pending_[image].insert(page).second;
  }
  retry_.clear();
}

PassReport PlacementTracking::scrub(PageCacheView& view, ImageSet& images, std::span<const Vm> vms,
                                    const PassOptions& options) {
  pending_pages_ = 0;
  return scrub_pages(view, images, vms, pending_, options);
}

void PlacementTracking::hold_pending() {
  for (const auto& [image, pages] : pending_) {
    for (uint64_t page : pages) {
      const auto placed = image < image_ids_.size() ? map_.find(image_ids_[image], page)
                                                    : std::nullopt;
      if (placed) candidates_.add(image, page, placed->time_ns);
    }
  }
  pending_.clear();
  pending_pages_ = 0;
}

PassReport PlacementTracking::scrub_candidates(PageCacheView& view, ImageSet& images,
                                               std::span<const Vm> vms, const PassOptions& options,
                                               EvictOrder order, size_t pages) {
  PendingPages chosen = candidates_.take(order, pages);
  return scrub_pages(view, images, vms, chosen, options);
}

PassReport PlacementTracking::scrub_pages(PageCacheView& view, ImageSet& images,
                                          std::span<const Vm> vms, PendingPages& pages,
                                          const PassOptions& options) {
  PendingPages retry;
  PassReport report = scrubber_.run(view, images, vms, pages, retry, options);
  if (!retry.empty()) {
    if (retry_.empty()) retry_at_ = std::chrono::steady_clock::now() + kRetryDelay;
    for (auto& [image, pages] : retry) retry_[image].merge(pages);
  }
  return report;
}

uint64_t PlacementTracking::take_placed_on(size_t image) {
  const auto it = placed_on_.find(image);
  if (it == placed_on_.end()) return 0;
  const uint64_t n = it->second;
  placed_on_.erase(it);
  return n;
}

}  // namespace singleton
