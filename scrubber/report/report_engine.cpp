#include "scrubber/report/report_engine.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>

#include "scrubber/pass/image_set.hpp"
#include "scrubber/report/cache_attribution.hpp"
#include "scrubber/report/direct_reader.hpp"
#include "scrubber/report/guest_disk_inspection.hpp"
#include "scrubber/report/image_block_hashes.hpp"
#include "scrubber/report/image_cache_classes.hpp"
#include "scrubber/report/memory_figures.hpp"
#include "scrubber/report/qcow2_cluster_map.hpp"
#include "snapshot/memory/memory_census.hpp"

namespace singleton {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What the report learns of one image file besides its cache.
struct ImageFacts {
  std::string format = "raw";
  bool direct = false;                   // O_DIRECT works on it
  std::optional<Qcow2Header> qcow2;
  std::string error;                     // reading the header failed
};

ImageFacts image_facts(const ReadOnlyFile& file) {
  ImageFacts facts;
  std::optional<DirectReader> reader;
  // [offset, offset + length) of the file, O_DIRECT where it works (no O_DIRECT on tmpfs: then
  // through the normal path; these are the header's few bytes).
  auto read = [&](uint64_t offset, size_t length) {
    std::string bytes;
    if (reader) {
      reader->read(offset, length, bytes);
      return bytes;
    }
    bytes.resize(length);
    const ssize_t n = ::pread(file.fd(), bytes.data(), bytes.size(), static_cast<off_t>(offset));
    bytes.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return bytes;
  };
  try {
    reader.emplace(file.fd(), file.path());
    facts.direct = true;
  } catch (const Error&) {
  }
  const std::string head = read(0, 4096);
  if (is_qcow2(head)) {
    facts.format = "qcow2";
    try {
      facts.qcow2 = parse_qcow2_header(head, file.path());
      Qcow2Header& h = *facts.qcow2;
      if (h.names_backing() && h.backing_file.empty()) {
        h.backing_file = read(h.backing_offset, h.backing_size);
        if (h.backing_file.size() != h.backing_size)
          throw Error(ExitCode::kPartial, file.path() + ": qcow2 backing file name beyond the end of the file");
      }
    } catch (const Error& e) {
      facts.error = e.what();
    }
  }
  return facts;
}

// The last file of `disk`'s chain: the one whose backing file is missing when the chain is cut.
const std::string& last_of_chain(const VmDisk& disk) {
  return disk.backing.empty() ? disk.path : disk.backing.back();
}

// Why `disk`'s chain cannot be read as its VM reads it ("" when it can): discovery cut it
// (a backing file missing, not held by the VM, ...), or, for a chain discovery did not check,
// its last file is a qcow2 image naming a backing file that is not in the chain. Read as it is,
// a cut chain shows zeros where the missing file's blocks are.
std::string chain_cut(const VmDisk& disk, const ImageFacts* last) {
  if (!disk.backing_missing.empty()) return disk.backing_missing;
  if (disk.held.empty() && last != nullptr && last->qcow2 && last->qcow2->names_backing())
    return last_of_chain(disk) + " names backing file " + last->qcow2->backing_file +
           ", which is not in the disk's chain";
  return "";
}

bool is_block_device(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode);
}

// The disk whose chain holds image `path`: the first VM's disk that names it.
const VmDisk* disk_of(const std::vector<Vm>& vms, const Image& image) {
  for (size_t v : image.vms) {
    for (const VmDisk& disk : vms[v].disks) {
      if (disk.path == image.path) return &disk;
      for (const std::string& b : disk.backing)
        if (b == image.path) return &disk;
    }
  }
  return nullptr;
}

struct ExplainContext {
  const std::vector<Vm>& vms;
  const ImageSet& images;
  const std::vector<ImageFacts>& facts;
  const ReportOptions& options;
  ExplainRun& run;
  std::map<std::string, std::shared_ptr<DiskInspection>> inspected;  // by top image
  std::map<std::string, std::string> failed;                          // by top image

  const ImageFacts* facts_of(const std::string& path) const {
    for (size_t i = 0; i < images.images.size(); ++i)
      if (images.images[i].path == path) return &facts[i];
    return nullptr;
  }

  // Throws when `disk`'s chain is cut (chain_cut): none of its images is explained.
  void refuse_cut_chain(const VmDisk& disk) const {
    if (const std::string cut = chain_cut(disk, facts_of(last_of_chain(disk))); !cut.empty())
      throw Error(ExitCode::kPartial, "backing chain of " + disk.path + " cut: " + cut);
  }

  std::shared_ptr<DiskInspection> inspect(const VmDisk& disk) {
    if (auto it = inspected.find(disk.path); it != inspected.end()) return it->second;
    if (auto it = failed.find(disk.path); it != failed.end()) throw Error(ExitCode::kPartial, it->second);
    std::vector<ChainFile> chain;
    std::vector<std::string> paths{disk.path};
    paths.insert(paths.end(), disk.backing.begin(), disk.backing.end());
    uint64_t virtual_size = 0;
    try {
      // Never an appliance on a cut chain: it would see zeros where the missing file is.
      refuse_cut_chain(disk);
      for (size_t i = 0; i < paths.size(); ++i) {
        const ImageFacts* f = facts_of(paths[i]);
        if (f == nullptr) throw Error(ExitCode::kPartial, paths[i] + ": could not be opened");
        if (!f->error.empty()) throw Error(ExitCode::kPartial, f->error);
        // The top's format as the VM uses it; a backing file's from its own header.
        std::string format = i == 0 && !disk.format.empty() ? disk.format : f->format;
        if (format != "raw" && format != "qcow2")
          throw Error(ExitCode::kPartial, paths[i] + ": format " + format + " is not read");
        chain.push_back({paths[i], format, is_block_device(paths[i]), f->direct});
        if (i == 0) {
          if (f->qcow2) {
            virtual_size = f->qcow2->virtual_size;
          } else {
            struct stat st {};
            ::stat(paths[i].c_str(), &st);
            virtual_size = static_cast<uint64_t>(st.st_size);
          }
        }
      }
      auto inspection = std::make_shared<DiskInspection>(inspect_disk(chain, virtual_size));
      run.appliance_seconds += inspection->launch_seconds;
      if (run.backend.empty()) run.backend = inspection->how;
      for (const std::string& note : inspection->notes) run.notes.push_back(disk.path + ": " + note);
      inspected[disk.path] = inspection;
      return inspection;
    } catch (const Error& e) {
      failed[disk.path] = e.what();
      throw;
    }
  }
};

}  // namespace

ExitCode Report::exit_code() const {
  bool failed = !discovery_errors.empty();
  for (const VmFigures& vm : vms) failed |= !vm.error.empty();
  for (const ImageFigures& image : images) {
    failed |= !image.error.empty();
    failed |= image.explanation && !image.explanation->error.empty();
  }
  return failed ? ExitCode::kPartial : ExitCode::kDone;
}

Report run_report(PageCacheView& view, const std::vector<Vm>& vms, const ReportOptions& options) {
  const auto start = Clock::now();
  Report report;
  report.backend = view.name();
  report.shared_policy = to_string(options.shared_policy);

  // Guests first, as in a pass: a page a guest reads meanwhile is at worst counted host-only.
  std::vector<MemoryCensus> censuses;
  std::vector<PageIndex> distinct;
  CensusOptions census_options;
  census_options.regions = options.regions;
  census_options.sample_every = options.sample_every;
  for (const Vm& vm : vms) {
    censuses.push_back(take_memory_census(vm, census_options));
    distinct.emplace_back(censuses.back().hashes);
  }
  report.memory_seconds = since(start);

  const auto cache_start = Clock::now();
  ImageSet images = collect_images(vms);
  report.uncached_disks = images.uncached_disks;
  const ScrubPolicy policy(options.shared_policy);
  std::vector<ImageFacts> facts(images.images.size());
  std::vector<std::optional<ImageCacheClasses>> classes(images.images.size());
  for (size_t i = 0; i < images.images.size(); ++i) {
    const Image& image = images.images[i];
    const auto image_start = Clock::now();
    ImageFigures out;
    out.path = image.path;
    for (size_t v : image.vms) out.vms.push_back(vms[v].name);
    std::vector<const PageIndex*> holders;
    std::string incomplete;
    for (size_t v : image.vms) {
      if (censuses[v].complete()) {
        holders.push_back(&distinct[v]);
      } else {
        incomplete += (incomplete.empty() ? "" : ", ") + vms[v].name;
      }
    }
    if (!image.file) {
      out.error = image.error;
    } else {
      facts[i] = image_facts(*image.file);
      out.format = facts[i].format;
      try {
        if (holders.empty() || (!incomplete.empty() && policy.shared() == SharedPolicy::kAll)) {
          out.cached_pages = view.count(*image.file, {}).cached_pages;
          out.error = "not classified: the RAM of " + incomplete + " was not read completely";
        } else {
          classes[i] = classify_image_cache(view, *image.file, policy, holders);
          const PageCounts& c = classes[i]->counts;
          out.cached_pages = c.scanned_pages;
          out.double_cached_pages = c.double_cached_pages;
          out.host_only_pages = c.scanned_pages - c.double_cached_pages;
          out.partial_folio_pages = c.partial_folio_pages;
        }
      } catch (const Error& e) {
        out.error = e.what();
      }
    }
    // The last file of a cut chain: its backing file is missing (or not the VM's) and nothing
    // below it is reported; an error of this image.
    if (image.file) {
      for (size_t v : image.vms) {
        for (const VmDisk& disk : vms[v].disks) {
          if (last_of_chain(disk) != image.path) continue;
          const std::string cut = chain_cut(disk, &facts[i]);
          if (cut.empty() || out.error.find(cut) != std::string::npos) continue;
          out.error += (out.error.empty() ? "" : "; ") + cut +
                       ": the chain stops at this image (nothing below it is reported, its disk is "
                       "not explained)";
        }
      }
    }
    out.seconds = since(image_start);
    report.images.push_back(std::move(out));
  }
  report.cache_seconds = since(cache_start);

  // Which guest pages are blocks of their own images: every image read once, O_DIRECT.
  const auto read_start = Clock::now();
  std::vector<std::optional<PageIndex>> blocks(images.images.size());
  if (options.image_blocks) {
    for (size_t i = 0; i < images.images.size(); ++i) {
      if (!images.images[i].file) continue;
      try {
        blocks[i] = image_block_hashes(*images.images[i].file, classes[i] ? &*classes[i] : nullptr);
      } catch (const Error& e) {
        // Unknown rather than read through the cache it measures; not a failure of the report.
      }
    }
  }
  std::vector<std::vector<const PageIndex*>> blocks_of_vm(vms.size());
  for (size_t i = 0; i < images.images.size(); ++i) {
    for (size_t v : images.images[i].vms)
      blocks_of_vm[v].push_back(blocks[i] ? &*blocks[i] : nullptr);
  }
  report.image_read_seconds = since(read_start);
  report.vms = memory_figures(censuses, distinct, blocks_of_vm);
  if (!options.image_blocks) {
    for (VmFigures& f : report.vms) f.image_block_pages.reset();
  }

  if (options.explain) {
    const auto explain_start = Clock::now();
    report.explain.emplace();
    report.explain->notes.push_back(
        "the images of running VMs are read as they are now (without locks, O_DIRECT, through a "
        "throw-away overlay): a guest writing meanwhile can make a few blocks disagree");
    ExplainContext context{vms, images, facts, options, *report.explain, {}, {}};
    for (size_t i = 0; i < images.images.size(); ++i) {
      ImageFigures& out = report.images[i];
      if (!classes[i]) continue;  // its failure is already the image's error
      ImageExplanation& explanation = out.explanation.emplace();
      try {
        const VmDisk* disk = disk_of(vms, images.images[i]);
        if (disk == nullptr) throw Error(ExitCode::kPartial, "no VM disk names this image");
        explanation.disk = disk->path;
        context.refuse_cut_chain(*disk);
        std::optional<Qcow2ClusterMap> map;
        if (facts[i].format == "qcow2") {
          DirectReader reader(images.images[i].file->fd(), out.path);
          map.emplace(reader, images.images[i].file->size_bytes(), out.path);
        }
        // A qcow2 file whose cached pages are all its own metadata (an overlay the guest only
        // read through) needs no appliance: nothing of it is on the virtual disk.
        bool on_disk = !map;
        for (const ClassifiedPage& page : classes[i]->pages) {
          if (on_disk) break;
          on_disk = map->virtual_offset(page.index * kPageBytes).has_value();
        }
        DiskLayout nothing;
        nothing.finish();
        const std::shared_ptr<DiskInspection> inspection =
            on_disk ? context.inspect(*disk) : nullptr;
        explanation = attribute_cache(*classes[i], map ? &*map : nullptr,
                                      inspection ? inspection->layout : nothing,
                                      options.top_files, disk->path);
        report.explain->cached_bytes += classes[i]->pages.size() * kPageBytes;
      } catch (const Error& e) {
        explanation.error = e.what();
      }
    }
    report.explain->seconds = since(explain_start);
  }
  report.duration_seconds = since(start);
  return report;
}

}  // namespace singleton
