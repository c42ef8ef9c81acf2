// One pass's metrics added to a node_exporter textfile: what `singleton watch --once
// --prometheus FILE` does after its pass, and what a one-shot `scrub` can call the same way.
#pragma once

#include <string>

#include "scrubber/pass/pass_report.hpp"

namespace singleton {

// Reads the counters of `path` (when it exists), adds `report` to them, and rewrites `path`
// atomically. Per-image and per-VM gauges are those of this pass. Throws SystemError naming the
// path when it cannot be written.
void add_pass_to_textfile(const std::string& path, const PassReport& report);

}  // namespace singleton
