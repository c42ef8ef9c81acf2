// What `singleton report` found: per VM (where its RAM goes), per image (what the host caches of
// it, and with --explain which guest files that is). Filled by report_engine, printed by
// report_output.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "snapshot/base/error.hpp"

namespace singleton {

struct VmFigures {
  std::string name;
  pid_t pid = 0;
  uint64_t ram_bytes = 0;        // configured guest RAM (else: as mapped)
  uint64_t resident_pages = 0;   // present in host RAM
  uint64_t zero_pages = 0;       // present pages of zeros
  uint64_t same_vm_identical_pages = 0;   // non-zero, another page of this VM holds the same
  uint64_t other_vm_identical_pages = 0;  // non-zero, a page of another VM holds the same
  uint64_t ksm_pages = 0;                 // already on a KSM frame
  // Non-zero pages whose content is a 4 KiB block of one of its images (its page cache, as far
  // as it matches the disk); nullopt when an image could not be read without caching it.
  std::optional<uint64_t> image_block_pages;
  uint64_t sample_pages = 0;  // compression sample: pages compressed (zstd level 1, per page)
  uint32_t sample_every = 0;  // one present page of this many
  uint64_t sample_compressed_bytes = 0;
  double compression_ratio = 1.0;  // sampled bytes / compressed bytes
  double seconds = 0;
  std::string error;  // "" when its RAM was read completely
};

// Bytes of an image's host-cached pages that one guest file (or one kind of non-file block)
// accounts for.
struct CacheShare {
  std::string path;        // a file's path in its file system; for others: "(metadata)", ...
  std::string filesystem;  // the device as libguestfs names it ("/dev/sda1", "/dev/vg0/lv0")
  uint64_t double_cached_bytes = 0;
  uint64_t host_only_bytes = 0;
  uint64_t total() const { return double_cached_bytes + host_only_bytes; }
};

struct ImageExplanation {
  std::string disk;  // the top image inspected (with its backing chain)
  std::vector<CacheShare> files;   // the top files by cached bytes
  CacheShare other_files;          // the files beyond the top ones, together
  std::vector<CacheShare> other;   // not file data: metadata, journal, free space, ...
  std::string error;               // "" when explained
};

struct ImageFigures {
  std::string path;
  std::string format;  // raw | qcow2
  std::vector<std::string> vms;
  uint64_t cached_pages = 0;         // host page cache of the image file
  uint64_t double_cached_pages = 0;  // of those, held by the guests (as scan counts them)
  uint64_t host_only_pages = 0;      // cached and held by no guest (per the shared policy)
  uint64_t partial_folio_pages = 0;  // double-cached, in a folio with pages no guest holds
  double seconds = 0;
  std::string error;  // "" when done
  std::optional<ImageExplanation> explanation;  // --explain
};

struct ExplainRun {
  double appliance_seconds = 0;  // libguestfs launches, summed
  double seconds = 0;            // all of --explain
  uint64_t cached_bytes = 0;     // image bytes in the host cache that were explained
  std::string backend;           // libguestfs backend and accelerator used
  std::vector<std::string> notes;
};

struct Report {
  std::string backend;  // page-cache view
  std::string shared_policy;
  std::vector<VmFigures> vms;
  std::vector<ImageFigures> images;
  std::vector<std::string> uncached_disks;
  std::vector<std::string> discovery_errors;
  std::optional<ExplainRun> explain;
  double memory_seconds = 0;
  double cache_seconds = 0;
  double image_read_seconds = 0;
  double duration_seconds = 0;

  ExitCode exit_code() const;  // kPartial when a VM, an image or its explanation failed
};

}  // namespace singleton
