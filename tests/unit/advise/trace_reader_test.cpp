// The reader of `singleton trace` output: what it keeps of good lines, and that every kind of
// bad line is refused with the file's name and the line's number (exit code 2 in the CLI).
#include <gtest/gtest.h>

#include <sstream>

#include "scrubber/advise/trace_reader.hpp"
#include "scrubber/advise/trace_replay.hpp"
#include "snapshot/base/error.hpp"

namespace singleton::advise {
namespace {

std::string line(const std::string& vm, const std::string& image, const std::string& page,
                 const std::string& op = "\"read\"", const std::string& t = "0.5",
                 const std::string& pid = "4242") {
  return "{\"vm\":\"" + vm + "\",\"pid\":" + pid + ",\"image\":\"" + image + "\",\"page\":" + page +
         ",\"addr\":\"0x7f0012340000\",\"op\":" + op + ",\"t\":" + t + "}\n";
}

Trace read(const std::string& text) {
  std::istringstream in(text);
  return read_trace(in, "trace.jsonl");
}

std::string error_of(const std::string& text) {
  try {
    read(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    return e.what();
  }
  return "(no error)";
}

TEST(TraceReader, KeepsVmsImagesAndDensePagesInTimeOrder) {
  const Trace t = read(line("web", "/img/a.raw", "1099511627775", "\"read\"", "2.0") +  // 2^40-1
                       "\n" + line("db", "/img/base.qcow2", "7", "\"write\"", "1.0") +
                       line("web", "/img/base.qcow2", "7", "\"read\"", "1.5") +
                       line("web", "/img/a.raw", "1099511627775", "\"read\"", "3") +
                       "{\"summary\":{\"records\":4,\"pages_placed\":4}}\n");
  ASSERT_EQ(t.records.size(), 4u);
  EXPECT_EQ(t.vms, (std::vector<std::string>{"web", "db"}));
  EXPECT_EQ(t.images, (std::vector<std::string>{"/img/a.raw", "/img/base.qcow2"}));
  EXPECT_EQ(t.image_pages, (std::vector<uint64_t>{1, 1}));  // one distinct page each, renumbered
  EXPECT_EQ(t.writes, 1u);
  EXPECT_EQ(t.records[0].t, 1.0);  // sorted by time
  EXPECT_EQ(t.records[0].vm, 1u);
  EXPECT_TRUE(t.records[0].write);
  EXPECT_EQ(t.records[1].vm, 0u);
  EXPECT_EQ(t.vm_images[0][t.records[1].slot], 1u);  // web's second image is the shared base
  EXPECT_EQ(t.records[2].page, t.records[3].page);
  EXPECT_EQ(trace_topology(t, {4, 4}, 8, SharedRule::kAll).vms[0].images, (std::vector<uint32_t>{0, 1}));
}

TEST(TraceReader, RefusesEachBadLineNamingIt) {
  const std::string good = line("web", "/a", "1");
  const std::pair<std::string, std::string> cases[] = {
      {"not json\n", "not JSON"},
      {"{\"vm\":\"web\"\n", "not JSON"},
      {"[1,2]\n", "not a JSON object"},
      {"{\"vm\":\"web\",\"pid\":1,\"image\":\"/a\",\"op\":\"read\",\"t\":0}\n", "no \"page\""},
      {line("", "/a", "1"), "\"vm\" is empty"},
      {line("web", "/a", "\"12\""), "\"page\" is not a whole number"},
      {line("web", "/a", "-1"), "\"page\" is not a whole number"},
      {line("web", "/a", "1.5"), "\"page\" is not a whole number"},
      {line("web", "/a", "1099511627776"), "\"page\" is not a whole number from 0 to 1099511627775"},
      {line("web", "/a", "18446744073709551615"), "\"page\""},
      {line("web", "/a", "1e300"), "\"page\""},
      {line("web", "/a", "1", "\"trim\""), "\"op\" is neither"},
      {line("web", "/a", "1", "7"), "\"op\" is not a string"},
      {line("web", "/a", "1", "\"read\"", "-0.5"), "\"t\""},
      {line("web", "/a", "1", "\"read\"", "1e300"), "\"t\""},
      {line("web", "/a", "1", "\"read\"", "\"now\""), "\"t\""},
      {line("web", "/a", "1", "\"read\"", "1", "0"), "\"pid\""},
      {line("web", "/a", "1", "\"read\"", "1", "99999999999"), "\"pid\""},
      {"{" + std::string(2 << 20, ' ') + "}\n", "longer than 1 MiB"},
  };
  for (const auto& [bad, what] : cases) {
    const std::string message = error_of(good + "\n" + bad + good);
    EXPECT_NE(message.find("trace.jsonl line 3: "), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message << " (wanted: " << what << ")";
  }
}

TEST(TraceReader, EmptyInputIsAnEmptyTrace) {
  EXPECT_TRUE(read("").records.empty());
  EXPECT_TRUE(read("\n  \n{\"summary\":{}}\n").records.empty());
}

TEST(TraceReplay, InfersTheGuestCacheFromTheGapsBetweenRereads) {
  // One VM re-reads each of 51 blocks after exactly 50 other misses: a FIFO of at most 50.
  std::string text;
  for (int round = 0; round < 4; ++round)
    for (int page = 0; page < 51; ++page)
      text += line("vm", "/a", std::to_string(page), "\"read\"", std::to_string(round * 51 + page));
  const Trace t = read(text);
  EXPECT_EQ(infer_guest_blocks(t), (std::vector<uint64_t>{50}));
  // Replayed with that guest, no record is a guest hit: they were all misses.
  const ModelCounters c = replay(t, trace_topology(t, {50}, 100, SharedRule::kAll),
                                 parse_policy("inclusive"), 0.0);
  EXPECT_EQ(c.guest_hits, 0u);
  EXPECT_EQ(c.host_hits, 51u * 3);
  // A VM that never read a block twice is given its distinct blocks.
  EXPECT_EQ(infer_guest_blocks(read(line("a", "/x", "1") + line("a", "/x", "2"))), (std::vector<uint64_t>{2}));
}

}  // namespace
}  // namespace singleton::advise
