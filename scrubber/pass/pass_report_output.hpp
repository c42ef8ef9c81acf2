// A pass report as JSON (the schema of `singleton scan|scrub --json`) and as a table.
#pragma once

#include <boost/json.hpp>
#include <ostream>

#include "scrubber/pass/pass_report.hpp"

namespace singleton {

// {"backend", "backend_note", "dry_run", "shared_policy", "duration_s", "timings",
//  "totals": {cached_pages_before, double_cached_pages, evicted_pages, skipped_pages,
//             partial_folio_pages, cached_pages_after, scanned_pages, skipped_by_reason{...}},
//  "images": [{path, vms, <the same keys>, seconds, left_alone, error}],
//  "vms": [{name, pid, indexed_pages, snapshot_s, exited, error}], "uncached_disks": [...],
//  "discovery_errors": [...]}
// All page counts are integers; "error" and "left_alone" are null when there was none; the keys
// of skipped_by_reason are the names of kSkipReasons (skip_reason.hpp).
boost::json::object pass_report_json(const PassReport& report);

// Per image: cached, double-cached, evicted, skipped MiB; totals; timings; errors.
void print_pass_table(const PassReport& report, std::ostream& out);

}  // namespace singleton
