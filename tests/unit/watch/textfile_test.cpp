// The textfile is replaced as a whole, with no temporary file left behind.
#include "scrubber/metrics/textfile.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "snapshot/base/error.hpp"
#include "tests/unit/finishes_within.hpp"
#include "tests/unit/open_watch.hpp"
#include "tests/unit/temp_dir.hpp"

namespace singleton {
namespace {

namespace fs = std::filesystem;

TEST(Textfile, ReplacesTheFileAndLeavesNothingElse) {
  const fs::path dir =
      fs::temp_directory_path() / ("singleton-textfile-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "singleton.prom").string();
  write_file_atomically(path, "first\n");
  write_file_atomically(path, "second\n");
  EXPECT_EQ(read_file_if_exists(path), "second\n");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 1);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u) << "node_exporter runs as another user";
  fs::remove_all(dir);
}

TEST(Textfile, MissingDirectoryNamesThePath) {
  try {
    write_file_atomically("/nonexistent-dir/x.prom", "x");
    FAIL() << "no error";
  } catch (const SystemError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x.prom"), std::string::npos);
  }
}

TEST(Textfile, MissingFileReadsEmpty) { EXPECT_EQ(read_file_if_exists("/nonexistent/x"), ""); }

// What a local user could plant where the textfile goes is never followed, waited on or read
// whole: a link to /dev/zero once made the read-back read 1.5 GB. The link's target (a private node
// of /dev/zero's device, which no other process opens) is never opened, by inotify; the FIFO is
// read on a thread that must return within the hang guard (a blocking open waits for a writer
// forever; on a miss the test opens the FIFO's other end to free it, and fails).
TEST(Textfile, PlantedFilesReadEmptyAtOnce) {
  const testing::TempDir temp("singleton-textfile-planted");
  const fs::path dir = temp.path();
  ASSERT_TRUE(testing::make_zero_device_node(dir / "zero-node")) << std::strerror(errno);
  ASSERT_EQ(::symlink((dir / "zero-node").c_str(), (dir / "zero.prom").c_str()), 0);
  const testing::OpenWatch zero_opens(dir / "zero-node");
  EXPECT_EQ(read_file_if_exists(dir / "zero.prom"), "");
  EXPECT_EQ(zero_opens.events(), 0u) << "the link was followed";
  ::close(::open((dir / "zero.prom").c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_GT(zero_opens.events(), 0u) << "the watch sees no open at all";

  ASSERT_EQ(::mkfifo((dir / "fifo.prom").c_str(), 0600), 0);
  std::string from_fifo = "(not read)";
  EXPECT_TRUE(testing::finishes_within(
      testing::kHangLimit, [&] { from_fifo = read_file_if_exists(dir / "fifo.prom"); },
      [&] { ::close(::open((dir / "fifo.prom").c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC)); }))
      << "reading the FIFO blocked";
  EXPECT_EQ(from_fifo, "");
}

TEST(Textfile, AFileOverOneMebibyteIsNotRead) {
  const fs::path dir =
      fs::temp_directory_path() / ("singleton-textfile-big-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  { std::ofstream(dir / "big.prom") << std::string((1 << 20) + 1, '#'); }
  EXPECT_EQ(read_file_if_exists(dir / "big.prom"), "");
  { std::ofstream(dir / "ok.prom") << std::string(1 << 20, '#'); }
  EXPECT_EQ(read_file_if_exists(dir / "ok.prom").size(), 1u << 20);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace singleton
