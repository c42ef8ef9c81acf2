#include "scrubber/pressure/pressure_sources.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

namespace fs = std::filesystem;

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> whole_number(std::string_view s) {
  s = trimmed(s);
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

uint64_t cgroup_number(std::string_view text, const char* file, bool max_is_none) {
  const std::string_view s = trimmed(text);
  if (max_is_none && s == "max") return UINT64_MAX;
  const auto value = whole_number(s);
  if (!value) {
    throw Error(ExitCode::kUsage, std::string("cgroup ") + file + ": not a number: '" +
                                      std::string(s.substr(0, 40)) + "'");
  }
  return *value;
}

// "Key:   123 kB" lines.
std::optional<uint64_t> meminfo_kib(std::string_view text, std::string_view key) {
  size_t at = 0;
  while ((at = text.find(key, at)) != std::string_view::npos) {
    if ((at == 0 || text[at - 1] == '\n') && text.substr(at + key.size()).starts_with(":")) {
      std::string_view rest = text.substr(at + key.size() + 1);
      rest = rest.substr(0, rest.find('\n'));
      if (rest.ends_with("kB")) rest.remove_suffix(2);
      return whole_number(rest);
    }
    at += key.size();
  }
  return std::nullopt;
}

std::optional<double> psi_avg10(std::string_view text, std::string_view kind) {
  size_t at = 0;
  while ((at = text.find(kind, at)) != std::string_view::npos) {
    if (at == 0 || text[at - 1] == '\n') break;
    at += kind.size();
  }
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view line = text.substr(at);
  line = line.substr(0, line.find('\n'));
  const auto avg = line.find(" avg10=");
  if (avg == std::string_view::npos) return std::nullopt;
  std::string_view number = line.substr(avg + 7);
  number = number.substr(0, number.find(' '));
  double value = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || end != number.data() + number.size() || !(value >= 0 && value <= 100)) {
    return std::nullopt;
  }
  return value;
}

std::string read_small_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) {
    throw Error(ExitCode::kEnvironment, "cannot read " + path.string() +
                                            " (the memory cgroup was removed?)");
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::optional<MemInfo> parse_meminfo(std::string_view text) {
  const auto total = meminfo_kib(text, "MemTotal");
  const auto available = meminfo_kib(text, "MemAvailable");
  if (!total || !available || *total == 0) return std::nullopt;
  return MemInfo{*total * 1024, *available * 1024};
}

std::optional<PsiMemory> parse_psi_memory(std::string_view text) {
  const auto some = psi_avg10(text, "some ");
  if (!some) return std::nullopt;
  return PsiMemory{*some, psi_avg10(text, "full ").value_or(0)};
}

CgroupMemory parse_cgroup_v2_memory(std::string_view current, std::string_view max,
                                    std::string_view high) {
  CgroupMemory m;
  m.usage_bytes = cgroup_number(current, "memory.current", false);
  m.limit_bytes = std::min(cgroup_number(max, "memory.max", true),
                           cgroup_number(high, "memory.high", true));
  return m;
}

CgroupMemory parse_cgroup_v1_memory(std::string_view usage, std::string_view limit) {
  // PAGE_COUNTER_MAX (LONG_MAX / PAGE_SIZE pages) in bytes, rounded down to a page: "no limit".
  constexpr uint64_t kNoLimit = 9223372036854771712ull;
  CgroupMemory m;
  m.usage_bytes = cgroup_number(usage, "memory.usage_in_bytes", false);
  const uint64_t value = cgroup_number(limit, "memory.limit_in_bytes", false);
  m.limit_bytes = value >= kNoLimit ? UINT64_MAX : value;
  return m;
}

CgroupMemoryFiles::CgroupMemoryFiles(const std::string& path, const std::string& root) {
  if (path.empty()) throw Error(ExitCode::kUsage, "--pressure-cgroup: empty path");
  std::vector<fs::path> candidates;
  if (fs::path(path).is_absolute()) {
    candidates.push_back(path);
  } else {
    for (const char* sub : {"", "memory", "unified"}) candidates.push_back(fs::path(root) / sub / path);
  }
  std::error_code ec;
  for (const fs::path& dir : candidates) {
    if (fs::exists(dir / "memory.current", ec) && fs::exists(dir / "memory.max", ec)) {
      path_ = dir.string();
      version_ = 2;
      break;
    }
    if (fs::exists(dir / "memory.usage_in_bytes", ec) &&
        fs::exists(dir / "memory.limit_in_bytes", ec)) {
      path_ = dir.string();
      version_ = 1;
      break;
    }
  }
  if (version_ == 0) {
    throw Error(ExitCode::kUsage,
                "--pressure-cgroup " + path + ": not a memory cgroup (no memory.current nor "
                "memory.usage_in_bytes in " + candidates.front().string() +
                (candidates.size() > 1 ? " or beside it under memory/, unified/" : "") + ")");
  }
  read();  // readable now, numbers well formed: else the same error at start, not later
}

CgroupMemory CgroupMemoryFiles::read() const {
  const fs::path dir(path_);
  if (version_ == 2) {
    return parse_cgroup_v2_memory(read_small_file(dir / "memory.current"),
                                  read_small_file(dir / "memory.max"),
                                  read_small_file(dir / "memory.high"));
  }
  return parse_cgroup_v1_memory(read_small_file(dir / "memory.usage_in_bytes"),
                                read_small_file(dir / "memory.limit_in_bytes"));
}

}  // namespace singleton
