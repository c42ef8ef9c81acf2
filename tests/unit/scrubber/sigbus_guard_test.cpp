#include "scrubber/pagecache/sigbus_guard.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/unit/scrubber/temp_file.hpp"

namespace singleton {
namespace {

// Reads the byte at `p` under a guard; false when it raised SIGBUS.
bool guarded_read(const volatile unsigned char* p) {
  SigbusGuard guard;
  if (sigsetjmp(guard.env, 0) != 0) {
    guard.recover();
    return false;
  }
  guard.arm();
  *p;
  guard.disarm();
  return true;
}

TEST(SigbusGuard, ReadingPastTheEndOfATruncatedFileIsAnErrorNotACrash) {
  testing::TempFile temp(1 << 20);
  const int fd = ::open(temp.path().c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  auto* map = static_cast<unsigned char*>(::mmap(nullptr, 1 << 20, PROT_READ, MAP_SHARED, fd, 0));
  ASSERT_NE(map, MAP_FAILED);
  EXPECT_TRUE(guarded_read(map + 4096 * 200));
  ASSERT_EQ(::ftruncate(fd, 4096), 0);
  EXPECT_FALSE(guarded_read(map + 4096 * 200));
  // Twice: the first jump left SIGBUS usable again.
  EXPECT_FALSE(guarded_read(map + 4096 * 100));
  EXPECT_TRUE(guarded_read(map));
  ::munmap(map, 1 << 20);
  ::close(fd);
}

}  // namespace
}  // namespace singleton
