// The pass lock cannot be planted, held or redirected by another user: its
// directory must be private, the lock a regular file of ours, never followed
// through a symlink, never truncated.
#include "scrubber/pass/pass_lock.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "snapshot/base/error.hpp"
#include "tests/unit/temp_dir.hpp"

namespace singleton {
namespace {

class PassLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_FAIL() << "run as root: the checks chown files to another user";
  }

  // The exit code and message of taking the lock at `path` ("" and kDone when
  // it was taken).
  static std::pair<ExitCode, std::string> take(const std::string& path) {
    try {
      PassLock lock(path);
    } catch (const Error& e) {
      return {e.code(), e.what()};
    }
    return {ExitCode::kDone, ""};
  }
  static std::string content(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  testing::TempDir temp_{"sg-lock-test"};
  const std::filesystem::path dir_{temp_.path()};
};

TEST_F(PassLockTest, TakenInAPrivateDirectoryWithoutTruncatingWhatIsThere) {
  const std::string lock = dir_ / "pass.lock";
  std::ofstream(lock) << "0123456789abcdefghij-tail\n";
  EXPECT_EQ(take(lock).first, ExitCode::kDone);
  const std::string now = content(lock);
  EXPECT_EQ(now.substr(11), "bcdefghij-tail\n") << "the lock file was truncated: " << now;
  EXPECT_EQ(std::stoi(now.substr(0, 10)), ::getpid());
}

TEST_F(PassLockTest, HeldByAnotherProcessNamesItsPid) {
  const std::string lock = dir_ / "pass.lock";
  PassLock held(lock);
  const auto [code, what] = take(lock);
  EXPECT_EQ(code, ExitCode::kEnvironment);
  EXPECT_NE(what.find("another singleton pass is running (pid " + std::to_string(::getpid())),
            std::string::npos)
      << what;
}

TEST_F(PassLockTest, ASymlinkIsNotFollowedAndItsTargetIsUntouched) {
  const std::string target = dir_ / "precious";
  std::ofstream(target) << "precious data\n";
  ASSERT_EQ(::symlink(target.c_str(), (dir_ / "pass.lock").c_str()), 0);
  EXPECT_NE(take(dir_ / "pass.lock").first, ExitCode::kDone);
  EXPECT_EQ(content(target), "precious data\n");
}

TEST_F(PassLockTest, ALockFileOfAnotherUserIsRefused) {
  const std::string lock = dir_ / "pass.lock";
  std::ofstream(lock) << "";
  ASSERT_EQ(::chown(lock.c_str(), 65534, 65534), 0);
  const auto [code, what] = take(lock);
  EXPECT_EQ(code, ExitCode::kEnvironment);
  EXPECT_NE(what.find("not a regular file of uid 0"), std::string::npos) << what;
}

TEST_F(PassLockTest, AFifoIsRefusedWithoutHanging) {
  const std::string lock = dir_ / "pass.lock";
  ASSERT_EQ(::mkfifo(lock.c_str(), 0600), 0);
  EXPECT_EQ(take(lock).first, ExitCode::kEnvironment);
}

TEST_F(PassLockTest, ADirectoryOthersCanWriteToIsRefused) {
  for (mode_t mode : {01777, 0775, 0757}) {
    ASSERT_EQ(::chmod(dir_.c_str(), mode), 0);
    const auto [code, what] = take(dir_ / "pass.lock");
    EXPECT_EQ(code, ExitCode::kEnvironment) << std::oct << mode;
    EXPECT_NE(what.find("is not private"), std::string::npos) << what;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "pass.lock")) << "created in an open directory";
  }
  ASSERT_EQ(::chown(dir_.c_str(), 65534, 65534), 0);
  ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);
  EXPECT_EQ(take(dir_ / "pass.lock").first, ExitCode::kEnvironment) << "a directory of nobody";
}

// A user who holds a lock file somewhere else (the old /run/lock path, a file
// of their own) does not hold singleton's: the default lock is in a directory
// only root can write.
TEST_F(PassLockTest, TheDefaultLockIsInARootOnlyRuntimeDirectory) {
  ::unsetenv("SINGLETON_LOCK_FILE");
  EXPECT_EQ(default_pass_lock_path(), "/run/singleton/pass.lock");
  EXPECT_EQ(take(default_pass_lock_path()).first, ExitCode::kDone);
  struct stat st {};
  ASSERT_EQ(::stat("/run/singleton", &st), 0);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_mode & 022, 0u);
}

}  // namespace
}  // namespace singleton
