#include "snapshot/discovery/qemu_cmdline.hpp"

#include <gtest/gtest.h>

#include "snapshot/discovery/backing_chain.hpp"
#include "snapshot/discovery/discovery.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

TEST(QemuCmdline, RecognisesQemuBinaries) {
  EXPECT_TRUE(is_qemu_command({"/usr/bin/qemu-system-x86_64", "-m", "1G"}));
  EXPECT_TRUE(is_qemu_command({"qemu-kvm"}));
  EXPECT_FALSE(is_qemu_command({"/usr/bin/qemu-img", "info"}));
  EXPECT_FALSE(is_qemu_command({}));
}

TEST(QemuCmdline, ReadsNameUuidMemoryAndDrives) {
  auto cmdline = parse_qemu_cmdline({"qemu-system-x86_64", "-name", "guest=db,debug-threads=on",
                                     "-uuid", "1234", "-m", "2G", "-accel", "tcg", "-drive",
                                     "file=disk.qcow2,format=qcow2,if=virtio,cache=none", "-drive",
                                     "file=/img/odd,,name.raw,format=raw", "-drive",
                                     "if=none,id=cd0", "-hdb", "/img/hdb.raw", "-nographic"});
  EXPECT_EQ(cmdline.name, "db");
  EXPECT_EQ(cmdline.uuid, "1234");
  EXPECT_EQ(cmdline.ram_bytes, 2ull << 30);
  ASSERT_EQ(cmdline.disks.size(), 3u);
  EXPECT_EQ(cmdline.disks[0].disk.path, "disk.qcow2");
  EXPECT_EQ(cmdline.disks[0].disk.format, "qcow2");
  EXPECT_EQ(cmdline.disks[0].disk.cache, CacheMode::kNone);
  EXPECT_FALSE(cmdline.disks[0].backing_known);
  EXPECT_EQ(cmdline.disks[1].disk.path, "/img/odd,name.raw");  // ",," is a literal comma
  EXPECT_EQ(cmdline.disks[1].disk.cache, CacheMode::kWriteback);
  EXPECT_TRUE(cmdline.disks[1].backing_known);
  EXPECT_EQ(cmdline.disks[2].disk.path, "/img/hdb.raw");
}

TEST(QemuCmdline, MemoryForms) {
  EXPECT_EQ(parse_qemu_cmdline({"qemu-system-x86_64", "-m", "512"}).ram_bytes, 512ull << 20);
  EXPECT_EQ(
      parse_qemu_cmdline({"qemu-system-x86_64", "-m", "size=1024M,slots=2,maxmem=4G"}).ram_bytes,
      1024ull << 20);
  EXPECT_EQ(parse_qemu_cmdline({"qemu-system-x86_64"}).ram_bytes, 128ull << 20);  // QEMU default
  EXPECT_EQ(parse_qemu_cmdline({"qemu-system-x86_64", "-m", "lots"}).ram_bytes, 128ull << 20);
}

TEST(QemuCmdline, LibvirtStyleJsonBlockdevs) {
  auto cmdline = parse_qemu_cmdline(
      {"/usr/bin/qemu-system-x86_64", "-name", "guest=lv,debug-threads=on", "-blockdev",
       R"({"driver":"file","filename":"/var/lib/base.qcow2","node-name":"libvirt-2-storage","cache":{"direct":false,"no-flush":false}})",
       "-blockdev",
       R"({"node-name":"libvirt-2-format","read-only":true,"driver":"qcow2","file":"libvirt-2-storage","backing":null})",
       "-blockdev",
       R"({"driver":"file","filename":"/var/lib/top.qcow2","node-name":"libvirt-1-storage","cache":{"direct":true,"no-flush":false}})",
       "-blockdev",
       R"({"node-name":"libvirt-1-format","driver":"qcow2","file":"libvirt-1-storage","backing":"libvirt-2-format"})",
       "-blockdev", "{not json"});
  ASSERT_EQ(cmdline.disks.size(), 1u);
  const auto& disk = cmdline.disks[0];
  EXPECT_EQ(disk.disk.path, "/var/lib/top.qcow2");
  EXPECT_EQ(disk.disk.format, "qcow2");
  EXPECT_EQ(disk.disk.cache, CacheMode::kNone);
  EXPECT_TRUE(disk.backing_known);
  EXPECT_EQ(disk.disk.backing, std::vector<std::string>{"/var/lib/base.qcow2"});
}

TEST(QemuCmdline, KeyvalBlockdevWithInlineFile) {
  auto cmdline = parse_qemu_cmdline(
      {"qemu-system-x86_64", "-blockdev",
       "driver=raw,node-name=d0,file.driver=file,file.filename=/img/a.raw,file.cache.direct=off"});
  ASSERT_EQ(cmdline.disks.size(), 1u);
  EXPECT_EQ(cmdline.disks[0].disk.path, "/img/a.raw");
  EXPECT_EQ(cmdline.disks[0].disk.format, "raw");
  EXPECT_EQ(cmdline.disks[0].disk.cache, CacheMode::kWriteback);
}

TEST(QemuCmdline, HostileBlockdevsNeitherCrashNorLoop) {
  std::string deep(100000, '[');
  auto cmdline =
      parse_qemu_cmdline({"qemu-system-x86_64",
                          "-blockdev",
                          "{" + deep,
                          "-blockdev",
                          "{\"driver\":",
                          "-blockdev",
                          R"({"node-name":"a","driver":"qcow2","file":"fa","backing":"b"})",
                          "-blockdev",
                          R"({"node-name":"b","driver":"qcow2","file":"fb","backing":"a"})",
                          "-blockdev",
                          R"({"node-name":"fa","driver":"file","filename":"/a"})",
                          "-blockdev",
                          R"({"node-name":"fb","driver":"file","filename":"/b"})",
                          "-blockdev",
                          R"({"node-name":"self","driver":"raw","file":"self"})",
                          "-blockdev",
                          "driver=raw,file.file.file.file.file.driver=file",
                          "-drive",
                          "",
                          "-drive",
                          ",,,,,",
                          "-m"});
  // The a<->b cycle has no top node and "self" points at itself: no disks, and no hang.
  for (const auto& disk : cmdline.disks) EXPECT_LE(disk.disk.backing.size(), 65u);
  EXPECT_EQ(cmdline.ram_bytes, 128ull << 20);
}

TEST(QemuImgBackingChain, ListsEveryImageBelowTheTop) {
  auto chain = parse_qemu_img_backing_chain(
      R"([{"filename":"/t.qcow2","format":"qcow2","backing-filename":"/b.qcow2"},
          {"filename":"/b.qcow2","format":"qcow2"},{"filename":"/r.raw","format":"raw"}])",
      "x");
  EXPECT_EQ(chain, (std::vector<std::string>{"/b.qcow2", "/r.raw"}));
  EXPECT_TRUE(parse_qemu_img_backing_chain(R"([{"filename":"/t.raw"}])", "x").empty());
  EXPECT_THROW(parse_qemu_img_backing_chain("[{", "x"), Error);
  EXPECT_THROW(parse_qemu_img_backing_chain(R"([{"filename":"/t"},{"format":"raw"}])", "x"), Error);
}

TEST(ExplicitArgs, PairsPidsWithImages) {
  auto one = pair_explicit_args({10}, {"/a", "/b"});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].images.size(), 2u);
  auto pairs = pair_explicit_args({10, 11}, {"/a", "/b"});
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[1].pid, 11);
  EXPECT_EQ(pairs[1].images, std::vector<std::string>{"/b"});
  EXPECT_EQ(pair_explicit_args({10, 11}, {}).size(), 2u);
  try {
    pair_explicit_args({10, 11, 12}, {"/a", "/b"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
  }
  EXPECT_THROW(pair_explicit_args({}, {"/a"}), Error);
}

}  // namespace
}  // namespace singleton
