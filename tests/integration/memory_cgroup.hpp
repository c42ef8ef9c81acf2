// A memory cgroup of a test's own, v1 or v2 (whichever holds the memory controller here), with a
// limit the test sets; removed at the end. Empty: its usage stays near 0, so its limit alone
// says how close to it the cgroup is (what `--pressure-cgroup` reads).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace singleton::testing {

class MemoryCgroup {
 public:
  explicit MemoryCgroup(const std::string& name) {
    namespace fs = std::filesystem;
    if (fs::exists("/sys/fs/cgroup/memory/memory.limit_in_bytes")) {
      path_ = "/sys/fs/cgroup/memory/" + name;
      version_ = 1;
    } else if (controllers_have_memory("/sys/fs/cgroup/cgroup.controllers")) {
      path_ = "/sys/fs/cgroup/" + name;
      version_ = 2;
    } else if (controllers_have_memory("/sys/fs/cgroup/unified/cgroup.controllers")) {
      path_ = "/sys/fs/cgroup/unified/" + name;
      version_ = 2;
    } else {
      throw std::runtime_error("no memory cgroup controller under /sys/fs/cgroup");
    }
    if (version_ == 2 && !fs::exists(fs::path(path_).parent_path() / "memory.max") &&
        fs::path(path_).parent_path() != "/sys/fs/cgroup" &&
        fs::path(path_).parent_path() != "/sys/fs/cgroup/unified") {
      throw std::runtime_error("unexpected cgroup v2 parent of " + path_);
    }
    if (version_ == 2) {
      // The memory controller for the root's children (a no-op when it is on already).
      std::ofstream(fs::path(path_).parent_path() / "cgroup.subtree_control") << "+memory";
    }
    fs::create_directory(path_);
  }
  ~MemoryCgroup() { ::rmdir(path_.c_str()); }
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;

  const std::string& path() const { return path_; }
  int version() const { return version_; }

  void set_limit(uint64_t bytes) const {
    std::ofstream out(path_ + (version_ == 1 ? "/memory.limit_in_bytes" : "/memory.max"));
    out << bytes << std::flush;
    if (!out) throw std::runtime_error("cannot set the limit of " + path_);
  }

 private:
  static bool controllers_have_memory(const std::string& file) {
    std::ifstream in(file);
    for (std::string word; in >> word;) {
      if (word == "memory") return true;
    }
    return false;
  }
  std::string path_;
  int version_ = 0;
};

}  // namespace singleton::testing
