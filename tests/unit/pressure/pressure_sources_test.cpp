// The pressure signals parsed from the kernel's files, given as data: /proc/meminfo,
// /proc/pressure/memory, and memory cgroups v2 and v1 (directories made to look like them).
#include "scrubber/pressure/pressure_sources.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "snapshot/base/error.hpp"
#include "tests/unit/temp_dir.hpp"

namespace singleton {
namespace {

constexpr uint64_t kMiB = 1 << 20;

void put(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

TEST(Meminfo, TotalAndAvailableInBytes) {
  const auto m = parse_meminfo(
      "MemTotal:       24583876 kB\nMemFree:          512000 kB\nMemAvailable:    1200000 kB\n"
      "Buffers:            1000 kB\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->total_bytes, 24583876ull * 1024);
  EXPECT_EQ(m->available_bytes, 1200000ull * 1024);
}

TEST(Meminfo, MissingOrMalformedIsNoReading) {
  EXPECT_FALSE(parse_meminfo(""));
  EXPECT_FALSE(parse_meminfo("MemTotal: 1000 kB\nMemFree: 10 kB\n"));   // kernel < 3.14
  EXPECT_FALSE(parse_meminfo("MemTotal: x kB\nMemAvailable: 10 kB\n"));
  // A key that only ends like MemAvailable is not it.
  EXPECT_FALSE(parse_meminfo("MemTotal: 1000 kB\nXMemAvailable: 10 kB\n"));
}

TEST(Psi, SomeAndFullAvg10) {
  const auto p = parse_psi_memory(
      "some avg10=12.50 avg60=3.00 avg300=1.00 total=123\n"
      "full avg10=4.25 avg60=1.00 avg300=0.50 total=45\n");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->some_avg10, 12.5);
  EXPECT_DOUBLE_EQ(p->full_avg10, 4.25);
}

TEST(Psi, AbsentOrMalformedIsNoReading) {
  EXPECT_FALSE(parse_psi_memory(""));  // no PSI (CONFIG_PSI off, psi=0): the file is missing
  EXPECT_FALSE(parse_psi_memory("some avg10=abc avg60=0\n"));
  EXPECT_FALSE(parse_psi_memory("some avg10=250.00 avg60=0\n"));  // not a percentage
  const auto only_some = parse_psi_memory("some avg10=1.00 avg60=0.00 avg300=0.00 total=1\n");
  ASSERT_TRUE(only_some);
  EXPECT_EQ(only_some->full_avg10, 0);
}

TEST(CgroupV2, TheLowerOfMaxAndHighIsTheLimit) {
  const CgroupMemory m = parse_cgroup_v2_memory("943718400\n", "max\n", "1048576000\n");
  EXPECT_EQ(m.usage_bytes, 943718400u);
  EXPECT_EQ(m.limit_bytes, 1048576000u);
  EXPECT_EQ(m.headroom_bytes(), 1048576000u - 943718400u);
  EXPECT_EQ(parse_cgroup_v2_memory("10\n", "100\n", "max\n").limit_bytes, 100u);
}

TEST(CgroupV2, NoLimitAndOverTheLimit) {
  const CgroupMemory none = parse_cgroup_v2_memory("1000\n", "max\n", "max\n");
  EXPECT_EQ(none.limit_bytes, UINT64_MAX);
  // memory.high can be exceeded (it throttles); the headroom is then 0, not a wrapped number.
  EXPECT_EQ(parse_cgroup_v2_memory("2000\n", "max\n", "1000\n").headroom_bytes(), 0u);
}

TEST(CgroupV1, PageCounterMaxIsNoLimit) {
  EXPECT_EQ(parse_cgroup_v1_memory("4096\n", "9223372036854771712\n").limit_bytes, UINT64_MAX);
  const CgroupMemory m = parse_cgroup_v1_memory("536870912\n", "603979776\n");
  EXPECT_EQ(m.usage_bytes, 536870912u);
  EXPECT_EQ(m.headroom_bytes(), 64 * kMiB);
}

TEST(Cgroup, AMalformedNumberIsAUsageErrorNamingTheFile) {
  try {
    parse_cgroup_v1_memory("12x\n", "100\n");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("memory.usage_in_bytes"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_cgroup_v2_memory("-1\n", "max\n", "max\n"), Error);
  EXPECT_THROW(parse_cgroup_v2_memory("1\n", "\n", "max\n"), Error);
}

TEST(CgroupFiles, V2ByAbsolutePathAndV1ByNameUnderItsController) {
  testing::TempDir root("sg-cgroup");
  put(root / "unified/machine.slice/memory.current", "100\n");
  put(root / "unified/machine.slice/memory.max", "1000\n");
  put(root / "unified/machine.slice/memory.high", "max\n");
  const CgroupMemoryFiles v2(root / "unified/machine.slice");
  EXPECT_EQ(v2.version(), 2);
  EXPECT_EQ(v2.read().headroom_bytes(), 900u);

  put(root / "memory/vms/memory.usage_in_bytes", "300\n");
  put(root / "memory/vms/memory.limit_in_bytes", "400\n");
  const CgroupMemoryFiles v1("vms", root.path());
  EXPECT_EQ(v1.version(), 1);
  EXPECT_EQ(v1.path(), root / "memory/vms");
  EXPECT_EQ(v1.read().headroom_bytes(), 100u);
}

TEST(CgroupFiles, NotAMemoryCgroupIsAUsageError) {
  testing::TempDir root("sg-cgroup");
  std::filesystem::create_directories(root / "cpu/vms");
  try {
    CgroupMemoryFiles files(root / "cpu/vms");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("not a memory cgroup"), std::string::npos) << e.what();
  }
  EXPECT_THROW(CgroupMemoryFiles("no-such-group", root.path()), Error);
  EXPECT_THROW(CgroupMemoryFiles(""), Error);
}

TEST(CgroupFiles, ACgroupRemovedLaterIsAnEnvironmentError) {
  testing::TempDir root("sg-cgroup");
  put(root / "memory/vms/memory.usage_in_bytes", "300\n");
  put(root / "memory/vms/memory.limit_in_bytes", "400\n");
  const CgroupMemoryFiles files(root / "memory/vms");
  std::filesystem::remove_all(root / "memory/vms");
  try {
    files.read();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kEnvironment);
  }
}

}  // namespace
}  // namespace singleton
