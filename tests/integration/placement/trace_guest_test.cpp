// Issue 12's first test on a real guest: a guest reads a 32 MiB file from its raw image while
// `singleton trace --pid QEMU --json` runs; the trace places >= 99% of the file's image blocks,
// and for every placed block of the file the 4 KiB at `addr` in QEMU (/proc/PID/mem) equals the
// block in the image.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/vm/fixtures.hpp"
#include "tests/vm/guest.hpp"

namespace singleton {
namespace {

using guestkit::Guest;
using guestkit::GuestOptions;
using guestkit::ScratchDir;

constexpr uint64_t kMiB = 1 << 20;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `singleton trace` as a child, stdout and stderr to files.
struct TraceProcess {
  pid_t pid = -1;
  std::string out, err;
  TraceProcess(const std::vector<std::string>& args, const std::string& out_path,
               const std::string& err_path)
      : out(out_path), err(err_path) {
    pid = ::fork();
    if (pid == 0) {
      const int o = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int e = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(o, 1);
      ::dup2(e, 2);
      std::vector<char*> argv{const_cast<char*>(SINGLETON_BIN)};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(SINGLETON_BIN, argv.data());
      ::_exit(127);
    }
  }
  bool wait_for_stderr(const std::string& what, std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (read_file(err).find(what) != std::string::npos) return true;
      int status;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  int stop() {
    if (pid < 0) return -1;
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~TraceProcess() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

TEST(TraceGuest, RawImage_PlacesTheFilesBlocksAtAddressesHoldingThem) {
  const std::string problem = guestkit::kit_problem();
  ASSERT_EQ(problem, "") << problem;
  ::signal(SIGPIPE, SIG_IGN);
  ScratchDir dir("trace-raw");
  std::filesystem::create_directories(dir / "data");
  guestkit::write_random_file(dir / "data/file32", 32 * kMiB, 32);
  const std::string image = dir / "data.img";
  guestkit::make_image(dir / "data", image);
  const auto file_pages = guestkit::file_pages_in_image(image, "/file32");
  ASSERT_EQ(file_pages.size(), 32 * kMiB / 4096);
  guestkit::drop_from_host_cache(image);

  GuestOptions opt;
  opt.mem_mib = 384;
  opt.disks.push_back({image, "raw", "writeback", "data", false});
  opt.script =
      "mount -o ro /dev/sg/data /mnt\n"
      "sg_wait start\n"
      "cat /mnt/file32 > /dev/null\n"
      "sg_wait read\n";
  Guest guest(opt);
  guest.wait_for_pause("start");

  TraceProcess trace({"trace", "--pid", std::to_string(guest.qemu_pid()), "--json"},
                     dir / "trace.jsonl", dir / "trace.err");
  ASSERT_TRUE(trace.wait_for_stderr("following", std::chrono::seconds(30)))
      << read_file(dir / "trace.err");
  guest.resume("start");
  guest.wait_for_pause("read");
  ASSERT_EQ(trace.stop(), 0) << read_file(dir / "trace.err");

  // The placed pages of this image, and the summary.
  std::map<uint64_t, uint64_t> addr_of;  // image page -> QEMU address (the latest placement)
  boost::json::object summary;
  size_t lines = 0;
  std::istringstream out(read_file(dir / "trace.jsonl"));
  for (std::string line; std::getline(out, line);) {
    if (line.empty()) continue;
    ++lines;
    const auto o = boost::json::parse(line).as_object();
    if (o.contains("summary")) {
      summary = o.at("summary").as_object();
      continue;
    }
    ASSERT_EQ(o.at("pid").as_int64(), guest.qemu_pid());
    ASSERT_EQ(o.at("op").as_string(), "read");
    ASSERT_GE(o.at("t").as_double(), 0.0);
    if (std::filesystem::equivalent(std::string(o.at("image").as_string()), image))
      addr_of[o.at("page").to_number<uint64_t>()] =
          std::stoull(std::string(o.at("addr").as_string()), nullptr, 16);
  }
  ASSERT_FALSE(summary.empty()) << "no summary object";

  // Every placed block of the file: the 4 KiB at its address in QEMU equals the image's.
  const int image_fd = ::open(image.c_str(), O_RDONLY | O_CLOEXEC);
  const int mem_fd =
      ::open(("/proc/" + std::to_string(guest.qemu_pid()) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(image_fd, 0);
  ASSERT_GE(mem_fd, 0);
  size_t placed = 0, equal = 0;
  std::vector<char> want(4096), got(4096);
  for (uint64_t page : file_pages) {
    const auto it = addr_of.find(page);
    if (it == addr_of.end()) continue;
    ++placed;
    ASSERT_EQ(::pread(image_fd, want.data(), 4096, static_cast<off_t>(page * 4096)), 4096);
    if (::pread(mem_fd, got.data(), 4096, static_cast<off_t>(it->second)) == 4096 &&
        std::memcmp(want.data(), got.data(), 4096) == 0)
      ++equal;
  }
  ::close(image_fd);
  ::close(mem_fd);
  guest.resume("read");
  const auto result = guest.wait();
  EXPECT_EQ(result.rc, 0);

  std::printf(
      "trace: %zu lines, %zu of the file's %zu blocks placed (%.2f%%), %zu of them equal at "
      "their QEMU address; summary %s\n",
      lines, placed, file_pages.size(), 100.0 * placed / file_pages.size(), equal,
      boost::json::serialize(summary).c_str());
  EXPECT_GE(placed * 100, file_pages.size() * 99) << "fewer than 99% of the blocks placed";
  EXPECT_EQ(equal, placed) << "placed blocks whose guest page differs from the image block";
  EXPECT_EQ(summary.at("dropped_records").to_number<uint64_t>(), 0u);
}

}  // namespace
}  // namespace singleton
