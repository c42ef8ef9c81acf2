#include "scrubber/pressure/pressure_gauge.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  if (in) text << in.rdbuf();
  return text.str();
}

std::string mib(uint64_t bytes) { return std::to_string(bytes / kMiB) + " MiB"; }

}  // namespace

EvictWhen evict_when_from_string(const std::string& text) {
  if (text == "always") return EvictWhen::kAlways;
  if (text == "pressure") return EvictWhen::kPressure;
  throw Error(ExitCode::kUsage, "unknown --evict-when '" + text + "' (expected always or pressure)");
}

const char* to_string(EvictWhen when) { return when == EvictWhen::kAlways ? "always" : "pressure"; }

EvictOrder evict_order_from_string(const std::string& text) {
  if (text == "newest") return EvictOrder::kNewest;
  if (text == "oldest") return EvictOrder::kOldest;
  throw Error(ExitCode::kUsage, "unknown --evict-order '" + text + "' (expected newest or oldest)");
}

const char* to_string(EvictOrder order) { return order == EvictOrder::kNewest ? "newest" : "oldest"; }

uint64_t auto_headroom_bytes(uint64_t limit_bytes) { return std::max(16 * kMiB, limit_bytes / 20); }

PressureReading judge_pressure(const PressureSettings& s, std::optional<MemInfo> meminfo,
                               std::optional<PsiMemory> psi, std::optional<CgroupMemory> cgroup) {
  PressureReading r;
  r.meminfo = meminfo;
  r.psi = psi;
  r.cgroup = cgroup;
  uint64_t short_bytes = 0;
  auto because = [&](const std::string& why, uint64_t bytes) {
    r.needed = true;
    short_bytes = std::max(short_bytes, bytes);
    r.reason += (r.reason.empty() ? "" : "; ") + why;
  };
  if (cgroup && cgroup->limit_bytes != UINT64_MAX) {
    const uint64_t wanted =
        s.headroom_bytes ? s.headroom_bytes : auto_headroom_bytes(cgroup->limit_bytes);
    const uint64_t left = cgroup->headroom_bytes();
    if (left < wanted) {
      because("cgroup " + mib(cgroup->usage_bytes) + " of its " + mib(cgroup->limit_bytes) +
                  " limit (headroom " + mib(left) + " < " + mib(wanted) + ")",
              wanted - left);
    }
  }
  if (meminfo && s.available_percent > 0) {
    const auto wanted = static_cast<uint64_t>(static_cast<double>(meminfo->total_bytes) *
                                              s.available_percent / 100);
    if (meminfo->available_bytes < wanted) {
      because("MemAvailable " + mib(meminfo->available_bytes) + " < " + mib(wanted),
              wanted - meminfo->available_bytes);
    }
  }
  if (psi && s.psi_percent > 0 && psi->some_avg10 >= s.psi_percent) {
    char text[64];
    std::snprintf(text, sizeof text, "PSI memory some avg10 %.2f%% >= %.3g%%", psi->some_avg10,
                  s.psi_percent);
    because(text, s.step_bytes);
  }
  if (r.needed) r.evict_bytes = std::clamp(short_bytes, std::min(kMiB, s.step_bytes), s.step_bytes);
  return r;
}

PressureGauge::PressureGauge(PressureSettings settings, std::string proc)
    : settings_(std::move(settings)), proc_(std::move(proc)) {
  if (!settings_.cgroup.empty()) cgroup_.emplace(settings_.cgroup);
}

PressureReading PressureGauge::read() const {
  std::optional<CgroupMemory> cgroup;
  if (cgroup_) cgroup = cgroup_->read();
  return judge_pressure(settings_, parse_meminfo(read_text(proc_ + "/meminfo")),
                        parse_psi_memory(read_text(proc_ + "/pressure/memory")), cgroup);
}

}  // namespace singleton
