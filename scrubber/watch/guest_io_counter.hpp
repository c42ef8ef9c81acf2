// How much a VMM process has read (rchar and syscr of /proc/PID/io, all its threads): the bytes
// grow when a guest reads its disk, also when the read is served from the host page cache,
// which cachestat of the image cannot see. A cheap I/O trigger (one small read per VM per tick).
//
// An idle QEMU reads too: its main loop reads eventfds, 8 bytes a call (measured: ~630 bytes in
// 5 s, all in 8-byte reads, for an idle TCG guest). Counting only the bytes beyond 8 per call
// leaves exactly 0 for that noise and ~4 KiB for one block read, so an idle VM never looks busy.
// Blind to io_uring reads; the image's cachestat catches those that miss the cache.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace singleton {

struct ProcessReads {
  uint64_t bytes = 0;  // rchar
  uint64_t calls = 0;  // syscr
};

// From the text of /proc/PID/io; nullopt when rchar or syscr is missing.
std::optional<ProcessReads> parse_process_io(const std::string& text);

// /proc/PID/io now, or nullopt when the process is gone or its io file cannot be read.
std::optional<ProcessReads> read_process_reads(pid_t pid);

// The bytes read between `before` and `after` beyond 8 per read call (0 when the counters went
// backwards or only small reads happened).
uint64_t guest_read_bytes(const ProcessReads& before, const ProcessReads& after);

// From this many such bytes since its last snapshot on, a VM counts as having read its disk
// (one 4 KiB block is 4088 of them).
inline constexpr uint64_t kGuestReadTriggerBytes = 2048;

}  // namespace singleton
