// Memory pressure from the texts of /proc/pressure/memory and /proc/meminfo, and what the
// watch loop does at each level.
#include "scrubber/watch/memory_pressure.hpp"

#include <gtest/gtest.h>

namespace singleton {
namespace {

std::string meminfo(uint64_t total_kib, uint64_t available_kib) {
  return "MemTotal:       " + std::to_string(total_kib) +
         " kB\nMemFree:          100 kB\nMemAvailable:   " + std::to_string(available_kib) +
         " kB\nBuffers:            0 kB\n";
}

std::string psi(const char* some_avg10) {
  return std::string("some avg10=") + some_avg10 +
         " avg60=0.00 avg300=0.00 total=12345\nfull avg10=0.00 avg60=0.00 avg300=0.00 "
         "total=0\n";
}

TEST(MemoryPressure, ParsesPsiAndMeminfo) {
  const MemoryPressure p = parse_memory_pressure(psi("3.50"), meminfo(1000000, 500000));
  EXPECT_TRUE(p.have_psi);
  EXPECT_DOUBLE_EQ(p.psi_some_avg10, 3.5);
  EXPECT_EQ(p.mem_total_bytes, 1000000u * 1024);
  EXPECT_EQ(p.mem_available_bytes, 500000u * 1024);
  EXPECT_EQ(p.level, PressureLevel::kModerate);
}

TEST(MemoryPressure, PlentyOfMemoryAndNoStallsIsNone) {
  EXPECT_EQ(parse_memory_pressure(psi("0.00"), meminfo(1000, 900)).level, PressureLevel::kNone);
}

TEST(MemoryPressure, StallsOrLittleAvailableMemoryIsHigh) {
  EXPECT_EQ(parse_memory_pressure(psi("12.00"), meminfo(1000, 900)).level, PressureLevel::kHigh);
  EXPECT_EQ(parse_memory_pressure(psi("0.00"), meminfo(1000, 40)).level, PressureLevel::kHigh);
  EXPECT_EQ(parse_memory_pressure(psi("0.00"), meminfo(1000, 100)).level, PressureLevel::kModerate);
}

TEST(MemoryPressure, WithoutPsiOnlyMeminfoCounts) {
  const MemoryPressure p = parse_memory_pressure("", meminfo(1000, 900));
  EXPECT_FALSE(p.have_psi);
  EXPECT_EQ(p.level, PressureLevel::kNone);
}

TEST(MemoryPressure, ThisHostIsReadable) {
  const MemoryPressure p = read_memory_pressure();
  EXPECT_GT(p.mem_total_bytes, 0u);
  EXPECT_LE(p.mem_available_bytes, p.mem_total_bytes);
}

TEST(MemoryPressure, HarderUnderPressureIdleWithout) {
  EXPECT_EQ(response_to(PressureLevel::kNone).budget_factor, 1);
  EXPECT_EQ(response_to(PressureLevel::kNone).sweep_seconds, 0) << "no sweeps without pressure";
  EXPECT_GT(response_to(PressureLevel::kHigh).budget_factor,
            response_to(PressureLevel::kModerate).budget_factor);
  EXPECT_GT(response_to(PressureLevel::kModerate).sweep_seconds,
            response_to(PressureLevel::kHigh).sweep_seconds);
}

}  // namespace
}  // namespace singleton
