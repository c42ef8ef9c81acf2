#include "snapshot/proc_discovery.hpp"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "snapshot/open_files.hpp"
#include "snapshot/proc_files.hpp"
#include "snapshot/qemu_cmdline.hpp"

namespace singleton {
namespace {

std::string absolute_in(const std::string& path, const std::string& cwd) {
  if (path.empty() || path[0] == '/' || cwd.empty()) return path;
  return cwd + "/" + path;
}

std::vector<DiscoveredDisk> disks_from_open_files(const std::vector<OpenFile>& files) {
  std::vector<DiscoveredDisk> disks;
  std::set<std::pair<dev_t, ino_t>> seen;  // one image may be open on several fds
  for (const auto& file : files) {
    if (!looks_like_disk_image(file) || !seen.insert({file.device, file.inode}).second) continue;
    DiscoveredDisk disk;
    disk.disk.path = file.path;
    disk.disk.format = detect_image_format(file.path);
    disk.disk.cache = cache_mode_from_open_flags(file.flags);
    disk.backing_known = disk.disk.format == "raw";
    disks.push_back(std::move(disk));
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

std::vector<ProcVm> discover_proc_vms(const std::set<pid_t>& skip) {
  std::vector<ProcVm> found;
  for (pid_t pid : list_pids()) {
    if (skip.count(pid)) continue;
    auto argv = read_cmdline(pid);
    if (!is_qemu_command(argv) || !process_alive(pid)) continue;
    QemuCommandLine cmdline = parse_qemu_cmdline(argv);
    ProcVm vm;
    vm.vm.source = VmSource::kProc;
    vm.vm.pid = pid;
    vm.vm.name = cmdline.name.empty() ? "qemu-" + std::to_string(pid) : cmdline.name;
    vm.vm.uuid = cmdline.uuid;
    vm.vm.ram_bytes = cmdline.ram_bytes;
    std::string cwd = read_link("/proc/" + std::to_string(pid) + "/cwd");
    vm.disks = std::move(cmdline.disks);
    for (auto& disk : vm.disks) {
      disk.disk.path = absolute_in(disk.disk.path, cwd);
      for (auto& backing : disk.disk.backing) backing = absolute_in(backing, cwd);
    }
    if (vm.disks.empty()) vm.disks = disks_from_open_files(open_regular_files(pid));
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
  vm.vm.name = process_name(spec.pid);
  std::vector<OpenFile> open_files = open_regular_files(spec.pid);
  for (const auto& image : spec.images) {
    char resolved[PATH_MAX];
    struct stat st;
    if (!::realpath(image.c_str(), resolved) || ::stat(resolved, &st) != 0) {
      problems.push_back(
          {spec.pid, "--image " + image + ": " + std::strerror(errno), ExitCode::kUsage, false});
      continue;
    }
    DiscoveredDisk disk;
    disk.disk.path = resolved;
    disk.disk.format = detect_image_format(resolved);
    disk.backing_known = disk.disk.format == "raw";
    // The process's own open flags tell whether it bypasses the host cache.
    for (const auto& file : open_files) {
      if (file.device == st.st_dev && file.inode == st.st_ino) {
        disk.disk.cache = cache_mode_from_open_flags(file.flags);
        break;
      }
    }
    vm.disks.push_back(std::move(disk));
  }
  return vm;
}

}  // namespace singleton
