#include "scrubber/report/guestfs_session.hpp"

#include <guestfs.h>

#include <chrono>
#include <cstdlib>

#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

// libguestfs returns malloc'd strings and NULL-terminated lists of them.
std::string take(char* text) {
  std::string out = text != nullptr ? text : "";
  std::free(text);
  return out;
}

std::vector<std::string> take_list(char** list) {
  std::vector<std::string> out;
  if (list == nullptr) return out;
  for (char** p = list; *p != nullptr; ++p) {
    out.emplace_back(*p);
    std::free(*p);
  }
  std::free(list);
  return out;
}

guestfs_h* create_handle() {
  guestfs_h* g = guestfs_create();
  if (g == nullptr) throw Error(ExitCode::kPartial, "libguestfs: cannot create a handle");
  // Errors are read with guestfs_last_error and reported by us, not printed by libguestfs.
  guestfs_set_error_handler(g, nullptr, nullptr);
  return g;
}

// How the appliance's output is read back: libguestfs messages are limited to 4 MB.
constexpr size_t kChunkBytes = 1 << 20;

}  // namespace

bool GuestfsSession::launch(const std::string& drive, const std::string& format,
                            std::string& error) {
  if (guestfs_add_drive_opts(g_, drive.c_str(), GUESTFS_ADD_DRIVE_OPTS_FORMAT, format.c_str(),
                             GUESTFS_ADD_DRIVE_OPTS_READONLY, 1, -1) != 0) {
    error = guestfs_last_error(g_) ? guestfs_last_error(g_) : "add_drive failed";
    return false;
  }
  const auto start = std::chrono::steady_clock::now();
  const int rc = guestfs_launch(g_);
  launch_seconds_ +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (rc != 0) error = guestfs_last_error(g_) ? guestfs_last_error(g_) : "launch failed";
  return rc == 0;
}

GuestfsSession::GuestfsSession(const std::string& drive, const std::string& format) {
  g_ = create_handle();
  how_ = take(guestfs_get_backend(g_));
  std::string error;
  if (launch(drive, format, error)) return;
  // Already TCG (asked for, or no KVM at all): the failure is not the accelerator's.
  const std::vector<std::string> settings = take_list(guestfs_get_backend_settings(g_));
  bool forced = false;
  for (const std::string& s : settings) forced |= s == "force_tcg";
  if (forced) fail("launch: " + error);
  guestfs_close(g_);
  g_ = create_handle();
  guestfs_set_backend_setting(g_, "force_tcg", "");
  std::string second;
  if (!launch(drive, format, second))
    fail("launch: " + error + "; again with force_tcg: " + second);
  how_ += " (force_tcg: the first launch failed: " + error.substr(0, 200) + ")";
}

GuestfsSession::~GuestfsSession() {
  if (g_ != nullptr) {
    guestfs_shutdown(g_);
    guestfs_close(g_);
  }
}

void GuestfsSession::fail(const std::string& what) {
  throw Error(ExitCode::kPartial, "libguestfs: " + what);
}

std::vector<std::pair<std::string, std::string>> GuestfsSession::filesystems() {
  char** list = guestfs_list_filesystems(g_);
  if (list == nullptr) fail(std::string("list_filesystems: ") + guestfs_last_error(g_));
  const std::vector<std::string> flat = take_list(list);
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i + 1 < flat.size(); i += 2) out.emplace_back(flat[i], flat[i + 1]);
  return out;
}

void GuestfsSession::mount_ro(const std::string& device) {
  if (guestfs_mount_ro(g_, device.c_str(), "/") != 0)
    fail("mount_ro " + device + ": " + guestfs_last_error(g_));
}

void GuestfsSession::umount_all() {
  if (guestfs_umount_all(g_) != 0) fail(std::string("umount_all: ") + guestfs_last_error(g_));
}

std::string GuestfsSession::shell(const std::string& script) {
  // The script's output goes to a file in the appliance, read back a piece at a time.
  const std::string out = "/tmp/singleton-out", err = "/tmp/singleton-err";
  auto run = [&](const std::string& command) {
    const char* args[] = {command.c_str(), nullptr};
    char* text = guestfs_debug(g_, "sh", const_cast<char**>(args));
    if (text == nullptr) fail(std::string("debug sh: ") + guestfs_last_error(g_));
    return take(text);
  };
  const std::string rc = run("( " + script + " ) >" + out + " 2>" + err + "; echo $?");
  if (rc.empty() || rc.substr(0, rc.find('\n')) != "0") {
    fail("appliance command failed (exit " + rc.substr(0, rc.find('\n')) + "): " +
         run("head -c 2000 " + err).substr(0, 2000));
  }
  std::string text;
  for (size_t piece = 0;; ++piece) {
    const std::string part = run("dd if=" + out + " bs=" + std::to_string(kChunkBytes) +
                                 " skip=" + std::to_string(piece) + " count=1 2>/dev/null");
    text += part;
    if (part.size() < kChunkBytes) break;
  }
  return text;
}

}  // namespace singleton
