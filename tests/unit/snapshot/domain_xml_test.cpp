#include "snapshot/discovery/domain_xml.hpp"

#include <gtest/gtest.h>

#include <string>

#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

constexpr const char* kDomain = R"(<domain type='qemu' id='3'>
  <name>web-1</name>
  <uuid>6f1e3a52-3b6c-4d0e-9a51-2f0d8f6e1c11</uuid>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>524288</currentMemory>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='writeback'/>
      <source file='/var/lib/images/web-1.qcow2' index='2'/>
      <backingStore type='file' index='1'>
        <format type='qcow2'/>
        <source file='/var/lib/images/base.qcow2'/>
        <backingStore type='file' index='0'>
          <format type='raw'/>
          <source file='/var/lib/images/root.raw'/>
          <backingStore/>
        </backingStore>
      </backingStore>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none' io='native'/>
      <source file='/var/lib/images/db &amp; logs.raw'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw'/>
      <source dev='/dev/vg0/lv1'/>
      <target dev='vdc' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='sda' bus='sata'/>
    </disk>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='nbd' name='x'><host name='h' port='10809'/></source>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='directsync'/>
      <source file='/var/lib/images/unprobed.qcow2'/>
    </disk>
  </devices>
</domain>
)";

TEST(DomainXml, ReadsNameUuidMemoryAndDisks) {
  auto domain = parse_domain_xml(kDomain, "test");
  EXPECT_EQ(domain.name, "web-1");
  EXPECT_EQ(domain.uuid, "6f1e3a52-3b6c-4d0e-9a51-2f0d8f6e1c11");
  EXPECT_EQ(domain.memory_bytes, 512u << 20);  // currentMemory wins over memory
  ASSERT_EQ(domain.disks.size(), 4u);          // no empty cdrom, no network disk
  const auto& top = domain.disks[0];
  EXPECT_EQ(top.disk.path, "/var/lib/images/web-1.qcow2");
  EXPECT_EQ(top.disk.format, "qcow2");
  EXPECT_EQ(top.disk.cache, CacheMode::kWriteback);
  EXPECT_TRUE(top.backing_known);
  EXPECT_EQ(top.disk.backing,
            (std::vector<std::string>{"/var/lib/images/base.qcow2", "/var/lib/images/root.raw"}));
  EXPECT_EQ(domain.disks[1].disk.path, "/var/lib/images/db & logs.raw");
  EXPECT_EQ(domain.disks[1].disk.cache, CacheMode::kNone);
  EXPECT_TRUE(domain.disks[1].backing_known);  // raw: nothing below it
  EXPECT_EQ(domain.disks[2].disk.path, "/dev/vg0/lv1");
  EXPECT_EQ(domain.disks[2].disk.cache, CacheMode::kWriteback);  // QEMU's default
  EXPECT_EQ(domain.disks[3].disk.cache, CacheMode::kDirectsync);
  EXPECT_FALSE(domain.disks[3].backing_known);  // qcow2 without <backingStore>: ask qemu-img
}

void expect_error(const std::string& xml, const std::string& fragment) {
  try {
    parse_domain_xml(xml, "domain 'evil' XML");
    FAIL() << "no error for: " << xml.substr(0, 80);
  } catch (const Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("domain 'evil' XML"), std::string::npos) << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << what;
    EXPECT_EQ(e.code(), ExitCode::kPartial);
  }
}

TEST(DomainXml, MalformedXmlIsAClearErrorWithALine) {
  expect_error("<domain><name>x</name>\n<devices><disk></devices></domain>", "line 2");
  expect_error("", "malformed");
  expect_error("just text", "malformed");
  expect_error(std::string("<domain>\0</domain>", 18), "malformed");
}

TEST(DomainXml, WrongRootIsRefused) {
  expect_error("<network><name>n</name></network>", "<domain>");
}

TEST(DomainXml, BillionLaughsIsRefused) {
  std::string xml = "<?xml version='1.0'?>\n<!DOCTYPE domain [\n<!ENTITY a0 'lol'>\n";
  for (int i = 1; i < 10; ++i) {
    xml += "<!ENTITY a" + std::to_string(i) + " '";
    for (int j = 0; j < 10; ++j) xml += "&a" + std::to_string(i - 1) + ";";
    xml += "'>\n";
  }
  xml += "]>\n<domain><name>&a9;</name></domain>\n";
  expect_error(xml, "DOCTYPE");
}

TEST(DomainXml, ExternalEntityIsRefused) {
  expect_error(
      "<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/shadow'>]>"
      "<domain><name>&x;</name></domain>",
      "DOCTYPE");
}

TEST(DomainXml, UndeclaredEntityIsAnErrorNotAnExpansion) {
  expect_error("<domain><name>&x;</name></domain>", "malformed");
}

TEST(DomainXml, DeepNestingIsAnErrorNotACrash) {
  std::string xml = "<domain>";
  for (int i = 0; i < 100000; ++i) xml += "<a>";
  for (int i = 0; i < 100000; ++i) xml += "</a>";
  xml += "</domain>";
  expect_error(xml, "malformed");
}

TEST(DomainXml, HugeInputIsRefused) {
  std::string xml = "<domain><name>" + std::string(17 << 20, 'x') + "</name></domain>";
  expect_error(xml, "16 MiB");
}

TEST(DomainXml, BadMemorySizeIsAnError) {
  expect_error("<domain><memory unit='parsecs'>12</memory></domain>", "memory size");
  expect_error("<domain><memory>-5</memory></domain>", "memory size");
}

TEST(DomainXml, EndlessBackingChainIsCut) {
  std::string xml = "<domain><devices><disk type='file'><driver type='qcow2'/><source file='/a'/>";
  for (int i = 0; i < 100; ++i) xml += "<backingStore type='file'><source file='/b'/>";
  for (int i = 0; i < 100; ++i) xml += "</backingStore>";
  xml += "</disk></devices></domain>";
  expect_error(xml, "deeper than 64");
}

TEST(DomainXml, MinimalDomainHasNoDisks) {
  auto domain = parse_domain_xml("<domain><name>m</name></domain>", "x");
  EXPECT_EQ(domain.name, "m");
  EXPECT_EQ(domain.memory_bytes, 0u);
  EXPECT_TRUE(domain.disks.empty());
}

}  // namespace
}  // namespace singleton
