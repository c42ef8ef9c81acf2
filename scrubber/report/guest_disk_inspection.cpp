#include "scrubber/report/guest_disk_inspection.hpp"

#include <chrono>
#include <sstream>

#include "scrubber/report/appliance_output.hpp"
#include "scrubber/report/guestfs_session.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

// Every block device of the appliance and every device-mapper table, for spans_on_disk.
constexpr const char* kTopologyScript =
    "for d in /sys/class/block/*; do"
    "  s=-; [ -r $d/start ] && s=$(cat $d/start);"
    "  echo B ${d##*/} $(cat $d/dev) $s $(cat $d/size) $(basename $(dirname $(readlink -f $d)));"
    " done;"
    " for d in /sys/class/block/dm-*; do"
    "  [ -e $d/dev ] || continue; mm=$(cat $d/dev); echo DM $mm;"
    "  dmsetup table -j ${mm%:*} -m ${mm#*:};"
    " done";

// One script per file system (each appliance call costs a round trip, slow under TCG): the
// device mounted at /sysroot (major:minor, bytes, path), every regular file's extents (-xdev:
// this file system only; a name holding a newline would be misread, so such files are left
// out), then its free space and journal: dumpe2fs and debugfs for ext2/3/4, xfs_db for XFS.
std::string filesystem_script(bool ext) {
  std::string script =
      "dev=$(grep ' /sysroot ' /proc/mounts | head -n1 | cut -d' ' -f1);"
      " echo @@DEVICE;"
      " echo $(( 0x$(stat -L -c %t $dev) )):$(( 0x$(stat -L -c %T $dev) ))"
      " $(blockdev --getsize64 $dev) $dev;"
      " echo @@FILES;"
      " find /sysroot -xdev -type f ! -name '*\n*' -exec filefrag -e {} + 2>/dev/null;";
  if (ext) {
    script +=
        " echo @@EXT;"
        " dumpe2fs $dev 2>/dev/null | grep -E '^(Block size:|Journal inode:|  Free blocks: )'"
        " > /tmp/singleton-ext; cat /tmp/singleton-ext;"
        " j=$(sed -n 's/^Journal inode: *//p' /tmp/singleton-ext);"
        " if [ -n \"$j\" ]; then echo @@JOURNAL; debugfs -R \"blocks <$j>\" $dev 2>/dev/null; fi;";
  } else {
    script +=
        " echo @@XFSSB;"
        " xfs_db -r -c 'sb 0' -c 'p blocksize agblocks agblklog logstart logblocks' $dev;"
        " echo @@XFSFREE; xfs_db -r -c 'freesp -d' $dev;";
  }
  return script + " true";
}

bool is_ext(const std::string& type) { return type == "ext2" || type == "ext3" || type == "ext4"; }

// Adds a file-system byte range to the layout, wherever on the disk it lies.
void add_fs_range(DiskLayout& layout, const std::vector<DiskSpan>& spans, const ByteRange& range,
                  uint32_t owner) {
  for (const DiskSpan& s : spans) {
    const uint64_t begin = std::max(range.offset, s.device_offset);
    const uint64_t end = std::min(range.offset + range.length, s.device_offset + s.length);
    if (begin < end) layout.add(s.disk_offset + (begin - s.device_offset), end - begin, owner);
  }
}

void inspect_filesystem(GuestfsSession& g, const BlockTopology& topology, const std::string& fs,
                        const std::string& type, DiskLayout& layout) {
  g.mount_ro(fs);
  auto sections = split_sections(g.shell(filesystem_script(is_ext(type))));
  g.umount_all();
  std::istringstream device(sections["DEVICE"]);
  std::string number;
  uint64_t bytes = 0;
  device >> number >> bytes;
  if (number.empty() || bytes == 0) throw Error(ExitCode::kPartial, "cannot find the mounted device");
  const std::vector<DiskSpan> spans = spans_on_disk(topology, number, 0, bytes);
  const uint32_t metadata = layout.add_owner({LayoutOwner::kMetadata, "(metadata)", fs});
  for (const DiskSpan& s : spans) layout.add_filesystem_span(s.disk_offset, s.length, metadata);
  for (const FileExtents& file : parse_filefrag(sections["FILES"])) {
    const uint32_t owner = layout.add_owner({LayoutOwner::kFile, file.path, fs});
    for (const ByteRange& r : file.extents) add_fs_range(layout, spans, r, owner);
  }
  const uint32_t free = layout.add_owner({LayoutOwner::kFreeSpace, "(free space)", fs});
  const uint32_t journal = layout.add_owner({LayoutOwner::kJournal, "(journal)", fs});
  if (is_ext(type)) {
    const Ext4Facts facts = parse_dumpe2fs(sections["EXT"]);
    for (const ByteRange& r : facts.free) add_fs_range(layout, spans, r, free);
    if (facts.block_size != 0) {
      for (const ByteRange& r : parse_block_list(sections["JOURNAL"], facts.block_size))
        add_fs_range(layout, spans, r, journal);
    }
  } else {
    const XfsFacts facts = parse_xfs_db(sections["XFSSB"], sections["XFSFREE"]);
    for (const ByteRange& r : facts.free) add_fs_range(layout, spans, r, free);
    if (const auto log = facts.log()) add_fs_range(layout, spans, *log, journal);
  }
}

}  // namespace

DiskInspection inspect_disk(const std::vector<ChainFile>& chain, uint64_t virtual_size) {
  const auto start = std::chrono::steady_clock::now();
  DiskInspection out;
  ReadOnlyOverlay overlay(chain, virtual_size);
  GuestfsSession g(overlay.path(), "qcow2");
  out.launch_seconds = g.launch_seconds();
  out.how = g.how();
  const BlockTopology topology = parse_block_topology(g.shell(kTopologyScript));
  size_t read = 0;
  for (const auto& [fs, type] : g.filesystems()) {
    if (!is_ext(type) && type != "xfs") {
      if (type != "unknown" && type != "swap")
        out.notes.push_back(fs + ": " + type + " is not read (ext2/3/4 and XFS are)");
      continue;
    }
    try {
      inspect_filesystem(g, topology, fs, type, out.layout);
      ++read;
    } catch (const Error& e) {
      out.notes.push_back(fs + ": " + e.what());
      try {
        g.umount_all();
      } catch (const Error&) {
      }
    }
  }
  if (read == 0) {
    std::string why;
    for (const std::string& note : out.notes) why += "; " + note;
    throw Error(ExitCode::kPartial,
                "libguestfs found no ext2/3/4 or XFS file system it could read on it" + why);
  }
  out.layout.finish();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace singleton
