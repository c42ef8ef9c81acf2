#include "snapshot/memory/smaps.hpp"

#include <algorithm>
#include <charconv>

#include "snapshot/base/error.hpp"
#include "snapshot/base/proc_files.hpp"

namespace singleton {
namespace {

std::string_view next_field(std::string_view& line) {
  size_t begin = line.find_first_not_of(' ');
  if (begin == std::string_view::npos) {
    line = {};
    return {};
  }
  line.remove_prefix(begin);
  size_t end = line.find(' ');
  std::string_view field = line.substr(0, end);
  line.remove_prefix(end == std::string_view::npos ? line.size() : end);
  return field;
}

bool parse_hex(std::string_view text, uint64_t& value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

bool parse_dec(std::string_view text, uint64_t& value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

// A header line: "7f0000000000-7f0040000000 rw-p 00000000 00:00 0      [path]".
bool parse_header(std::string_view line, MemoryRegion& region) {
  std::string_view range = next_field(line);
  size_t dash = range.find('-');
  if (dash == std::string_view::npos) return false;
  if (!parse_hex(range.substr(0, dash), region.start) ||
      !parse_hex(range.substr(dash + 1), region.end) || region.end < region.start)
    return false;
  std::string_view perms = next_field(line);
  std::string_view offset = next_field(line);
  std::string_view device = next_field(line);
  std::string_view inode = next_field(line);
  uint64_t ignored = 0;
  if (perms.size() != 4 || !parse_hex(offset, ignored) ||
      device.find(':') == std::string_view::npos || !parse_dec(inode, region.inode))
    return false;
  region.perms = std::string(perms);
  size_t path_begin = line.find_first_not_of(' ');
  region.pathname =
      path_begin == std::string_view::npos ? "" : std::string(line.substr(path_begin));
  return true;
}

// Header lines start with a hex range; attribute lines with "Key:".
bool is_header(std::string_view line) {
  size_t dash = line.find('-');
  size_t colon = line.find(':');
  return dash != std::string_view::npos && (colon == std::string_view::npos || dash < colon) &&
         dash > 0 && std::all_of(line.begin(), line.begin() + dash, [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

bool MemoryRegion::has_flag(std::string_view flag) const {
  return std::find(vm_flags.begin(), vm_flags.end(), flag) != vm_flags.end();
}

bool MemoryRegion::anonymous() const {
  bool memfd = pathname.rfind("/memfd:", 0) == 0;
  bool anon =
      inode == 0 && (pathname.empty() || pathname.rfind("[anon:", 0) == 0 || pathname == "[heap]");
  return (anon || memfd) && perms.size() == 4 && perms[0] == 'r' && perms[1] == 'w';
}

const char* to_string(RegionSelection selection) {
  return selection == RegionSelection::kMergeable ? "mergeable" : "anon";
}

RegionSelection region_selection_from_string(const std::string& text) {
  if (text == "mergeable" || text == "mg" || text == "ksm") return RegionSelection::kMergeable;
  if (text == "anon" || text == "anonymous") return RegionSelection::kAnonymous;
  throw Error(ExitCode::kUsage, "unknown region selection '" + text + "' (mergeable or anon)");
}

std::vector<MemoryRegion> parse_smaps(std::string_view text, const std::string& origin) {
  std::vector<MemoryRegion> regions;
  size_t line_number = 0;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    ++line_number;
    if (line.empty()) continue;
    if (is_header(line)) {
      MemoryRegion region;
      if (!parse_header(line, region))
        throw Error(ExitCode::kPartial, origin + ":" + std::to_string(line_number) +
                                            ": malformed region line '" + std::string(line) + "'");
      regions.push_back(std::move(region));
      continue;
    }
    if (regions.empty())
      throw Error(ExitCode::kPartial,
                  origin + ":" + std::to_string(line_number) + ": attribute before any region");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // unknown line kinds are ignored, not fatal
    std::string_view key = line.substr(0, colon);
    std::string_view rest = line.substr(colon + 1);
    if (key == "VmFlags") {
      while (true) {
        std::string_view flag = next_field(rest);
        if (flag.empty()) break;
        regions.back().vm_flags.emplace_back(flag);
      }
    } else if (key == "Rss") {
      uint64_t kib = 0;
      if (parse_dec(next_field(rest), kib)) regions.back().rss_bytes = kib * 1024;
    }
  }
  return regions;
}

std::vector<MemoryRegion> read_smaps(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/smaps";
  return parse_smaps(read_text_file(path), path);
}

std::vector<MemoryRegion> select_regions(const std::vector<MemoryRegion>& regions,
                                         RegionSelection selection) {
  std::vector<MemoryRegion> selected;
  for (const auto& region : regions) {
    bool take = selection == RegionSelection::kMergeable ? region.mergeable() : region.anonymous();
    if (take && region.size() > 0) selected.push_back(region);
  }
  return selected;
}

}  // namespace singleton
