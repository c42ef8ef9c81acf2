#include "scrubber/pass/scrub_pass.hpp"

#include <algorithm>
#include <chrono>

#include "snapshot/memory/ksm_hash_cache.hpp"

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
    if (options.evict && !plan.folios.empty()) {
      const EvictResult evicted = view.evict(file, plan.folios);
      plan.counts.evicted_pages = evicted.evicted_pages;
      plan.counts.skipped.dirty += evicted.skipped.dirty;
      plan.counts.skipped.writeback += evicted.skipped.writeback;
      plan.counts.skipped.mapped += evicted.skipped.mapped;
      plan.counts.skipped.busy += evicted.skipped.busy;
    } else if (!options.evict) {
      plan.counts.evicted_pages = plan.pages;  // what a scrub would evict
    }
    counts += plan.counts;
    progress.pages = counts.scanned_pages;
    if (options.on_progress) options.on_progress(progress);
    if (batch.done) break;
    from = batch.next_index;
  }
  counts.cached_pages_after = view.count(file, {}).cached_pages;
}

}  // namespace

ExitCode PassReport::exit_code() const {
  if (!discovery_errors.empty()) return ExitCode::kPartial;
  for (const VmReport& vm : vms) {
    if (!vm.error.empty()) return ExitCode::kPartial;
  }
  for (const ImageReport& image : images) {
    if (!image.error.empty()) return ExitCode::kPartial;
  }
  return ExitCode::kDone;
}

void scrub_images(PageCacheView& view, ImageSet& set, const GuestHoldings& holdings,
                  const std::vector<Vm>& vms, const PassOptions& options, PassReport& report) {
  const ScrubPolicy policy(options.shared_policy);
  uint64_t budget = options.max_evict_pages;
  const auto start = std::chrono::steady_clock::now();
  PassProgress progress{options.evict ? "scrub" : "scan", "", 0, set.images.size(), 0};
  for (Image& image : set.images) {
    const auto image_start = std::chrono::steady_clock::now();
    ImageReport out;
    out.path = image.path;
    std::vector<const PageIndex*> holders;
    std::vector<std::string> incomplete;
    for (size_t v : image.vms) {
      out.vms.push_back(vms[v].name);
      if (holdings.indices[v] != nullptr) {
        holders.push_back(holdings.indices[v]);
      } else {
        incomplete.push_back(vms[v].name);
      }
    }
    ++progress.item;
    progress.what = image.path;
    progress.pages = 0;
    if (!image.file) {
      out.error = image.error;
    } else {
      // Under `all`, a VM whose memory we could not read may lack any page: nothing of this
      // image may be evicted. Under `any`, the VMs we did read still decide for themselves.
      const bool blocked =
          holders.empty() || (policy.shared() == SharedPolicy::kAll && !incomplete.empty());
      if (blocked) {
        out.error = "not scrubbed: no complete snapshot of ";
        for (size_t k = 0; k < incomplete.size(); ++k) {
          out.error += (k ? ", " : "") + incomplete[k];
        }
        // Still measured, so the report shows what is cached.
        out.counts.cached_pages_before = view.count(*image.file, {}).cached_pages;
        out.counts.cached_pages_after = out.counts.cached_pages_before;
      } else {
        try {
          scrub_image(view, *image.file, holders, policy, options, budget, progress, out.counts);
        } catch (const Error& e) {
          out.error = e.what();
        }
      }
    }
    out.seconds = seconds_since(image_start);
    report.totals += out.counts;
    report.images.push_back(std::move(out));
  }
  report.uncached_disks = set.uncached_disks;
  report.scrub_seconds = seconds_since(start);
}

PassReport run_pass(PageCacheView& view, const std::vector<Vm>& vms, const PassOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  PassReport report;
  report.backend = view.name();
  report.dry_run = !options.evict;
  report.shared_policy = options.shared_policy;

  // Guests first: the host cache is looked at after their memory, so a page a guest read during
  // the snapshot is at worst kept, never evicted without a copy in the guest.
  KsmHashCache ksm;
  ksm.begin_pass();
  std::vector<GuestSnapshot> snapshots;
  snapshots.reserve(vms.size());
  GuestHoldings holdings;
  for (size_t v = 0; v < vms.size(); ++v) {
    SnapshotOptions snap_options = options.snapshot;
    if (options.on_progress) {
      auto outer = snap_options.on_batch;
      snap_options.on_batch = [&, v, outer](uint64_t pages) {
        options.on_progress({"snapshot", vms[v].name, v + 1, vms.size(), pages});
        if (outer) outer(pages);
      };
    }
    snapshots.push_back(snapshot_vm(vms[v], ksm, snap_options));
    const GuestSnapshot& snap = snapshots.back();
    VmReport vm_report{vms[v].name, vms[v].pid, snap.counts.indexed_pages, snap.counts.seconds,
                       snap.error};
    if (!snap.complete() && vm_report.error.empty()) {
      vm_report.error = "VM " + vms[v].name + " (pid " + std::to_string(vms[v].pid) +
                        ") went away during its snapshot";
    }
    report.vms.push_back(vm_report);
  }
  ksm.end_pass();
  for (const GuestSnapshot& snap : snapshots) {
    holdings.indices.push_back(snap.complete() ? &snap.index : nullptr);
  }
  report.snapshot_seconds = seconds_since(start);

  ImageSet set = collect_images(vms);
  scrub_images(view, set, holdings, vms, options, report);
  report.duration_seconds = seconds_since(start);
  return report;
}

}  // namespace singleton
