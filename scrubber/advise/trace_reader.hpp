// Reads the JSON lines of `singleton trace` ({"vm","pid","image","page","addr","op","t"}, one
// placed 4 KiB image page each; a last {"summary":{...}} is skipped) into what the model replays:
// the VMs, their images, and the accesses in time order, each image's pages renumbered densely
// (a trace of 1,000 pages of a 1 TiB image needs 1,000 blocks of model, not 2^28).
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace singleton::advise {

struct TraceRecord {
  double t;        // seconds since the trace started
  uint32_t vm;     // index into Trace::vms
  uint32_t slot;   // which of the VM's images (Trace::vm_images[vm][slot])
  uint32_t page;   // dense page number within the image
  bool write;
};

struct Trace {
  std::vector<std::string> vms;                 // VM names, in order of first appearance
  std::vector<std::string> images;              // image paths
  std::vector<uint64_t> image_pages;            // distinct pages seen per image
  std::vector<std::vector<uint32_t>> vm_images; // per VM, the images it read or wrote
  std::vector<TraceRecord> records;             // sorted by t (stable: file order within a t)
  uint64_t writes = 0;
};

// Largest page number accepted: 2^40 pages of 4 KiB is 4 PiB, more than any image. Beyond it a
// line is not a trace line (a corrupted or hand-made file), and the model would not fit.
inline constexpr uint64_t kMaxTracePage = uint64_t{1} << 40;
// t beyond this (about 31 years) is not a trace's time.
inline constexpr double kMaxTraceSeconds = 1e9;

// Reads every line of `in`; `name` is the file's name for the errors. Throws
// singleton::Error(kUsage) "NAME line N: WHAT" for the first line that is not a trace line
// (not JSON, a missing or mistyped field, an unknown op, a number out of range); empty lines
// and the summary line are skipped.
Trace read_trace(std::istream& in, const std::string& name);

}  // namespace singleton::advise
