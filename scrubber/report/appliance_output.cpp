#include "scrubber/report/appliance_output.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>

namespace singleton {
namespace {

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

std::vector<std::string_view> words_of(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) words.push_back(line.substr(i, j - i));
    i = j;
  }
  return words;
}

std::optional<uint64_t> number(std::string_view word) {
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), value);
  if (ec != std::errc() || end != word.data() + word.size() || word.empty()) return std::nullopt;
  return value;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Appends [offset, offset + length), merged with the previous range when adjacent.
void append(std::vector<ByteRange>& ranges, uint64_t offset, uint64_t length) {
  if (length == 0) return;
  if (!ranges.empty() && ranges.back().offset + ranges.back().length == offset) {
    ranges.back().length += length;
  } else {
    ranges.push_back({offset, length});
  }
}

}  // namespace

std::map<std::string, std::string> split_sections(std::string_view text) {
  std::map<std::string, std::string> sections;
  std::string* current = nullptr;
  for (std::string_view line : lines_of(text)) {
    if (starts_with(line, "@@") && line.find(' ') == std::string_view::npos) {
      current = &sections[std::string(line.substr(2))];
      continue;
    }
    if (current != nullptr) current->append(line).append("\n");
  }
  return sections;
}

std::vector<FileExtents> parse_filefrag(std::string_view text, std::string_view root) {
  std::vector<FileExtents> files;
  uint64_t block = 0;
  bool in_file = false;
  for (std::string_view line : lines_of(text)) {
    if (starts_with(line, "File size of ")) {
      // "File size of PATH is BYTES (N blocks of B bytes)"
      in_file = false;
      const size_t is = line.rfind(" is ");
      const size_t of = line.rfind(" blocks of ");
      if (is == std::string_view::npos || of == std::string_view::npos || is < 13) continue;
      std::string_view path = line.substr(13, is - 13);
      std::string_view size_word = line.substr(of + 11);
      size_word = size_word.substr(0, size_word.find(' '));
      const auto size = number(size_word);
      if (!size || *size == 0 || !starts_with(path, root)) continue;
      path.remove_prefix(root.size());
      if (path.empty() || path.front() != '/') continue;
      block = *size;
      files.push_back({std::string(path), {}});
      in_file = true;
      continue;
    }
    if (!in_file) continue;
    // "   0:        0..       8:         14..        22:      9:     expected:   flags"
    // Fields between colons: index, logical range, physical range, length, then the expected
    // block (may be empty) and the flags.
    std::vector<std::string_view> fields;
    for (std::string_view rest = line;;) {
      const size_t colon = rest.find(':');
      fields.push_back(trim(rest.substr(0, colon)));
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
    if (fields.size() < 5 || !number(fields[0])) continue;
    const std::string_view physical = fields[2];
    const size_t dots = physical.find("..");
    if (dots == std::string_view::npos) continue;
    const auto first = number(trim(physical.substr(0, dots)));
    const auto length = number(fields[3]);
    if (!first || !length) continue;
    std::string flags;
    for (size_t k = 4; k < fields.size(); ++k) flags += std::string(fields[k]) + ",";
    if (flags.find("inline") != std::string::npos || flags.find("unknown") != std::string::npos ||
        flags.find("delalloc") != std::string::npos || flags.find("encoded") != std::string::npos)
      continue;
    append(files.back().extents, *first * block, *length * block);
  }
  std::erase_if(files, [](const FileExtents& f) { return f.extents.empty(); });
  return files;
}

BlockTopology parse_block_topology(std::string_view text) {
  BlockTopology topology;
  std::string dm_device;
  for (std::string_view line : lines_of(text)) {
    const auto w = words_of(line);
    if (w.size() == 6 && w[0] == "B") {
      BlockDevice d;
      d.name = w[1];
      d.number = w[2];
      d.start_sector = number(w[3]);
      d.sectors = number(w[4]).value_or(0);
      d.parent = w[5];
      topology.devices.push_back(std::move(d));
      dm_device.clear();
    } else if (w.size() == 2 && w[0] == "DM") {
      dm_device = w[1];
      topology.dm[dm_device];
    } else if (!dm_device.empty() && w.size() >= 3) {
      DmSegment s;
      const auto start = number(w[0]), sectors = number(w[1]);
      if (!start || !sectors) continue;
      s.start = *start;
      s.sectors = *sectors;
      s.target = w[2];
      if (s.target == "linear" && w.size() >= 5) {
        s.under = w[3];
        s.under_sector = number(w[4]).value_or(0);
      }
      topology.dm[dm_device].push_back(std::move(s));
    }
  }
  return topology;
}

std::vector<DiskSpan> spans_on_disk(const BlockTopology& topology, const std::string& number,
                                    uint64_t offset, uint64_t length) {
  std::vector<DiskSpan> out;
  // Walks down one level and recurses; device-mapper stacks are shallow (LVM: one level).
  struct Walker {
    const BlockTopology& t;
    std::vector<DiskSpan>& out;
    void walk(const std::string& dev, uint64_t device_offset, uint64_t at, uint64_t length,
              int depth) {
      if (length == 0 || depth > 8) return;
      if (const auto dm = t.dm.find(dev); dm != t.dm.end()) {
        for (const DmSegment& s : dm->second) {
          const uint64_t s_begin = s.start * 512, s_end = (s.start + s.sectors) * 512;
          const uint64_t begin = std::max(at, s_begin), end = std::min(at + length, s_end);
          if (begin >= end || s.target != "linear") continue;
          walk(s.under, device_offset + (begin - at), s.under_sector * 512 + (begin - s_begin),
               end - begin, depth + 1);
        }
        return;
      }
      const auto d = std::find_if(t.devices.begin(), t.devices.end(),
                                  [&](const BlockDevice& b) { return b.number == dev; });
      if (d == t.devices.end()) return;
      if (d->start_sector) {
        const auto parent = std::find_if(t.devices.begin(), t.devices.end(),
                                         [&](const BlockDevice& b) { return b.name == d->parent; });
        if (parent == t.devices.end()) return;
        walk(parent->number, device_offset, *d->start_sector * 512 + at, length, depth + 1);
        return;
      }
      out.push_back({device_offset, at, length});  // a whole disk
    }
  } walker{topology, out};
  walker.walk(number, offset, offset, length, 0);
  return out;
}

Ext4Facts parse_dumpe2fs(std::string_view text) {
  Ext4Facts facts;
  std::vector<std::pair<uint64_t, uint64_t>> free_blocks;  // first, count
  for (std::string_view line : lines_of(text)) {
    if (starts_with(line, "Block size:")) {
      facts.block_size = number(trim(line.substr(11))).value_or(0);
    } else if (starts_with(line, "Journal inode:")) {
      facts.journal_inode = number(trim(line.substr(14)));
    } else if (starts_with(trim(line), "Free blocks:")) {
      std::string_view list = trim(trim(line).substr(12));
      while (!list.empty()) {
        const size_t comma = list.find(',');
        std::string_view item = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        const size_t dash = item.find('-');
        const auto first = number(item.substr(0, dash));
        const auto last = dash == std::string_view::npos ? first : number(item.substr(dash + 1));
        if (first && last && *last >= *first) free_blocks.emplace_back(*first, *last - *first + 1);
      }
    }
  }
  if (facts.block_size != 0) {
    for (const auto& [first, count] : free_blocks)
      append(facts.free, first * facts.block_size, count * facts.block_size);
  }
  return facts;
}

std::vector<ByteRange> parse_block_list(std::string_view text, uint64_t block_size) {
  std::vector<uint64_t> blocks;
  for (std::string_view line : lines_of(text)) {
    for (std::string_view word : words_of(line)) {
      if (const auto b = number(word)) blocks.push_back(*b);
    }
  }
  std::sort(blocks.begin(), blocks.end());
  std::vector<ByteRange> ranges;
  for (uint64_t b : blocks) append(ranges, b * block_size, block_size);
  return ranges;
}

std::optional<ByteRange> XfsFacts::log() const {
  if (log_blocks == 0 || block_size == 0 || ag_blocks == 0) return std::nullopt;
  const uint64_t ag = log_start >> ag_block_log;
  const uint64_t in_ag = log_start & ((uint64_t{1} << ag_block_log) - 1);
  return ByteRange{(ag * ag_blocks + in_ag) * block_size, log_blocks * block_size};
}

XfsFacts parse_xfs_db(std::string_view superblock, std::string_view freesp) {
  XfsFacts facts;
  for (std::string_view line : lines_of(superblock)) {
    const size_t eq = line.find(" = ");
    if (eq == std::string_view::npos) continue;
    const std::string_view key = trim(line.substr(0, eq));
    const auto value = number(trim(line.substr(eq + 3)));
    if (!value) continue;
    if (key == "blocksize") facts.block_size = *value;
    if (key == "agblocks") facts.ag_blocks = *value;
    if (key == "agblklog") facts.ag_block_log = *value;
    if (key == "logstart") facts.log_start = *value;
    if (key == "logblocks") facts.log_blocks = *value;
  }
  if (facts.block_size == 0 || facts.ag_blocks == 0) return facts;
  std::vector<std::pair<uint64_t, uint64_t>> free;
  for (std::string_view line : lines_of(freesp)) {
    const auto w = words_of(line);
    if (w.size() != 3) continue;  // the histogram after the list has five columns
    const auto ag = number(w[0]), block = number(w[1]), length = number(w[2]);
    if (ag && block && length) free.emplace_back(*ag * facts.ag_blocks + *block, *length);
  }
  std::sort(free.begin(), free.end());
  for (const auto& [first, count] : free)
    append(facts.free, first * facts.block_size, count * facts.block_size);
  return facts;
}

}  // namespace singleton
