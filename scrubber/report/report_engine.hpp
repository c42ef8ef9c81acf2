// `singleton report`: a dry run over the chosen VMs. Reads each guest's RAM once (a census:
// /proc/PID/mem, no pins), looks at each image's host page cache as scan does, reads each image
// with O_DIRECT to know which guest pages are disk blocks, and with --explain maps the cached
// pages to guest files through libguestfs. Adds nothing to the host page cache and evicts
// nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "scrubber/pagecache/page_cache_view.hpp"
#include "scrubber/pass/scrub_policy.hpp"
#include "scrubber/report/report_model.hpp"
#include "snapshot/discovery/vm.hpp"
#include "snapshot/memory/smaps.hpp"

namespace singleton {

struct ReportOptions {
  SharedPolicy shared_policy = SharedPolicy::kAll;
  RegionSelection regions = RegionSelection::kMergeable;
  uint32_t sample_every = 100;  // compression sample: 1% of the present pages
  bool image_blocks = true;     // read the images (O_DIRECT) to count guest pages that are blocks
  bool explain = false;
  size_t top_files = 10;
};

// Failures of a VM or an image are recorded in the report (exit 1), never thrown.
Report run_report(PageCacheView& view, const std::vector<Vm>& vms, const ReportOptions& options);

}  // namespace singleton
