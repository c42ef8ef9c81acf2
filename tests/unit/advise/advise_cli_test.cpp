// `singleton advise` as a user runs it, on small trace files written here (no VMs, no root).
#include <algorithm>
#include <gtest/gtest.h>

#include <fstream>

#include "tests/unit/cli_run.hpp"
#include "tests/unit/temp_dir.hpp"

namespace singleton::testing {
namespace {

// Two VMs on private images and both on one shared base, re-reading their blocks in cycles.
std::string write_trace(const TempDir& dir) {
  const std::string path = dir / "trace.jsonl";
  std::ofstream out(path);
  double t = 0;
  for (int round = 0; round < 6; ++round)
    for (int page = 0; page < 300; ++page)
      for (const char* vm : {"web", "db"}) {
        const std::string image = page % 3 == 0 ? "/img/base.raw" : std::string("/img/") + vm + ".raw";
        out << "{\"vm\":\"" << vm << "\",\"pid\":" << (vm[0] == 'w' ? 101 : 102) << ",\"image\":\""
            << image << "\",\"page\":" << page << ",\"addr\":\"0x7f0000000000\",\"op\":\""
            << (page % 10 == 0 ? "write" : "read") << "\",\"t\":" << (t += 0.001) << "}\n";
      }
  out << "{\"summary\":{\"records\":3600}}\n";
  return path;
}

TEST(AdviseCli, PrintsEveryPolicyTheAdviceAndItsAssumptions) {
  TempDir dir("sg-advise");
  const CliRun run = run_singleton("advise --trace " + write_trace(dir) + " --host-cache-mib 1");
  ASSERT_EQ(run.rc, 0) << run.err;
  for (const char* text : {"inclusive |", "none |", "eager:1 |", "pressure:newest:4096:4096 |",
                           "pressure:oldest:4096:4096 |", "demote |", "Advice: ", "Assumptions:",
                           "guests' misses", "web ", "db "})
    EXPECT_NE(run.out.find(text), std::string::npos) << text << "\n" << run.out;
}

// The pressure policy at the watch's settings: each step compared by default (1, 4, 16, 64 MiB
// up to a quarter of the host cache, 16 always), or the one --evict-step; the headroom as the
// watch's auto, max(16 MiB, 5%), or --headroom-mib.
TEST(AdviseCli, PressureIsModelledAtTheWatchsStepAndHeadroom) {
  TempDir dir("sg-advise");
  auto names = [](const boost::json::object& o) {
    std::vector<std::string> out;
    for (const auto& p : o.at("policies").as_array())
      out.emplace_back(p.at("policy").as_string());
    return out;
  };
  const std::string trace = write_trace(dir);
  const CliRun wide = run_singleton("advise --json --host-cache-mib 1024 --trace " + trace);
  ASSERT_EQ(wide.rc, 0) << wide.err;
  const std::vector<std::string> all = names(wide.json());
  // 5% of 1024 MiB = 51.2 MiB = 13107 blocks of headroom.
  for (const char* p : {"pressure:newest:256:13107", "pressure:oldest:256:13107",
                        "pressure:newest:1024:13107", "pressure:newest:4096:13107",
                        "pressure:newest:16384:13107", "pressure:oldest:16384:13107"})
    EXPECT_NE(std::find(all.begin(), all.end(), p), all.end()) << p;

  const CliRun small = run_singleton("advise --json --host-cache-mib 32 --trace " + trace);
  ASSERT_EQ(small.rc, 0) << small.err;
  const std::vector<std::string> few = names(small.json());
  EXPECT_NE(std::find(few.begin(), few.end(), "pressure:newest:4096:4096"), few.end());
  EXPECT_EQ(std::find(few.begin(), few.end(), "pressure:newest:16384:4096"), few.end())
      << "a 64 MiB step is more than a quarter of 32 MiB";

  const CliRun one = run_singleton("advise --json --host-cache-mib 64 --evict-step 4 --headroom-mib 2 --trace " + trace);
  ASSERT_EQ(one.rc, 0) << one.err;
  size_t pressure = 0;
  const boost::json::object json = one.json();
  for (const auto& p : json.at("policies").as_array()) {
    const std::string name(p.at("policy").as_string());
    if (name.rfind("pressure:", 0) != 0) continue;
    ++pressure;
    EXPECT_TRUE(name == "pressure:newest:1024:512" || name == "pressure:oldest:1024:512") << name;
    EXPECT_NE(std::string(p.at("what").as_string()).find("--evict-step 4"), std::string::npos);
  }
  EXPECT_EQ(pressure, 2u);
  EXPECT_EQ(run_singleton("advise --evict-step 0 --trace " + trace).rc, 2);
}

TEST(AdviseCli, JsonHasThePoliciesAndTheAdvice) {
  TempDir dir("sg-advise");
  const CliRun run = run_singleton("advise --json --guest-cache-mib 1 --host-cache-mib 2 --trace " +
                                   write_trace(dir));
  ASSERT_EQ(run.rc, 0) << run.err;
  const boost::json::object o = run.json();
  EXPECT_EQ(o.at("trace").at("records").as_int64(), 3600);
  EXPECT_EQ(o.at("host_cache_mib").as_int64(), 2);
  EXPECT_GE(o.at("policies").as_array().size(), 9u);
  EXPECT_FALSE(o.at("advice").at("policy").as_string().empty());
  EXPECT_FALSE(o.at("assumptions").as_array().empty());
  for (const auto& p : o.at("policies").as_array()) {
    const double reads = p.at("device_reads_per_1000").to_number<double>();
    EXPECT_GE(reads, 0);
    EXPECT_LE(reads, 2000);  // readmit may read twice per miss, nothing more
  }
}

TEST(AdviseCli, BadTraceAndOptionsExitTwoNamingTheProblem) {
  TempDir dir("sg-advise");
  const std::string bad = dir / "bad.jsonl";
  std::ofstream(bad) << "{\"vm\":\"a\",\"pid\":1,\"image\":\"/a\",\"page\":1,\"op\":\"read\",\"t\":0}\n"
                     << "{\"vm\":\"a\",\"pid\":1,\"image\":\"/a\",\"page\":1,\"op\":\"read\",\"t\":0\n";
  CliRun run = run_singleton("advise --trace " + bad);
  EXPECT_EQ(run.rc, 2);
  EXPECT_NE(run.err.find(bad + " line 2: not JSON"), std::string::npos) << run.err;

  run = run_singleton("advise --trace " + dir / "missing.jsonl");
  EXPECT_EQ(run.rc, 2);
  EXPECT_NE(run.err.find("cannot read"), std::string::npos) << run.err;

  const std::string empty = dir / "empty.jsonl";
  std::ofstream(empty) << "\n";
  run = run_singleton("advise --trace " + empty);
  EXPECT_EQ(run.rc, 2);
  EXPECT_NE(run.err.find("no trace records"), std::string::npos) << run.err;

  EXPECT_EQ(run_singleton("advise").rc, 2);
  EXPECT_EQ(run_singleton("advise --trace " + bad + " --host-cache-mib -1").rc, 2);
  EXPECT_EQ(run_singleton("advise --trace " + bad + " --shared-policy some").rc, 2);
  EXPECT_EQ(run_singleton("advise --help").rc, 0);
}

}  // namespace
}  // namespace singleton::testing
