// A one-line progress display on stderr for long passes, only when stderr is a terminal.
#pragma once

#include <chrono>
#include <string>

namespace singleton {

class ProgressLine {
 public:
  // Enabled only when `wanted` and stderr is a terminal.
  explicit ProgressLine(bool wanted);
  ~ProgressLine();  // clears the line
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // Redraws at most 10 times a second.
  void show(const std::string& text);
  void clear();

 private:
  bool enabled_ = false;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace singleton
