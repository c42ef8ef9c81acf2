#include "scrubber/vm_selection.hpp"

#include <sys/stat.h>

#include <charconv>
#include <climits>

#include "scrubber/read_only_file.hpp"
#include "snapshot/error.hpp"

namespace singleton {

pid_t parse_pid(const std::string& text) {
  long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 10);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value <= 0 ||
      value > INT_MAX) {
    throw Error(ExitCode::kUsage,
                "invalid --pid '" + text + "': expected a process id (1, 2, ...)");
  }
  return static_cast<pid_t>(value);
}

namespace {

std::vector<Vm> explicit_vms(const VmSelectionOptions& options) {
  if (options.pids.empty()) {
    throw Error(ExitCode::kUsage, "--image needs --pid: whose memory holds this image's pages?");
  }
  if (options.images.empty()) {
    throw Error(ExitCode::kUsage, "--pid needs --image: which disk image does this VM use?");
  }
  if (options.pids.size() != 1 && options.pids.size() != options.images.size()) {
    throw Error(ExitCode::kUsage,
                "give one --pid with any number of --image, or one --image per --pid (in order)");
  }
  std::vector<Vm> vms;
  for (const std::string& text : options.pids) {
    Vm vm;
    vm.pid = parse_pid(text);
    struct stat st {};
    if (::stat(("/proc/" + std::to_string(vm.pid)).c_str(), &st) != 0) {
      throw Error(ExitCode::kUsage, "--pid " + text + ": no such process");
    }
    vm.name = "pid-" + std::to_string(vm.pid);
    vm.source = VmSource::kExplicit;
    vms.push_back(vm);
  }
  for (size_t i = 0; i < options.images.size(); ++i) {
    const std::string& path = options.images[i];
    // Open once now so that a missing or unreadable image is a usage error before any work.
    try {
      ReadOnlyFile probe(path);
    } catch (const Error& e) {
      throw Error(ExitCode::kUsage, std::string("--image: ") + e.what());
    }
    VmDisk disk;
    disk.path = path;
    disk.cache = CacheMode::kUnknown;  // through the host cache unless told otherwise
    Vm& vm = vms.size() == 1 ? vms[0] : vms[i];
    vm.disks.push_back(disk);
  }
  return vms;
}

}  // namespace

std::vector<Vm> select_vms(const VmSelectionOptions& options) {
  if (!options.pids.empty() || !options.images.empty()) {
    if (!options.names.empty()) {
      throw Error(ExitCode::kUsage, "--vm and --pid/--image cannot be combined in one pass");
    }
    return explicit_vms(options);
  }
  throw Error(ExitCode::kUsage,
              "VM discovery (libvirt, /proc) is not wired into this build yet: use --pid PID "
              "--image PATH");
}

}  // namespace singleton
