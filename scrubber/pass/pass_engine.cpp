#include "scrubber/pass/pass_engine.hpp"

#include <algorithm>
#include <chrono>

#include "snapshot/base/proc_files.hpp"

namespace singleton {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Scans, plans and evicts one image batch by batch: each batch is evicted right after it was
// hashed, so the window in which a page's content can change between hash and eviction is one
// batch (at most 128 MiB of pages), not the whole image.
void scrub_image(PageCacheView& view, const ReadOnlyFile& file,
                 std::span<const PageIndex* const> holders, const ScrubPolicy& policy,
                 const PassOptions& options, uint64_t& budget, PassProgress& progress,
                 PageCounts& counts) {
  counts.cached_pages_before = view.count(file, {}).cached_pages;
  for (uint64_t from = 0;;) {
    ScanBatch batch = view.scan(file, from, ScanOptions{true});
    EvictionPlan plan;
    plan_batch(batch.pages, policy, holders, budget, plan);
    carry_out(view, file, options.evict, plan);
    counts += plan.counts;
    progress.pages = counts.scanned_pages;
    if (options.on_progress) options.on_progress(progress);
    if (batch.done) break;
    from = batch.next_index;
  }
  counts.cached_pages_after = view.count(file, {}).cached_pages;
}

// Guests first: the host cache is looked at after their memory, so a page a guest read during
// the snapshot is at worst kept, never evicted without a copy in the guest.
void snapshot_guests(PassScope& scope, KsmHashCache& ksm, const PassOptions& options,
                     PassReport& report) {
  size_t items = 0;
  for (const PassGuest& guest : scope.guests) items += guest.snapshot_now;
  size_t item = 0;
  ksm.begin_pass();
  for (PassGuest& guest : scope.guests) {
    if (!guest.snapshot_now) continue;
    const Vm& vm = *guest.vm;
    ++item;
    SnapshotOptions snap_options = options.snapshot;
    if (options.on_progress) {
      auto outer = snap_options.on_batch;
      snap_options.on_batch = [&, item, outer](uint64_t pages) {
        options.on_progress({"snapshot", vm.name, item, items, pages});
        if (outer) outer(pages);
      };
    }
    GuestSnapshot snap = snapshot_vm(vm, ksm, snap_options);
    VmReport out{vm.name, vm.pid, snap.counts.indexed_pages, snap.counts.seconds, snap.error};
    out.snapshot_reader = snap.reader;
    if (snap.complete()) {
      *guest.index = std::move(snap.index);
    } else {
      guest.index->reset();
      guest.exited = snap.vanished || !process_alive(vm.pid);
      out.exited = guest.exited;
      if (guest.exited && !options.exited_guest_is_failure) {
        out.error.clear();
      } else if (out.error.empty()) {
        out.error =
            "VM " + vm.name + " (pid " + std::to_string(vm.pid) + "): its snapshot is incomplete";
      }
    }
    report.vms.push_back(std::move(out));
  }
  ksm.end_pass();
}

void look_at_image(PageCacheView& view, const PassScope& scope, Image& image,
                   const ScrubPolicy& policy, const PassOptions& options, uint64_t& budget,
                   PassProgress& progress, ImageReport& out) {
  std::vector<const PageIndex*> holders;
  std::vector<std::string> incomplete;
  std::vector<std::string> exited;
  for (size_t v : image.vms) {
    const PassGuest& guest = scope.guests[v];
    out.vms.push_back(guest.vm->name);
    if (guest.exited) {
      exited.push_back(guest.vm->name);
    } else if (guest.index->has_value()) {
      holders.push_back(&**guest.index);
    } else {
      incomplete.push_back(guest.vm->name);
    }
  }
  if (!image.file) {
    out.error = image.error;
    return;
  }
  auto names = [](const std::vector<std::string>& list) {
    std::string text;
    for (const std::string& name : list) text += (text.empty() ? "" : ", ") + name;
    return text;
  };
  // Under `all`, a VM whose memory we could not read may lack any page: nothing of this image
  // may be evicted. Under `any`, the VMs we did read still decide for themselves. Nothing is
  // evicted on behalf of a VM that exited, whatever the policy.
  if (!exited.empty()) {
    const std::string why = "VM " + names(exited) + " exited during the pass";
    (options.exited_guest_is_failure ? out.error : out.left_alone) = "not scrubbed: " + why;
  } else if (holders.empty() || (policy.shared() == SharedPolicy::kAll && !incomplete.empty())) {
    out.error = "not scrubbed: no complete snapshot of " + names(incomplete);
  } else {
    try {
      scrub_image(view, *image.file, holders, policy, options, budget, progress, out.counts);
    } catch (const Error& e) {
      out.error = e.what();
    }
    return;
  }
  // Still measured, so the report shows what is cached.
  try {
    out.counts.cached_pages_before = view.count(*image.file, {}).cached_pages;
    out.counts.cached_pages_after = out.counts.cached_pages_before;
  } catch (const Error& e) {
    if (out.error.empty()) out.error = e.what();
  }
}

}  // namespace

size_t PassReport::failures() const {
  size_t failed = 0;
  for (const VmReport& vm : vms) failed += !vm.error.empty();
  for (const ImageReport& image : images) failed += !image.error.empty();
  return failed;
}

ExitCode PassReport::exit_code() const {
  return discovery_errors.empty() && failures() == 0 ? ExitCode::kDone : ExitCode::kPartial;
}

PassReport new_pass_report(const PageCacheView& view, const PassOptions& options) {
  PassReport report;
  report.backend = view.name();
  report.dry_run = !options.evict;
  report.shared_policy = options.shared_policy;
  return report;
}

PassReport run_pass(PageCacheView& view, PassScope& scope, KsmHashCache& ksm,
                    const PassOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  PassReport report = new_pass_report(view, options);
  snapshot_guests(scope, ksm, options, report);
  report.snapshot_seconds = seconds_since(start);

  const auto scrub_start = std::chrono::steady_clock::now();
  const ScrubPolicy policy(options.shared_policy);
  uint64_t budget = options.max_evict_pages;
  PassProgress progress{options.evict ? "scrub" : "scan", "", 0, scope.chosen_images.size(), 0};
  for (size_t i : scope.chosen_images) {
    Image& image = scope.images->images[i];
    const auto image_start = std::chrono::steady_clock::now();
    ++progress.item;
    progress.what = image.path;
    progress.pages = 0;
    ImageReport out;
    out.path = image.path;
    look_at_image(view, scope, image, policy, options, budget, progress, out);
    out.seconds = seconds_since(image_start);
    report.totals += out.counts;
    report.images.push_back(std::move(out));
  }
  report.uncached_disks = scope.images->uncached_disks;
  report.scrub_seconds = seconds_since(scrub_start);
  report.duration_seconds = seconds_since(start);
  return report;
}

PassReport run_pass(PageCacheView& view, const std::vector<Vm>& vms, const PassOptions& options) {
  std::vector<std::optional<PageIndex>> indices(vms.size());
  ImageSet images = collect_images(vms);
  PassScope scope;
  scope.images = &images;
  for (size_t v = 0; v < vms.size(); ++v) scope.guests.push_back({&vms[v], &indices[v]});
  for (size_t i = 0; i < images.images.size(); ++i) scope.chosen_images.push_back(i);
  KsmHashCache ksm;
  return run_pass(view, scope, ksm, options);
}

}  // namespace singleton
