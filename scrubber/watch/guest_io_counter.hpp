// How many bytes a VMM process has read so far (rchar of /proc/PID/io, all its threads): it
// grows when a guest reads its disk, also when the read is served from the host page cache,
// which cachestat of the image cannot see. A cheap I/O trigger (one small read per VM per tick).
// Blind to io_uring reads; the image's cachestat catches those that miss the cache.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace singleton {

// rchar of `pid`, or nullopt when the process is gone or its io file cannot be read.
std::optional<uint64_t> read_process_rchar(pid_t pid);

// Below this many bytes read since the last snapshot, a VMM's reads are its own bookkeeping
// (eventfds, timers: 8 bytes each), not a guest's disk read (at least one 4 KiB block).
inline constexpr uint64_t kGuestReadTriggerBytes = 4096;

}  // namespace singleton
