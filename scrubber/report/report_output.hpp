// A report as JSON (the schema of `singleton report --json`), as a table for people, and as
// Prometheus gauges (node_exporter textfile format).
#pragma once

#include <boost/json.hpp>
#include <ostream>
#include <string>

#include "scrubber/report/report_model.hpp"

namespace singleton {

// {"backend", "shared_policy", "duration_s", "timings": {memory_s, cache_s, image_read_s},
//  "vms": [{name, pid, ram_bytes, resident_pages, zero_pages, same_vm_identical_pages,
//           other_vm_identical_pages, ksm_pages, image_block_pages (null: unknown),
//           compression: {method, sample_every, sample_pages, compressed_bytes, ratio},
//           seconds, error}],
//  "images": [{path, format, vms, cached_pages, double_cached_pages, host_only_pages,
//              partial_folio_pages, seconds, error,
//              files: [{path, filesystem, double_cached_bytes, host_only_bytes}] (--explain),
//              other_files: {...}, not_file_data: [{path: "(metadata)"|..., filesystem, ...}],
//              explain_error}],
//  "explain": null | {appliance_s, seconds, cached_bytes, seconds_per_gib, backend, notes},
//  "uncached_disks": [...], "discovery_errors": [...]}
boost::json::object report_json(const Report& report);

void print_report_table(const Report& report, std::ostream& out);

// singleton_report_* gauges, one series per VM or image (and file under --explain).
std::string report_prometheus(const Report& report);

}  // namespace singleton
