// A child process that holds pages of known content in anonymous memory, for tests and the
// snapshot benchmark: a real process to snapshot, killed and reaped by the destructor.
#pragma once

#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace singleton::testing {

// Page `index` of a holder created with `seed`: 512 pseudo-random words (splitmix64), or zeros
// when `index % zero_every == zero_every - 1` (zero_every == 0: no zero pages).
inline void fill_test_page(uint64_t seed, size_t index, size_t zero_every, void* page) {
  auto* words = static_cast<uint64_t*>(page);
  if (zero_every != 0 && index % zero_every == zero_every - 1) {
    std::memset(page, 0, 4096);
    return;
  }
  uint64_t state = seed * 0x9e3779b97f4a7c15ULL + index * 4096;
  for (size_t i = 0; i < 512; ++i) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    words[i] = z ^ (z >> 31);
  }
}

struct MemoryHolderOptions {
  size_t pages = 256;
  uint64_t seed = 1;
  size_t zero_every = 0;
  bool mergeable = true;  // madvise(MADV_MERGEABLE): marks the VMA "mg" like QEMU's guest RAM
  // Fork once the memory is filled, so that every page is shared with a second process (not
  // exclusively owned, like a KSM page) until the holder goes away.
  bool fork_sharer = false;
};

class MemoryHolderProcess {
 public:
  explicit MemoryHolderProcess(const MemoryHolderOptions& options) : options_(options) {
    int ready[2];
    int hold[2];
    if (::pipe(ready) != 0 || ::pipe(hold) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) run_child(ready, hold);
    ::close(ready[1]);
    ::close(hold[0]);
    hold_fd_ = hold[1];
    uint64_t address = 0;
    ssize_t n = ::read(ready[0], &address, sizeof address);
    ::close(ready[0]);
    if (n != sizeof address || address == 0) {
      stop();
      throw std::runtime_error("memory holder child failed to start");
    }
    address_ = address;
  }
  MemoryHolderProcess(const MemoryHolderProcess&) = delete;
  MemoryHolderProcess& operator=(const MemoryHolderProcess&) = delete;
  ~MemoryHolderProcess() { stop(); }

  pid_t pid() const { return pid_; }
  uint64_t address() const { return address_; }
  size_t pages() const { return options_.pages; }

  // SIGKILL and reap: afterwards the pid is gone for good.
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    if (hold_fd_ >= 0) ::close(hold_fd_);
    hold_fd_ = -1;
  }

  // Asks the child to munmap its memory and waits until it has.
  void unmap_memory() {
    char command = 'u';
    if (::write(hold_fd_, &command, 1) != 1) throw std::runtime_error("write to holder failed");
    // The child acknowledges by unmapping; poll its maps until the region is gone.
    for (int i = 0; i < 1000; ++i) {
      if (!region_mapped()) return;
      ::usleep(1000);
    }
    throw std::runtime_error("holder did not unmap its memory");
  }

 private:
  bool region_mapped() const {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/maps", pid_);
    FILE* maps = std::fopen(path, "r");
    if (!maps) return false;
    char line[512];
    bool found = false;
    while (std::fgets(line, sizeof line, maps)) {
      if (std::strtoull(line, nullptr, 16) == address_) found = true;
    }
    std::fclose(maps);
    return found;
  }

  [[noreturn]] void run_child(int ready[2], int hold[2]) {
    ::close(ready[0]);
    ::close(hold[1]);
    size_t bytes = options_.pages * 4096;
    void* memory =
        ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t address = 0;
    if (memory != MAP_FAILED) {
      // No THP: tests want one VMA of 4 KiB pages exactly as filled.
      ::madvise(memory, bytes, MADV_NOHUGEPAGE);
      if (options_.mergeable) ::madvise(memory, bytes, MADV_MERGEABLE);
      for (size_t i = 0; i < options_.pages; ++i)
        fill_test_page(options_.seed, i, options_.zero_every,
                       static_cast<char*>(memory) + i * 4096);
      address = reinterpret_cast<uint64_t>(memory);
    }
    if (options_.fork_sharer && ::fork() == 0) {
      // The sharer holds the same pages and leaves when the test closes its end of `hold`.
      ::close(ready[1]);
      char ignored;
      while (::read(hold[0], &ignored, 1) == 1) {
      }
      ::_exit(0);
    }
    (void)!::write(ready[1], &address, sizeof address);
    char command;
    while (::read(hold[0], &command, 1) == 1) {
      if (command == 'u') ::munmap(memory, bytes);
    }
    ::_exit(0);
  }

  MemoryHolderOptions options_;
  pid_t pid_ = -1;
  int hold_fd_ = -1;
  uint64_t address_ = 0;
};

}  // namespace singleton::testing
