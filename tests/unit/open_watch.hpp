// Whether a file (or a file in a directory) was opened or read, by anyone, since a point in time
// (inotify IN_OPEN | IN_ACCESS): for tests that must prove code never opened a FIFO (which would
// block) or a device (whose driver would run) rather than time it. An O_PATH open, a stat or a
// symlink lookup is no open here. Watch only files the test made itself: anybody's open counts.
#pragma once

#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace singleton::testing {

class OpenWatch {
 public:
  explicit OpenWatch(const std::string& path) : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    if (fd_ < 0 || ::inotify_add_watch(fd_, path.c_str(), IN_OPEN | IN_ACCESS) < 0)
      throw std::runtime_error("inotify on " + path);
  }
  ~OpenWatch() { ::close(fd_); }
  OpenWatch(const OpenWatch&) = delete;
  OpenWatch& operator=(const OpenWatch&) = delete;
  // Opens and reads since the last call (or since the watch was made).
  size_t events() const { return names().size(); }
  // The same, one name each: for a watched directory, the file opened or read in it ("" for the
  // directory itself or a watched file).
  std::vector<std::string> names() const {
    alignas(inotify_event) char buffer[4096];
    std::vector<std::string> names;
    for (ssize_t n; (n = ::read(fd_, buffer, sizeof buffer)) > 0;) {
      for (char* at = buffer; at < buffer + n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(at);
        names.emplace_back(event->len > 0 ? event->name : "");
        at += sizeof(inotify_event) + event->len;
      }
    }
    return names;
  }

 private:
  int fd_;
};

// A character device node of /dev/zero's device (1, 5) at `path`, for a test to watch: the same
// driver as /dev/zero (endless zeros), but an inode no other process opens. Needs CAP_MKNOD
// (root) and a filesystem mounted without nodev. False when it cannot be made.
inline bool make_zero_device_node(const std::string& path) {
  return ::mknod(path.c_str(), S_IFCHR | 0600, ::makedev(1, 5)) == 0;
}

}  // namespace singleton::testing
