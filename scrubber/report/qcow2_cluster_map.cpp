#include "scrubber/report/qcow2_cluster_map.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "scrubber/report/direct_reader.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

uint64_t be(const std::string& bytes, size_t at, size_t count) {
  uint64_t value = 0;
  for (size_t i = 0; i < count; ++i)
    value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

// block/qcow2.h: QCOW_MAX_L1_SIZE (32 MiB of entries), cluster bits 9..21.
constexpr uint64_t kMaxL1Bytes = uint64_t{32} << 20;
constexpr uint64_t kOffsetMask = 0x00fffffffffffe00ULL;
constexpr uint64_t kCompressed = uint64_t{1} << 62;
constexpr uint64_t kZeroCluster = 1;
constexpr uint64_t kIncompatibleDirty = 1, kIncompatibleCorrupt = 2,
                   kIncompatibleExternalData = 4, kIncompatibleCompression = 8,
                   kIncompatibleExtendedL2 = 16;

}  // namespace

bool is_qcow2(const std::string& first_bytes) {
  return first_bytes.size() >= 4 && std::memcmp(first_bytes.data(), "QFI\xfb", 4) == 0;
}

Qcow2Header parse_qcow2_header(const std::string& b, const std::string& origin) {
  auto bad = [&](const std::string& why) {
    return Error(ExitCode::kPartial, origin + ": qcow2 header: " + why);
  };
  if (b.size() < 72 || !is_qcow2(b)) throw bad("not a qcow2 image");
  Qcow2Header h;
  h.version = static_cast<uint32_t>(be(b, 4, 4));
  if (h.version != 2 && h.version != 3) throw bad("version " + std::to_string(h.version));
  h.cluster_bits = static_cast<uint32_t>(be(b, 20, 4));
  if (h.cluster_bits < 9 || h.cluster_bits > 21)
    throw bad("cluster bits " + std::to_string(h.cluster_bits));
  h.virtual_size = be(b, 24, 8);
  // block/qcow2.c: a name of at most 1023 bytes, inside the first cluster.
  const uint64_t name_offset = be(b, 8, 8), name_size = be(b, 16, 4);
  if (name_offset != 0 && name_size != 0) {
    const uint64_t cluster = uint64_t{1} << h.cluster_bits;
    if (name_size > 1023 || name_offset > cluster || name_size > cluster - name_offset)
      throw bad("backing file name out of bounds");
    h.backing_offset = name_offset;
    h.backing_size = static_cast<uint32_t>(name_size);
    if (name_offset + name_size <= b.size()) h.backing_file = b.substr(name_offset, name_size);
  }
  if (be(b, 32, 4) != 0) throw bad("encrypted (its clusters hold no guest data as such)");
  h.l1_entries = static_cast<uint32_t>(be(b, 36, 4));
  h.l1_offset = be(b, 40, 8);
  if (uint64_t{h.l1_entries} * 8 > kMaxL1Bytes) throw bad("L1 table beyond QEMU's 32 MiB");
  if (h.l1_offset % (uint64_t{1} << h.cluster_bits) != 0) throw bad("L1 table not cluster-aligned");
  if (h.version == 3 && b.size() >= 80) {
    const uint64_t incompatible = be(b, 72, 8);
    if (incompatible & kIncompatibleExternalData) throw bad("external data file");
    h.extended_l2 = incompatible & kIncompatibleExtendedL2;
    const uint64_t known = kIncompatibleDirty | kIncompatibleCorrupt | kIncompatibleCompression |
                           kIncompatibleExtendedL2;
    if (incompatible & ~known) throw bad("unknown incompatible features");
  }
  return h;
}

Qcow2ClusterMap::Qcow2ClusterMap(DirectReader& reader, uint64_t file_bytes,
                                 const std::string& origin) {
  std::string bytes;
  reader.read(0, 4096, bytes);
  header_ = parse_qcow2_header(bytes, origin);
  const uint64_t cluster = uint64_t{1} << header_.cluster_bits;
  const uint64_t entry_bytes = header_.extended_l2 ? 16 : 8;
  const uint64_t l2_entries = cluster / entry_bytes;
  auto inside = [&](uint64_t offset, uint64_t length) {
    return offset <= file_bytes && length <= file_bytes - offset;
  };
  if (!inside(header_.l1_offset, uint64_t{header_.l1_entries} * 8))
    throw Error(ExitCode::kPartial, origin + ": qcow2 L1 table beyond the end of the file");
  std::string l1;
  reader.read(header_.l1_offset, header_.l1_entries * size_t{8}, l1);
  std::string l2;
  for (uint64_t i = 0; i < header_.l1_entries; ++i) {
    const uint64_t l2_offset = be(l1, i * 8, 8) & kOffsetMask;
    if (l2_offset == 0) continue;
    if (l2_offset % cluster != 0 || !inside(l2_offset, cluster))
      throw Error(ExitCode::kPartial, origin + ": qcow2 L2 table " + std::to_string(i) +
                                          " outside the file or unaligned");
    reader.read(l2_offset, cluster, l2);
    if (l2.size() != cluster)
      throw Error(ExitCode::kPartial, origin + ": qcow2 L2 table " + std::to_string(i) + " short");
    for (uint64_t j = 0; j < l2_entries; ++j) {
      const uint64_t entry = be(l2, j * entry_bytes, 8);
      if (entry & kCompressed) continue;
      if (!header_.extended_l2 && (entry & kZeroCluster)) continue;
      const uint64_t host = entry & kOffsetMask;
      if (host == 0 || host % cluster != 0) continue;
      const uint64_t guest = (i * l2_entries + j) * cluster;
      if (guest >= header_.virtual_size) continue;
      host_.push_back(host);
      guest_.push_back(guest);
    }
  }
  sort();
}

Qcow2ClusterMap::Qcow2ClusterMap(uint32_t cluster_bits, std::vector<uint64_t> host,
                                 std::vector<uint64_t> guest)
    : host_(std::move(host)), guest_(std::move(guest)) {
  header_.cluster_bits = cluster_bits;
  sort();
}

void Qcow2ClusterMap::sort() {
  std::vector<size_t> order(host_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return host_[a] < host_[b]; });
  std::vector<uint64_t> host(host_.size()), guest(guest_.size());
  for (size_t k = 0; k < order.size(); ++k) {
    host[k] = host_[order[k]];
    guest[k] = guest_[order[k]];
  }
  host_ = std::move(host);
  guest_ = std::move(guest);
}

std::optional<uint64_t> Qcow2ClusterMap::virtual_offset(uint64_t host_offset) const {
  const uint64_t cluster = uint64_t{1} << header_.cluster_bits;
  const uint64_t start = host_offset / cluster * cluster;
  const auto it = std::lower_bound(host_.begin(), host_.end(), start);
  if (it == host_.end() || *it != start) return std::nullopt;
  return guest_[it - host_.begin()] + (host_offset - start);
}

}  // namespace singleton
