#include "snapshot/discovery/libvirt_discovery.hpp"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <cstdlib>
#include <memory>
#include <set>

#include "snapshot/discovery/discovery_limits.hpp"
#include "snapshot/discovery/domain_xml.hpp"
#include "snapshot/base/printable.hpp"
#include "snapshot/base/proc_files.hpp"
#include "snapshot/discovery/process_trust.hpp"
#include "snapshot/discovery/qemu_cmdline.hpp"

namespace singleton {
namespace {

struct ConnectionCloser {
  void operator()(virConnect* connection) const { virConnectClose(connection); }
};
struct DomainFreer {
  void operator()(virDomain* domain) const { virDomainFree(domain); }
};
struct MallocFreer {
  void operator()(void* memory) const { std::free(memory); }
};
using Connection = std::unique_ptr<virConnect, ConnectionCloser>;
using Domain = std::unique_ptr<virDomain, DomainFreer>;

std::string last_libvirt_error() {
  const char* message = virGetLastErrorMessage();
  return message ? message : "unknown libvirt error";
}

// libvirt prints every error on stderr by default; we report them ourselves, once, with context.
void silence_libvirt_errors() {
  static const bool done = [] {
    virSetErrorFunc(nullptr, [](void*, virErrorPtr) {});
    return true;
  }();
  (void)done;
}

// Anyone can put a domain's UUID on a command line, and a stale pid file may name a pid reused
// by anyone: only a process /proc discovery would trust (process_trust.hpp) stands for a domain.
bool is_trusted_qemu(pid_t pid, const std::vector<std::string>& argv) {
  static const std::set<uid_t> vm_uids = resolve_vm_users(kDefaultVmUsers);
  return is_qemu_command(argv) && !why_not_trusted(pid, vm_uids);
}

bool cmdline_has_uuid(pid_t pid, const std::string& uuid) {
  auto argv = read_cmdline(pid, kMaxCmdlineBytes);
  if (!is_trusted_qemu(pid, argv)) return false;
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if ((argv[i] == "-uuid" || argv[i] == "--uuid") && argv[i + 1] == uuid) return true;
  return false;
}

std::string pid_file_dir(const std::string& uri) {
  if (uri.rfind("qemu:///system", 0) == 0) return "/run/libvirt/qemu";
  if (uri.rfind("qemu:///session", 0) == 0) {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (runtime) return std::string(runtime) + "/libvirt/qemu/run";
  }
  return "";  // remote or other drivers: no pid file we can read
}

}  // namespace

pid_t find_domain_pid(const std::string& uri, const std::string& name, const std::string& uuid) {
  std::string dir = pid_file_dir(uri);
  if (!dir.empty()) {
    if (auto text = try_read_text_file(dir + "/" + name + ".pid")) {
      char* end = nullptr;
      long pid = std::strtol(text->c_str(), &end, 10);
      // A stale pid file of a crashed domain must not point at an unrelated process.
      if (pid > 0 && end != text->c_str() &&
          is_trusted_qemu(static_cast<pid_t>(pid),
                          read_cmdline(static_cast<pid_t>(pid), kMaxCmdlineBytes)))
        return static_cast<pid_t>(pid);
    }
  }
  if (uuid.empty()) return 0;
  for (pid_t pid : list_pids())
    if (cmdline_has_uuid(pid, uuid)) return pid;
  return 0;
}

void discover_libvirt_vms(const std::string& uri, std::vector<LibvirtVm>& vms,
                          std::vector<DiscoveryProblem>& problems) {
  silence_libvirt_errors();
  Connection connection(virConnectOpenReadOnly(uri.c_str()));
  if (!connection)
    throw Error(ExitCode::kEnvironment, "libvirt " + uri + ": " + last_libvirt_error());
  virDomainPtr* raw_domains = nullptr;
  int count =
      virConnectListAllDomains(connection.get(), &raw_domains, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
  if (count < 0)
    throw Error(ExitCode::kEnvironment,
                "libvirt " + uri + ": listing domains: " + last_libvirt_error());
  std::unique_ptr<virDomainPtr, MallocFreer> domain_array(raw_domains);
  std::vector<Domain> domains;
  for (int i = 0; i < count; ++i) domains.emplace_back(raw_domains[i]);

  for (const auto& domain : domains) {
    LibvirtVm found;
    Vm& vm = found.vm;
    vm.source = VmSource::kLibvirt;
    const char* name = virDomainGetName(domain.get());
    vm.name = printable(name ? name : "");
    char uuid[VIR_UUID_STRING_BUFLEN] = {};
    if (virDomainGetUUIDString(domain.get(), uuid) == 0) vm.uuid = uuid;
    std::string who = "libvirt domain '" + vm.name + "'";  // printable: see above

    std::unique_ptr<char, MallocFreer> xml(virDomainGetXMLDesc(domain.get(), 0));
    if (!xml) {
      // A domain that stopped since it was listed is simply gone: a warning, not a failure.
      bool gone = virDomainIsActive(domain.get()) != 1;
      problems.push_back({0,
                          who + (gone ? ": stopped while being listed: " : ": reading its XML: ") +
                              last_libvirt_error(),
                          ExitCode::kPartial, gone});
      continue;
    }
    try {
      DomainDescription description = parse_domain_xml(xml.get(), who + " XML");
      vm.ram_bytes = description.memory_bytes;
      found.disks = std::move(description.disks);
    } catch (const Error& e) {
      problems.push_back({0, e.what(), e.code(), false});
      continue;
    }
    virDomainInfo info;
    if (virDomainGetInfo(domain.get(), &info) == 0 && info.memory > 0)
      vm.ram_bytes = info.memory * 1024;
    vm.pid = find_domain_pid(uri, vm.name, vm.uuid);
    if (vm.pid == 0) {
      problems.push_back({0,
                          who + ": QEMU process not found (no pid file, no process with its UUID)",
                          ExitCode::kPartial, false});
      continue;
    }
    vms.push_back(std::move(found));
  }
}

}  // namespace singleton
