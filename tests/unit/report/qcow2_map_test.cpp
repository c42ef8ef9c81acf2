// The qcow2 reverse map on images qemu-img makes: every data cluster's host offset is found
// again by its content, and headers singleton cannot map are refused with a reason.
#include "scrubber/report/qcow2_cluster_map.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

#include "scrubber/pagecache/read_only_file.hpp"
#include "scrubber/report/direct_reader.hpp"
#include "snapshot/base/error.hpp"
#include "tests/unit/temp_dir.hpp"

namespace singleton {
namespace {

using testing::TempDir;

// A 64 KiB cluster at each of `clusters` (virtual cluster numbers) of a 64 MiB disk, filled
// with its own number; converted to qcow2 by qemu-img (which allocates only non-zero clusters,
// in its own order).
std::string make_qcow2(const TempDir& dir, const std::vector<uint64_t>& clusters) {
  const std::string raw = dir / "disk.raw", qcow2 = dir / "disk.qcow2";
  {
    std::ofstream out(raw, std::ios::binary);
    out.seekp((64 << 20) - 1);
    out.put('\0');
  }
  std::fstream io(raw, std::ios::binary | std::ios::in | std::ios::out);
  for (uint64_t c : clusters) {
    std::vector<uint64_t> words(65536 / 8, c + 1);
    io.seekp(static_cast<std::streamoff>(c * 65536));
    io.write(reinterpret_cast<const char*>(words.data()), 65536);
  }
  io.close();
  const std::string cmd = "qemu-img convert -q -f raw -O qcow2 " + raw + " " + qcow2;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  return qcow2;
}

TEST(Qcow2ClusterMap, EveryDataClusterMapsBackToItsVirtualOffset) {
  TempDir dir;
  const std::vector<uint64_t> clusters{0, 1, 7, 100, 511, 512, 1023};
  const std::string path = make_qcow2(dir, clusters);
  ReadOnlyFile file(path);
  DirectReader reader(file.fd(), path);
  const Qcow2ClusterMap map(reader, file.size_bytes(), path);
  EXPECT_EQ(map.header().cluster_bits, 16u);
  EXPECT_EQ(map.header().virtual_size, uint64_t{64} << 20);
  EXPECT_EQ(map.clusters(), clusters.size());
  // Walk the file: every host cluster either holds data (its content names its virtual
  // cluster, and the map must say so) or is metadata (the map must say nothing).
  std::map<uint64_t, uint64_t> found;  // virtual cluster -> host offset
  std::string bytes;
  for (uint64_t host = 0; host < file.size_bytes(); host += 65536) {
    const auto guest = map.virtual_offset(host + 4096);
    reader.read(host, 8, bytes);
    uint64_t word = 0;
    std::memcpy(&word, bytes.data(), std::min<size_t>(8, bytes.size()));
    if (guest) {
      EXPECT_EQ(word, *guest / 65536 + 1) << "host cluster at " << host;
      EXPECT_EQ(*guest % 65536, 4096u);
      found[*guest / 65536] = host;
    }
  }
  EXPECT_EQ(found.size(), clusters.size());
  for (uint64_t c : clusters) EXPECT_TRUE(found.count(c)) << "virtual cluster " << c;
  EXPECT_EQ(map.virtual_offset(0), std::nullopt);  // the header
}

TEST(Qcow2Header, RefusesWhatItCannotMap) {
  std::string header(104, '\0');
  EXPECT_THROW(parse_qcow2_header(header, "zeros"), Error);
  std::memcpy(header.data(), "QFI\xfb", 4);
  header[7] = 3;    // version 3
  header[23] = 16;  // 64 KiB clusters
  EXPECT_NO_THROW(parse_qcow2_header(header, "ok"));
  header[35] = 2;  // crypt_method: LUKS
  try {
    parse_qcow2_header(header, "enc.qcow2");
    FAIL() << "an encrypted image was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("encrypted"), std::string::npos) << e.what();
  }
  header[35] = 0;
  header[23] = 30;  // 1 GiB clusters: beyond QEMU's 2 MiB
  EXPECT_THROW(parse_qcow2_header(header, "big"), Error);
  header[23] = 16;
  header[79] = 4;  // external data file
  EXPECT_THROW(parse_qcow2_header(header, "external"), Error);
  EXPECT_FALSE(is_qcow2("QFI"));
}

// The backing file name as qemu-img writes it (relative here), and one out of QEMU's bounds.
TEST(Qcow2Header, KeepsTheBackingFileName) {
  TempDir dir;
  const std::string cmd = "qemu-img create -q -f raw " + dir / "base.raw" +
                          " 1M && qemu-img create -q -f qcow2 -F raw -b base.raw " +
                          dir / "top.qcow2";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::string head(4096, '\0');
  std::ifstream(dir / "top.qcow2", std::ios::binary).read(head.data(), 4096);
  const Qcow2Header h = parse_qcow2_header(head, "top.qcow2");
  EXPECT_TRUE(h.names_backing());
  EXPECT_EQ(h.backing_file, "base.raw");
  EXPECT_EQ(h.backing_size, 8u);
  head[16] = 0, head[17] = 0, head[18] = 0x07, head[19] = static_cast<char>(0xd0);  // 2000 bytes
  EXPECT_THROW(parse_qcow2_header(head, "long"), Error);
  std::fill(head.begin() + 8, head.begin() + 20, '\0');  // no backing file
  EXPECT_FALSE(parse_qcow2_header(head, "plain").names_backing());
}

}  // namespace
}  // namespace singleton
