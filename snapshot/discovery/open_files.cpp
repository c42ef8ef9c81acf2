#include "snapshot/discovery/open_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "snapshot/base/error.hpp"
#include "snapshot/discovery/image_open.hpp"
#include "snapshot/base/proc_files.hpp"
#include "snapshot/base/unique_fd.hpp"

namespace singleton {

OpenFiles open_image_files(pid_t pid, size_t max_fds) {
  OpenFiles result;
  std::string base = "/proc/" + std::to_string(pid);
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir((base + "/fd").c_str()), &::closedir);
  if (!dir) return result;
  size_t seen = 0;
  while (dirent* entry = ::readdir(dir.get())) {
    if (entry->d_name[0] == '.') continue;
    if (++seen > max_fds) {
      result.truncated = true;
      break;
    }
    std::string fd_path = base + "/fd/" + entry->d_name;
    // stat follows the magic link to the open file without opening anything: a FIFO or a device the
    // process holds cannot block or be triggered here.
    struct stat st;
    if (::stat(fd_path.c_str(), &st) != 0 || !is_image_type(st.st_mode)) continue;
    OpenFile file;
    file.path = read_link(fd_path);
    file.fd = std::atoi(entry->d_name);
    file.device = st.st_dev;
    file.inode = st.st_ino;
    file.id = file_id(st);
    file.block_device = S_ISBLK(st.st_mode);
    file.size = static_cast<uint64_t>(st.st_size);
    if (auto info = try_read_text_file(base + "/fdinfo/" + entry->d_name)) {
      size_t at = info->find("flags:");
      if (at != std::string::npos)
        file.flags = static_cast<int>(std::strtol(info->c_str() + at + 6, nullptr, 8));
    }
    if (!file.path.empty()) result.files.push_back(std::move(file));
  }
  return result;
}

std::vector<OpenFile> open_regular_files(pid_t pid) {
  std::vector<OpenFile> files;
  for (auto& file : open_image_files(pid, SIZE_MAX).files)
    if (!file.block_device) files.push_back(std::move(file));
  return files;
}

CacheMode cache_mode_from_open_flags(int flags) {
  bool direct = flags & O_DIRECT;
  bool dsync = flags & O_DSYNC;
  if (direct) return dsync ? CacheMode::kDirectsync : CacheMode::kNone;
  return dsync ? CacheMode::kWritethrough : CacheMode::kWriteback;
}

bool looks_like_disk_image(const OpenFile& file) {
  if (file.size < (1u << 20) || file.path.empty() || file.path[0] != '/') return false;
  if (file.path.size() > 10 && file.path.compare(file.path.size() - 10, 10, " (deleted)") == 0)
    return false;
  for (const char* prefix : {"/usr/", "/lib", "/proc/", "/sys/", "/dev/", "/etc/", "/var/log/",
                             "/memfd:", "/run/libvirt/", "/var/lib/libvirt/qemu/nvram"})
    if (file.path.rfind(prefix, 0) == 0) return false;
  if (file.path.find(".so") != std::string::npos) return false;
  return true;
}

std::string detect_image_format(const std::string& path) {
  struct stat st {};
  try {
    UniqueFd fd = open_image(path, st);
    return detect_image_format(fd.get());
  } catch (const Error&) {
    return "";
  }
}

std::string detect_image_format(int fd) {
  unsigned char magic[8] = {};
  if (::pread(fd, magic, sizeof magic, 0) < 4) return "raw";
  if (std::memcmp(magic, "QFI\xfb", 4) == 0) return "qcow2";
  if (std::memcmp(magic, "KDMV", 4) == 0) return "vmdk";
  if (std::memcmp(magic, "QED\0", 4) == 0) return "qed";
  if (std::memcmp(magic, "vhdxfile", 8) == 0) return "vhdx";
  unsigned char vdi[4];
  if (::pread(fd, vdi, 4, 0x40) == 4 && vdi[0] == 0x7f && vdi[1] == 0x10 && vdi[2] == 0xda &&
      vdi[3] == 0xbe)
    return "vdi";
  return "raw";
}

}  // namespace singleton
