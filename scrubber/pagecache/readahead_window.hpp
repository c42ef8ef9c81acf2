// How far the kernel reads ahead of sequential reads of a file: its backing device's
// read_ahead_kb (/sys/class/bdi/MAJOR:MINOR). The watch's BPF tracker compares an image's cache
// growth with the blocks QEMU was seen to read; readahead brings in up to about two windows more
// (the current and the asynchronous next one) without any guest having read them.
#pragma once

#include <cstdint>

namespace singleton {

// Pages (4 KiB) of readahead for files on `device` (st_dev). 32 (128 KiB, the kernel default)
// when the device has no bdi entry (btrfs subvolumes, overlayfs) or it cannot be read.
uint64_t readahead_window_pages(uint64_t device);

}  // namespace singleton
