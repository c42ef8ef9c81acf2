#include "snapshot/discovery/held_disks.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "snapshot/discovery/discovery_limits.hpp"
#include "snapshot/base/error.hpp"
#include "snapshot/discovery/image_open.hpp"
#include "snapshot/base/printable.hpp"
#include "snapshot/discovery/qcow2_header.hpp"

namespace singleton {
namespace {

// A bound was exceeded: the VM is dropped (see admit_disks).
struct TooMuch : Error {
  using Error::Error;
};

class Admission {
 public:
  Admission(const HeldFiles& held, const AdmitOptions& options,
            std::vector<DiscoveryProblem>& problems)
      : held_(held), options_(options), problems_(problems) {}

  std::optional<VmDisk> admit(DiscoveredDisk found) {
    VmDisk disk = std::move(found.disk);
    const OpenFile* top = held_file(disk.path, explicit_code());
    if (!top) return std::nullopt;
    disk.path = top->path;
    disk.held = {top->id};
    if (disk.cache == CacheMode::kUnknown) disk.cache = cache_mode_from_open_flags(top->flags);
    if (disk.format.empty()) disk.format = format_of(*top);
    if (found.backing_known) {
      std::vector<std::string> stated = std::move(disk.backing);
      disk.backing.clear();
      for (const std::string& path : stated) {
        if (disk.backing.size() == kMaxChainDepth) too_deep(disk);
        const OpenFile* layer = held_file(path, ExitCode::kPartial, "backing file ");
        if (!layer) {  // the chain below a file we may not read is not ours either
          disk.backing_missing = refused_;
          break;
        }
        disk.backing.push_back(layer->path);
        disk.held.push_back(layer->id);
      }
    } else if (options_.resolve_chains) {
      read_chain(disk, *top);
    }
    return disk;
  }

 private:
  ExitCode explicit_code() const {
    return options_.explicit_images ? ExitCode::kUsage : ExitCode::kPartial;
  }

  void problem(const std::string& message, ExitCode code, bool warning) {
    problems_.push_back({held_.pid(), options_.who + ": " + message, code, warning});
  }

  // A backing file not taken: the problem, and the reason on the disk (its chain is cut).
  void cut(VmDisk& disk, const std::string& message, ExitCode code, bool warning) {
    problem(message, code, warning);
    disk.backing_missing = message;
  }

  // The open file `path` names, nullptr (and a problem) when the process does not hold it. Only
  // stat is used on the path: it opens nothing, so a FIFO or device named here cannot block or be
  // triggered. `code` kUsage (explicit images) makes a problem an error; otherwise a skipped file
  // is a warning.
  // (The message of a refusal is also left in refused_.)
  const OpenFile* held_file(const std::string& path, ExitCode code, const char* what = "") {
    const bool usage = code == ExitCode::kUsage;
    const std::string shown = std::string(what) + (usage ? "--image " : "") + printable(path);
    auto refuse = [&](const std::string& message, ExitCode c, bool warning) {
      refused_ = message;
      problem(message, c, warning);
      return nullptr;
    };
    if (!is_printable(path))
      return refuse(shown + ": control bytes or invalid UTF-8 in the path: refused",
                    ExitCode::kPartial, false);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      const int error = errno;
      std::string message =
          shown + (error == ENOENT ? " missing: " : ": ") + std::strerror(error);
      // A file deleted while the VMM holds it: /proc/PID/fd names it "PATH (deleted)".
      for (const OpenFile& f : held_.files()) {
        if (error == ENOENT && f.path == path + " (deleted)") {
          message += " (process " + std::to_string(held_.pid()) +
                     " holds a deleted file of that name, which cannot be reopened)";
          break;
        }
      }
      return refuse(message, code, !usage);
    }
    if (!is_image_type(st.st_mode))
      return refuse(shown + ": not a regular file or block device (" +
                        file_type_name(st.st_mode) + "): refused",
                    code, !usage);
    const OpenFile* file = held_.find(file_id(st));
    if (!file)
      return refuse(shown + " not held by the VM: process " + std::to_string(held_.pid()) +
                        " does not hold this file open (singleton reads only images the VM has "
                        "open)",
                    code, !usage);
    if (!is_printable(file->path) || file->path.ends_with(" (deleted)"))
      return refuse(
          shown + ": held open as " + printable(file->path) + ", a name that cannot be reopened",
          ExitCode::kPartial, false);
    return file;
  }

  std::string format_of(const OpenFile& file) {
    try {
      struct stat st {};
      UniqueFd fd = open_held_image(held_.pid(), file.fd, file.id, st);
      return detect_image_format(fd.get());
    } catch (const Error& e) {
      problem(printable(e.what()), ExitCode::kPartial, true);
      return "";
    }
  }

  [[noreturn]] void too_deep(const VmDisk& disk) {
    throw TooMuch(ExitCode::kPartial, "backing chain of " + printable(disk.path) + " deeper than " +
                                          std::to_string(kMaxChainDepth) + " files");
  }

  // Follows the qcow2 headers' backing names down the chain, through files the process holds.
  void read_chain(VmDisk& disk, const OpenFile& top) {
    std::set<FileId> seen{top.id};
    const OpenFile* current = &top;
    std::string format = disk.format;
    while (format == "qcow2") {
      std::optional<std::string> name;
      try {
        struct stat st {};
        UniqueFd fd = open_held_image(held_.pid(), current->fd, current->id, st);
        name = qcow2_backing_name(fd.get(), printable(current->path));
      } catch (const Error& e) {
        cut(disk, std::string("backing chain: ") + printable(e.what()), ExitCode::kPartial, true);
        return;
      }
      if (!name) return;
      if (name->rfind("json:", 0) == 0 || name->find("://") != std::string::npos) {
        cut(disk,
            "backing chain of " + printable(current->path) + ": backing " + printable(*name) +
                " is not a file: chain not followed",
            ExitCode::kPartial, true);
        return;
      }
      std::string path = *name;
      if (path[0] != '/') path = current->path.substr(0, current->path.rfind('/') + 1) + path;
      if (disk.backing.size() == kMaxChainDepth) too_deep(disk);
      const OpenFile* next = held_file(path, ExitCode::kPartial, "backing file ");
      if (!next) {
        disk.backing_missing = refused_;
        return;
      }
      if (!seen.insert(next->id).second) {
        cut(disk, "backing chain of " + printable(disk.path) + " loops at " + printable(next->path),
            ExitCode::kPartial, false);
        return;
      }
      disk.backing.push_back(next->path);
      disk.held.push_back(next->id);
      current = next;
      format = format_of(*next);
    }
    if (format != "raw" && !format.empty()) {
      problem("backing chain of " + printable(current->path) + " (" + format +
                  ") not read: only qcow2 headers are; the files below it are not scrubbed",
              ExitCode::kPartial, true);
    }
  }

  const HeldFiles& held_;
  const AdmitOptions& options_;
  std::vector<DiscoveryProblem>& problems_;
  std::string refused_;  // held_file's last refusal
};

}  // namespace

HeldFiles::HeldFiles(pid_t pid) : pid_(pid), open_(open_image_files(pid, kMaxOpenFds)) {
  for (size_t i = 0; i < open_.files.size(); ++i) by_id_.emplace(open_.files[i].id, i);
}

const OpenFile* HeldFiles::find(const FileId& id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &open_.files[it->second];
}

std::optional<std::vector<VmDisk>> admit_disks(const HeldFiles& held,
                                               std::vector<DiscoveredDisk> disks,
                                               const AdmitOptions& options,
                                               std::vector<DiscoveryProblem>& problems) {
  auto refuse = [&](const std::string& why) {
    problems.push_back(
        {held.pid(), options.who + ": " + why + ": VM skipped", ExitCode::kPartial, false});
    return std::nullopt;
  };
  if (disks.size() > kMaxDisksPerVm)
    return refuse(std::to_string(disks.size()) + " disks, more than the " +
                  std::to_string(kMaxDisksPerVm) + " allowed");
  if (disks.empty()) return std::vector<VmDisk>{};
  if (held.truncated()) return refuse("more than " + std::to_string(kMaxOpenFds) + " open fds");
  Admission admission(held, options, problems);
  std::vector<VmDisk> result;
  try {
    for (auto& found : disks)
      if (auto disk = admission.admit(std::move(found))) result.push_back(std::move(*disk));
  } catch (const TooMuch& e) {
    return refuse(e.what());
  }
  return result;
}

std::string describe_vm(const Vm& vm) {
  return "VM '" + printable(vm.name) + "' (pid " + std::to_string(vm.pid) + ", " +
         to_string(vm.source) + ")";
}

}  // namespace singleton
