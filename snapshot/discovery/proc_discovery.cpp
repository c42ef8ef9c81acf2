#include "snapshot/discovery/proc_discovery.hpp"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "snapshot/discovery/discovery_limits.hpp"
#include "snapshot/discovery/held_disks.hpp"
#include "snapshot/discovery/open_files.hpp"
#include "snapshot/base/printable.hpp"
#include "snapshot/base/proc_files.hpp"
#include "snapshot/discovery/process_trust.hpp"
#include "snapshot/discovery/qemu_cmdline.hpp"

namespace singleton {
namespace {

std::string absolute_in(const std::string& path, const std::string& cwd) {
  if (path.empty() || path[0] == '/' || cwd.empty()) return path;
  return cwd + "/" + path;
}

std::vector<DiscoveredDisk> disks_from_open_files(const std::vector<OpenFile>& files) {
  std::vector<DiscoveredDisk> disks;
  std::set<FileId> seen;  // one image may be open on several fds
  for (const auto& file : files) {
    if (file.block_device || !looks_like_disk_image(file) || !seen.insert(file.id).second) continue;
    DiscoveredDisk disk;
    disk.disk.path = file.path;
    disk.disk.cache = cache_mode_from_open_flags(file.flags);
    disks.push_back(std::move(disk));  // format and chain: admit_disks reads them
  }
  return disks;
}

std::string process_name(pid_t pid) {
  auto comm = try_read_text_file("/proc/" + std::to_string(pid) + "/comm");
  std::string name = comm ? *comm : "";
  while (!name.empty() && name.back() == '\n') name.pop_back();
  return name.empty() ? "pid-" + std::to_string(pid) : name + "-" + std::to_string(pid);
}

}  // namespace

std::vector<ProcVm> discover_proc_vms(const std::set<pid_t>& skip, const std::set<uid_t>& vm_uids,
                                      std::vector<DiscoveryProblem>& problems) {
  std::vector<ProcVm> found;
  for (pid_t pid : list_pids()) {
    if (skip.count(pid)) continue;
    bool truncated = false;
    auto argv = read_cmdline(pid, kMaxCmdlineBytes, &truncated);
    if (!is_qemu_command(argv) || !process_alive(pid)) continue;
    // Nothing of an untrusted process is looked at further: its command line names files only its
    // owner could choose. A debug note, not an error: any user may run such a process.
    if (auto why = why_not_trusted(pid, vm_uids)) {
      problems.push_back(
          {pid, "pid " + std::to_string(pid) + " (proc): a QEMU command line, ignored: " + *why,
           ExitCode::kPartial, true, true});
      continue;
    }
    QemuCommandLine cmdline = parse_qemu_cmdline(argv);
    if (truncated)
      cmdline.too_much = "a command line over " + std::to_string(kMaxCmdlineBytes) + " bytes";
    ProcVm vm;
    vm.vm.source = VmSource::kProc;
    vm.vm.pid = pid;
    vm.vm.name = printable(cmdline.name.empty() ? "qemu-" + std::to_string(pid) : cmdline.name);
    vm.vm.uuid = printable(cmdline.uuid);
    vm.vm.ram_bytes = cmdline.ram_bytes;
    if (!cmdline.too_much.empty()) {
      problems.push_back({pid, describe_vm(vm.vm) + ": " + cmdline.too_much + ": VM skipped",
                          ExitCode::kPartial, false});
      continue;
    }
    std::string cwd = read_link("/proc/" + std::to_string(pid) + "/cwd");
    vm.disks = std::move(cmdline.disks);
    for (auto& disk : vm.disks) {
      disk.disk.path = absolute_in(disk.disk.path, cwd);
      for (auto& backing : disk.disk.backing) backing = absolute_in(backing, cwd);
    }
    if (vm.disks.empty())
      vm.disks = disks_from_open_files(open_image_files(pid, kMaxOpenFds).files);
    found.push_back(std::move(vm));
  }
  return found;
}

std::optional<ProcVm> describe_explicit_vm(const ExplicitVmSpec& spec,
                                           std::vector<DiscoveryProblem>& problems) {
  std::string who = "--pid " + std::to_string(spec.pid);
  if (spec.pid <= 0 || !process_alive(spec.pid)) {
    problems.push_back({spec.pid, who + ": no such process", ExitCode::kUsage, false});
    return std::nullopt;
  }
  ProcVm vm;
  vm.vm.source = VmSource::kExplicit;
  vm.vm.pid = spec.pid;
  vm.vm.name = printable(process_name(spec.pid));
  for (const auto& image : spec.images) {
    char resolved[PATH_MAX];
    if (!::realpath(image.c_str(), resolved)) {
      problems.push_back({spec.pid, "--image " + printable(image) + ": " + std::strerror(errno),
                          ExitCode::kUsage, false});
      continue;
    }
    // Format, cache mode (from the process's own open flags) and chain: admit_disks, from the file
    // the process holds, if it does.
    DiscoveredDisk disk;
    disk.disk.path = resolved;
    vm.disks.push_back(std::move(disk));
  }
  return vm;
}

}  // namespace singleton
