// A private directory (mkdtemp: 0700, ours) under $TMPDIR or /tmp, removed with its content at
// the end of the test. Private matters: singleton refuses locks and configs in directories
// others can write to.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>

namespace singleton::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& tag = "sg-test") {
    path_ = std::filesystem::temp_directory_path() / (tag + "-XXXXXX");
    if (::mkdtemp(path_.data()) == nullptr) throw std::runtime_error("mkdtemp " + path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace singleton::testing
