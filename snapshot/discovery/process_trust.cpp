#include "snapshot/discovery/process_trust.hpp"

#include <pwd.h>
#include <sys/stat.h>

#include <charconv>
#include <sstream>

#include "snapshot/base/proc_files.hpp"

namespace singleton {

std::set<uid_t> resolve_vm_users(const std::vector<std::string>& users) {
  std::set<uid_t> uids;
  for (const std::string& user : users) {
    uid_t uid = 0;
    auto [end, ec] = std::from_chars(user.data(), user.data() + user.size(), uid, 10);
    if (!user.empty() && ec == std::errc() && end == user.data() + user.size()) {
      uids.insert(uid);
      continue;
    }
    struct passwd entry;
    struct passwd* found = nullptr;
    char buffer[4096];
    if (::getpwnam_r(user.c_str(), &entry, buffer, sizeof buffer, &found) == 0 && found)
      uids.insert(found->pw_uid);
  }
  return uids;
}

std::optional<std::string> why_not_trusted(pid_t pid, const std::set<uid_t>& vm_uids) {
  const std::string base = "/proc/" + std::to_string(pid);
  // /proc/PID/status, not the owner of /proc/PID: a process that makes itself non-dumpable gets a
  // root-owned /proc/PID whoever it runs as.
  auto status = try_read_text_file(base + "/status");
  if (!status) return "gone";
  size_t at = status->find("\nUid:");
  if (at == std::string::npos) return "no Uid line in " + base + "/status";
  std::istringstream uids(status->substr(at + 5, status->find('\n', at + 1) - at - 5));
  int count = 0;
  for (uid_t uid; uids >> uid; ++count) {
    if (!vm_uids.count(uid)) return "runs as uid " + std::to_string(uid) + ", not a VM user";
  }
  if (count != 4) return "unreadable Uid line in " + base + "/status";
  // stat follows the magic link to the executable itself (even when it was replaced on disk).
  struct stat st {};
  if (::stat((base + "/exe").c_str(), &st) != 0) return "its executable cannot be looked at";
  if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
    return "its executable is not a root-owned file closed to writes by others";
  return std::nullopt;
}

}  // namespace singleton
