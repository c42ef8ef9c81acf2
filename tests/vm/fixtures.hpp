// Things integration tests build on the host around a kit guest: data sets, disk images,
// where a file's blocks sit in an image, and what the host caches of them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace singleton::guestkit {

// A fresh directory under the kit's scratch space, removed by the destructor.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Why real-guest tests cannot run here ("" when they can): not root, or the kit not built.
std::string kit_problem();

// Writes `bytes` of pseudo-random data (reproducible from `seed`; no two 4 KiB pages equal).
void write_random_file(const std::string& path, uint64_t bytes, uint64_t seed);

// stdout of a shell command, trailing newlines removed ("" when it cannot run).
std::string shell_output(const std::string& command);

// tests/vm/make-image: an ext4 (4 KiB blocks) image of `dir`, raw or qcow2; `fs` "xfs" for XFS
// (at least 320 MiB, sparse), `partition` to put the file system in partition 1 (GPT, at 1 MiB),
// `lvm` to put an ext4 on an LVM logical volume (raw only; built with guestfish).
void make_image(const std::string& dir, const std::string& out, const std::string& format = "raw",
                const std::string& fs = "ext4", bool partition = false, bool lvm = false);
// A qcow2 overlay on `backing`.
void make_overlay(const std::string& backing, const std::string& out);

// The 4 KiB blocks of `file_in_image` (a path inside the ext4 image) as image page indices,
// in file order (debugfs). Only valid for raw images.
std::vector<uint64_t> file_pages_in_image(const std::string& raw_image,
                                          const std::string& file_in_image);

// The 4 KiB pages of the raw image `raw_image` whose content is a page of the host file
// `source` (a file copied into the image): where that file's blocks are, whatever the file
// system, partition table or volume manager. Pages of zeros are never matched.
std::vector<uint64_t> pages_holding(const std::string& raw_image, const std::string& source);

// How many of `pages` (4 KiB page indices of `path`) are in the host page cache (mincore on
// a mapping that is dropped again; adds no page to the cache).
uint64_t count_cached(const std::string& path, const std::vector<uint64_t>& pages);

// Writes back and drops `path` from the host page cache (the start of a measurement).
void drop_from_host_cache(const std::string& path);

// Reads the given 4 KiB pages of `path` on the host, as a host process would (and so with the
// readahead that starts).
void host_read_pages(const std::string& path, const std::vector<uint64_t>& pages);

// XXH64 (seed 0) of every 4 KiB page of a file.
std::vector<uint64_t> page_hashes(const std::string& path);

// XXH64 of every present 4 KiB page of the KSM-tracked (`mg`) regions of a process.
std::vector<uint64_t> mergeable_page_hashes(pid_t pid);

}  // namespace singleton::guestkit
