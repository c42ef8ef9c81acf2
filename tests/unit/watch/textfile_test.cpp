// The textfile is replaced as a whole, with no temporary file left behind.
#include "scrubber/metrics/textfile.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "snapshot/base/error.hpp"

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
// whole: a link to /dev/zero once made the read-back read 1.5 GB.
TEST(Textfile, PlantedFilesReadEmptyAtOnce) {
  const fs::path dir =
      fs::temp_directory_path() / ("singleton-textfile-planted-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(::symlink("/dev/zero", (dir / "zero.prom").c_str()), 0);
  EXPECT_EQ(read_file_if_exists(dir / "zero.prom"), "");
  ASSERT_EQ(::mkfifo((dir / "fifo.prom").c_str(), 0600), 0);
  EXPECT_EQ(read_file_if_exists(dir / "fifo.prom"), "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  fs::remove_all(dir);
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
