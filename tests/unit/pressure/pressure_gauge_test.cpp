// When memory counts as needed and how much one step evicts, from each signal alone and
// together; the gauge reading files given as data; the options.
#include "scrubber/pressure/pressure_gauge.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "scrubber/pressure/pressure_options.hpp"
#include "snapshot/base/error.hpp"
#include "tests/unit/temp_dir.hpp"

namespace singleton {
namespace {

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kGiB = kMiB << 10;

// A step larger than any shortfall below, so that the amounts are the shortfalls themselves.
PressureSettings pressure_mode() {
  PressureSettings s;
  s.when = EvictWhen::kPressure;
  s.step_bytes = 64 * kMiB;
  return s;
}

MemInfo plenty() { return {16 * kGiB, 8 * kGiB}; }

TEST(JudgePressure, PlentyOfMemoryNoStallNoCgroupIsNotNeeded) {
  const PressureReading r = judge_pressure(pressure_mode(), plenty(), PsiMemory{0.5, 0}, {});
  EXPECT_FALSE(r.needed);
  EXPECT_EQ(r.evict_bytes, 0u);
  EXPECT_EQ(r.reason, "");
}

TEST(JudgePressure, CgroupWithinItsHeadroomEvictsWhatIsShort) {
  PressureSettings s = pressure_mode();
  s.headroom_bytes = 32 * kMiB;
  // 1000 MiB limit, 990 used: 10 MiB left of 32 wanted: 22 short.
  const PressureReading r =
      judge_pressure(s, plenty(), std::nullopt, CgroupMemory{990 * kMiB, 1000 * kMiB});
  EXPECT_TRUE(r.needed);
  EXPECT_EQ(r.evict_bytes, 22 * kMiB);
  EXPECT_NE(r.reason.find("cgroup"), std::string::npos) << r.reason;
  // Far from the limit: not needed.
  EXPECT_FALSE(judge_pressure(s, plenty(), std::nullopt, CgroupMemory{500 * kMiB, 1000 * kMiB}).needed);
  // No limit at all: never near it.
  EXPECT_FALSE(judge_pressure(s, plenty(), std::nullopt, CgroupMemory{500 * kGiB, UINT64_MAX}).needed);
}

TEST(JudgePressure, AutomaticHeadroomIsFivePercentOfTheLimitAtLeastSixteenMiB) {
  const PressureSettings s = pressure_mode();
  // 4 GiB limit: 5% = 204.8 MiB wanted; 100 MiB left.
  const PressureReading big =
      judge_pressure(s, plenty(), std::nullopt, CgroupMemory{4 * kGiB - 100 * kMiB, 4 * kGiB});
  EXPECT_TRUE(big.needed);
  EXPECT_EQ(big.evict_bytes, std::min(4 * kGiB / 20 - 100 * kMiB, s.step_bytes));
  // 100 MiB limit: 16 MiB wanted (5% would be 5 MiB); 10 MiB left: 6 MiB short.
  const PressureReading small =
      judge_pressure(s, plenty(), std::nullopt, CgroupMemory{90 * kMiB, 100 * kMiB});
  EXPECT_TRUE(small.needed);
  EXPECT_EQ(small.evict_bytes, 6 * kMiB);
}

TEST(JudgePressure, OneStepIsAtMostTheStepAndAtLeastOneMiB) {
  PressureSettings s = pressure_mode();
  s.step_bytes = 8 * kMiB;
  s.headroom_bytes = 100 * kMiB;
  EXPECT_EQ(judge_pressure(s, plenty(), {}, CgroupMemory{1000 * kMiB, 1000 * kMiB}).evict_bytes,
            8 * kMiB);
  EXPECT_EQ(judge_pressure(s, plenty(), {}, CgroupMemory{900 * kMiB + 4096, 1000 * kMiB}).evict_bytes,
            kMiB);
}

TEST(JudgePressure, LittleMemAvailable) {
  const PressureSettings s = pressure_mode();  // 5% of 16 GiB = 819.2 MiB
  const PressureReading r = judge_pressure(s, MemInfo{16 * kGiB, 800 * kMiB}, {}, {});
  EXPECT_TRUE(r.needed);
  EXPECT_EQ(r.evict_bytes, static_cast<uint64_t>(16 * kGiB * 0.05) - 800 * kMiB);
  EXPECT_NE(r.reason.find("MemAvailable"), std::string::npos);
  PressureSettings off = s;
  off.available_percent = 0;
  EXPECT_FALSE(judge_pressure(off, MemInfo{16 * kGiB, 1}, {}, {}).needed);
}

TEST(JudgePressure, PsiStallsEvictOneStep) {
  const PressureSettings s = pressure_mode();  // 10%
  const PressureReading r = judge_pressure(s, plenty(), PsiMemory{10.0, 2.0}, {});
  EXPECT_TRUE(r.needed);
  EXPECT_EQ(r.evict_bytes, s.step_bytes);
  EXPECT_NE(r.reason.find("PSI"), std::string::npos);
  EXPECT_FALSE(judge_pressure(s, plenty(), PsiMemory{9.99, 9.0}, {}).needed);
  PressureSettings off = s;
  off.psi_percent = 0;
  EXPECT_FALSE(judge_pressure(off, plenty(), PsiMemory{100, 100}, {}).needed);
}

TEST(JudgePressure, SeveralSignalsTheLargestShortfallAndEveryReason) {
  PressureSettings s = pressure_mode();
  s.headroom_bytes = 20 * kMiB;
  const PressureReading r = judge_pressure(s, MemInfo{kGiB, 40 * kMiB}, PsiMemory{0, 0},
                                           CgroupMemory{995 * kMiB, 1000 * kMiB});
  EXPECT_TRUE(r.needed);
  // cgroup: 15 MiB short; MemAvailable: 51.2 - 40 = 11.2 MiB short.
  EXPECT_EQ(r.evict_bytes, 15 * kMiB);
  EXPECT_NE(r.reason.find("cgroup"), std::string::npos);
  EXPECT_NE(r.reason.find("MemAvailable"), std::string::npos);
}

void put(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

TEST(PressureGauge, ReadsTheFilesOfItsProcAndCgroup) {
  testing::TempDir dir("sg-gauge");
  put(dir / "proc/meminfo", "MemTotal: 1048576 kB\nMemAvailable: 524288 kB\n");
  put(dir / "proc/pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  put(dir / "cg/memory.current", std::to_string(1000 * kMiB) + "\n");
  put(dir / "cg/memory.max", std::to_string(1010 * kMiB) + "\n");
  put(dir / "cg/memory.high", "max\n");
  PressureSettings s = pressure_mode();
  s.cgroup = dir / "cg";
  const PressureGauge gauge(s, dir / "proc");
  EXPECT_EQ(gauge.cgroup_version(), 2);
  PressureReading r = gauge.read();
  EXPECT_TRUE(r.needed);  // 10 MiB left of 50.5 wanted
  ASSERT_TRUE(r.meminfo && r.psi && r.cgroup);
  EXPECT_EQ(r.cgroup->headroom_bytes(), 10 * kMiB);
  // The cgroup's usage falls: read again, not cached.
  put(dir / "cg/memory.current", std::to_string(100 * kMiB) + "\n");
  EXPECT_FALSE(gauge.read().needed);
}

TEST(PressureGauge, ABrokenCgroupPathIsAUsageError) {
  PressureSettings s = pressure_mode();
  s.cgroup = "/nonexistent/cgroup";
  try {
    PressureGauge gauge(s);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
  }
}

TEST(PressureGauge, ThisMachinesProcIsReadable) {
  // Whatever the kernel (PSI may be off: Debian boots with psi=1 only on request), MemAvailable
  // is there since 3.14 and a reading never throws.
  const PressureReading r = PressureGauge(pressure_mode()).read();
  ASSERT_TRUE(r.meminfo);
  EXPECT_GT(r.meminfo->total_bytes, 0u);
  EXPECT_FALSE(r.cgroup);
}

TEST(PressureOptions, WordsAndNumbers) {
  namespace po = boost::program_options;
  po::options_description desc;
  PressureOptionValues values;
  add_pressure_options(desc, values, true);
  po::variables_map vm;
  const char* argv[] = {"x", "--evict-when", "pressure", "--pressure-cgroup", "machine.slice",
                        "--pressure-headroom", "128", "--pressure-psi", "0", "--evict-step", "16",
                        "--evict-order", "oldest"};
  po::store(po::parse_command_line(13, argv, desc), vm);
  po::notify(vm);
  const PressureSettings s = values.settings();
  EXPECT_EQ(s.when, EvictWhen::kPressure);
  EXPECT_EQ(s.cgroup, "machine.slice");
  EXPECT_EQ(s.headroom_bytes, 128 * kMiB);
  EXPECT_EQ(s.psi_percent, 0);
  EXPECT_EQ(s.available_percent, 5);
  EXPECT_EQ(s.step_bytes, 16 * kMiB);
  EXPECT_EQ(s.order, EvictOrder::kOldest);

  PressureOptionValues bad;
  po::options_description desc2;
  add_pressure_options(desc2, bad, true);
  po::variables_map vm2;
  const char* argv2[] = {"x", "--evict-when", "sometimes"};
  po::store(po::parse_command_line(3, argv2, desc2), vm2);
  EXPECT_THROW(po::notify(vm2), po::error);
  EXPECT_THROW(evict_order_from_string("random"), Error);
}

}  // namespace
}  // namespace singleton
