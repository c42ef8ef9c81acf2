// `singleton trace --pid PID [--pid PID]... [--seconds N] [--json]`: where QEMU's own disk reads
// and writes put image pages in guest RAM (the BPF placement tracer), one JSON object per
// placed 4 KiB page.
#pragma once

#include <string>
#include <vector>

namespace singleton {

// args: the words after `trace`. Returns the exit code; throws Error for usage (2) and
// environment (3: BPF unavailable, missing capabilities) errors.
int run_trace_command(const std::vector<std::string>& args);

}  // namespace singleton
