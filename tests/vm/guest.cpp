#include "tests/vm/guest.hpp"

#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace singleton::guestkit {
namespace {

using namespace std::chrono_literals;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&apos;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Runs argv to completion; throws GuestError with its output when it fails.
void run_checked(const std::vector<std::string>& argv) {
  std::string cmd;
  for (const auto& a : argv) cmd += "'" + a + "' ";
  cmd += "2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) throw GuestError("cannot run " + argv[0]);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  if (status != 0) throw GuestError(argv[0] + " failed: " + out);
}

std::string unique_name() {
  static std::atomic<int> counter{0};
  return "sg-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

void quiet_libvirt_errors(void*, virErrorPtr) {}

std::string libvirt_error(const std::string& what) {
  virErrorPtr e = virGetLastError();
  return what + ": " + (e && e->message ? e->message : "unknown libvirt error");
}

bool process_alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

pid_t read_pid_file(const std::string& path) {
  std::string text = trim(read_file(path));
  return text.empty() ? -1 : static_cast<pid_t>(std::atoi(text.c_str()));
}

}  // namespace

std::string kit_dir() {
  if (const char* env = std::getenv("SG_KIT_DIR"); env && *env) return env;
  return SG_DEFAULT_KIT_DIR;
}

std::string accelerator() {
  std::string accel = trim(read_file(kit_dir() + "/accel"));
  return accel.empty() ? "tcg" : accel;
}

ConsoleMarkers parse_console(const std::string& console) {
  ConsoleMarkers m;
  std::istringstream in(console);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto marker = line.find("@@SG-");
    if (marker == std::string::npos) {
      if (m.begun && !m.end_rc) m.output += line + "\n";
      continue;
    }
    std::string body = line.substr(marker + 5);
    auto close = body.find("@@");
    if (close == std::string::npos) continue;
    body = body.substr(0, close);
    if (body == "BEGIN") {
      m.begun = true;
    } else if (body.rfind("END rc=", 0) == 0) {
      m.end_rc = std::atoi(body.c_str() + 7);
    } else if (body.rfind("WAIT ", 0) == 0) {
      m.waits.push_back(body.substr(5));
    } else if (body.rfind("RESULT ", 0) == 0) {
      if (m.begun && !m.end_rc) m.output += line.substr(marker) + "\n";
      auto kv = body.substr(7);
      auto eq = kv.find('=');
      if (eq != std::string::npos) m.results[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  return m;
}

struct Guest::Libvirt {
  virConnectPtr conn = nullptr;
  virDomainPtr dom = nullptr;
  ~Libvirt() {
    if (dom) {
      virDomainDestroy(dom);
      virDomainFree(dom);
    }
    if (conn) virConnectClose(conn);
  }
};

Guest::Guest(GuestOptions options) : options_(std::move(options)) {
  if (options_.name.empty()) options_.name = unique_name();
  deadline_ = std::chrono::steady_clock::now() + options_.timeout;
  const std::string kernel_dir = kit_dir() + "/kernel-" + options_.kernel_line;
  if (!fs::exists(kernel_dir + "/vmlinuz") || !fs::exists(kernel_dir + "/initramfs.cpio.gz") ||
      !fs::exists(kit_dir() + "/tools.img")) {
    throw GuestError("guest kit not built in " + kit_dir() + " (kernel line " +
                     options_.kernel_line + "): run `make guest-kit`");
  }
  workdir_ = kit_dir() + "/run/" + options_.name;
  fs::remove_all(workdir_);
  fs::create_directories(workdir_);
  console_log_ = workdir_ + "/console.log";
  console_socket_ = workdir_ + "/console.sock";

  // The script travels on a small raw disk: the kernel command line is too short for real
  // scripts, and a disk works the same for QEMU and libvirt.
  {
    std::string script = options_.script;
    script.resize((script.size() / 4096 + 1) * 4096, '\0');
    std::ofstream(workdir_ + "/script.img", std::ios::binary) << script;
  }
  all_disks_.push_back({workdir_ + "/script.img", "raw", "writeback", "sg-script", true});
  all_disks_.push_back({kit_dir() + "/tools.img", "raw", "writeback", "sg-tools", true});
  if (!options_.payload_dir.empty()) {
    run_checked({SG_KIT_SOURCE_DIR "/make-image", "--dir", options_.payload_dir, "--out",
                 workdir_ + "/payload.img"});
    all_disks_.push_back({workdir_ + "/payload.img", "raw", "writeback", "sg-payload", true});
  }
  for (const auto& d : options_.disks) {
    if (!fs::exists(d.path)) throw GuestError("disk image " + d.path + " does not exist");
    if (!d.key_secret.empty() && options_.libvirt)
      throw GuestError("disk image " + d.path + ": encrypted disks are for plain QEMU only");
    all_disks_.push_back(d);
  }
  if (options_.libvirt) {
    start_libvirt();
  } else {
    start_qemu();
  }
}

Guest::~Guest() {
  kill();
  if (!std::getenv("SG_KEEP_GUESTS")) {
    std::error_code ec;
    fs::remove_all(workdir_, ec);
  }
}

std::vector<std::string> Guest::qemu_args() const {
  const std::string kernel_dir = kit_dir() + "/kernel-" + options_.kernel_line;
  const bool kvm = accelerator() == "kvm";
  // Several vCPUs under TCG: one thread runs them all. With multi-threaded TCG the 6.12 guest
  // kernel died at boot, twice in about twenty CI runs, on an int3 in sched_clock_cpu while
  // another vCPU patched that code (text_poke_bp: the int3 it plants was executed without the
  // patch in progress being seen); single-threaded TCG orders code patching and execution.
  const std::string accel = kvm ? "kvm" : options_.cpus > 1 ? "tcg,thread=single" : "tcg";
  std::vector<std::string> a = {
      "qemu-system-x86_64", "-name", options_.name, "-accel", accel,
      // TCG's default CPU lacks SSE4.2 and more; `max` gives the guest what TCG can emulate.
      "-cpu", kvm ? "host" : "max", "-M", "q35", "-m", std::to_string(options_.mem_mib),
      "-smp", std::to_string(options_.cpus), "-nodefaults", "-display", "none", "-no-reboot", "-kernel",
      kernel_dir + "/vmlinuz", "-initrd", kernel_dir + "/initramfs.cpio.gz", "-append",
      "console=ttyS0 quiet panic=-1", "-chardev",
      "socket,id=con0,path=" + console_socket_ + ",server=on,wait=off,logfile=" + console_log_,
      "-serial", "chardev:con0"};
  for (size_t i = 0; i < all_disks_.size(); ++i) {
    const auto& d = all_disks_[i];
    std::string id = "d" + std::to_string(i);
    std::string encryption;
    if (!d.key_secret.empty()) {
      a.push_back("-object");
      a.push_back("secret,id=" + id + "-key,data=" + d.key_secret);
      encryption = ",encrypt.key-secret=" + id + "-key";
    }
    a.push_back("-drive");
    a.push_back("file=" + d.path + ",format=" + d.format + ",if=none,id=" + id +
                ",cache=" + d.cache + (d.readonly ? ",readonly=on" : "") + encryption);
    a.push_back("-device");
    a.push_back("virtio-blk-pci,drive=" + id + (d.serial.empty() ? "" : ",serial=" + d.serial));
  }
  return a;
}

void Guest::start_qemu() {
  auto args = qemu_args();
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string log = workdir_ + "/qemu.log";
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw GuestError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // QEMU must not outlive a test that crashes or is killed by ctest's timeout.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (null >= 0) dup2(null, 0);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  child_pid_ = qemu_pid_ = pid;
  connect_console();
}

std::string Guest::domain_xml() const {
  const std::string kernel_dir = kit_dir() + "/kernel-" + options_.kernel_line;
  const bool kvm = accelerator() == "kvm";
  std::ostringstream x;
  x << "<domain type='" << (kvm ? "kvm" : "qemu") << "'>\n"
    << "  <name>" << xml_escape(options_.name) << "</name>\n"
    << "  <memory unit='MiB'>" << options_.mem_mib << "</memory>\n"
    << "  <vcpu>" << options_.cpus << "</vcpu>\n"
    << "  <os><type arch='x86_64' machine='q35'>hvm</type>\n"
    << "    <kernel>" << xml_escape(kernel_dir + "/vmlinuz") << "</kernel>\n"
    << "    <initrd>" << xml_escape(kernel_dir + "/initramfs.cpio.gz") << "</initrd>\n"
    << "    <cmdline>console=ttyS0 quiet panic=-1</cmdline></os>\n"
    << "  <features><acpi/></features>\n"
    << "  <cpu mode='" << (kvm ? "host-passthrough" : "maximum") << "'/>\n"
    << "  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot>"
    << "<on_crash>destroy</on_crash>\n"
    // QEMU as root without relabelling: the kit's files stay as they are.
    << "  <seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>\n"
    << "  <devices>\n";
  for (size_t i = 0; i < all_disks_.size(); ++i) {
    const auto& d = all_disks_[i];
    x << "    <disk type='file' device='disk'><driver name='qemu' type='" << d.format
      << "' cache='" << d.cache << "'/><source file='" << xml_escape(d.path)
      << "'/><target dev='vd" << static_cast<char>('a' + i) << "' bus='virtio'/>";
    if (!d.serial.empty()) x << "<serial>" << xml_escape(d.serial) << "</serial>";
    if (d.readonly) x << "<readonly/>";
    x << "</disk>\n";
  }
  x << "    <serial type='unix'><source mode='bind' path='" << xml_escape(console_socket_)
    << "'/><log file='" << xml_escape(console_log_)
    << "' append='off'/><target port='0'/></serial>\n"
    << "    <memballoon model='none'/>\n"
    << "  </devices>\n</domain>\n";
  return x.str();
}

void Guest::start_libvirt() {
  virSetErrorFunc(nullptr, quiet_libvirt_errors);
  libvirt_ = std::make_unique<Libvirt>();
  libvirt_->conn = virConnectOpen("qemu:///system");
  if (!libvirt_->conn) throw GuestError(libvirt_error("connect qemu:///system"));
  const std::string xml = domain_xml();
  std::ofstream(workdir_ + "/domain.xml") << xml;
  libvirt_->dom = virDomainCreateXML(libvirt_->conn, xml.c_str(), 0);
  if (!libvirt_->dom) throw GuestError(libvirt_error("create domain " + options_.name));
  qemu_pid_ = read_pid_file("/run/libvirt/qemu/" + options_.name + ".pid");
  if (qemu_pid_ <= 0) throw GuestError("no QEMU pid for domain " + options_.name);
  connect_console();
}

void Guest::connect_console() {
  // QEMU creates the socket shortly after it starts; the log file records everything either
  // way, the socket is only for input (sg_wait).
  while (std::chrono::steady_clock::now() < deadline_) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, console_socket_.c_str(), sizeof(addr.sun_path) - 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      console_fd_ = fd;
      console_drain_ = std::thread([fd] {
        char buf[4096];
        while (read(fd, buf, sizeof buf) > 0) {
        }
      });
      return;
    }
    close(fd);
    if (qemu_exited()) throw GuestError("QEMU exited at start:\n" + read_file(workdir_ + "/qemu.log"));
    std::this_thread::sleep_for(20ms);
  }
  fail_timeout("console socket never appeared");
}

bool Guest::qemu_exited() {
  if (child_pid_ > 0) {
    int status;
    pid_t r = waitpid(child_pid_, &status, WNOHANG);
    if (r == child_pid_ || (r < 0 && errno == ECHILD)) {
      child_pid_ = -1;
      return true;
    }
    return false;
  }
  if (libvirt_ && libvirt_->dom) return virDomainIsActive(libvirt_->dom) != 1;
  return true;
}

bool Guest::running() { return !qemu_exited(); }

std::string Guest::console() const { return read_file(console_log_); }

std::string Guest::console_tail(int lines) const {
  std::string text = console();
  size_t pos = text.size();
  for (int i = 0; i <= lines && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) {
      pos = 0;
      break;
    }
  }
  return text.substr(pos);
}

void Guest::fail_timeout(const std::string& what) {
  std::string msg = "guest " + options_.name + ": " + what + " (timeout " +
                    std::to_string(options_.timeout.count()) + " s); console tail:\n" +
                    console_tail();
  kill();
  throw GuestTimeout(msg);
}

void Guest::wait_for_pause(const std::string& name) {
  while (true) {
    auto m = parse_console(console());
    for (const auto& w : m.waits)
      if (w == name) return;
    if (m.end_rc) throw GuestError("guest " + options_.name + " ended before sg_wait " + name +
                                   "; console tail:\n" + console_tail());
    if (qemu_exited()) throw GuestError("guest " + options_.name + " died before sg_wait " +
                                        name + "; console tail:\n" + console_tail());
    if (std::chrono::steady_clock::now() > deadline_) fail_timeout("no sg_wait " + name);
    std::this_thread::sleep_for(50ms);
  }
}

void Guest::resume(const std::string& name) {
  std::string line = "go " + name + "\n";
  if (console_fd_ < 0 || write(console_fd_, line.data(), line.size()) !=
                             static_cast<ssize_t>(line.size())) {
    throw GuestError("guest " + options_.name + ": cannot write to the console socket");
  }
}

GuestResult Guest::wait() {
  while (true) {
    auto m = parse_console(console());
    if (m.end_rc) {
      // The agent powers off right after its END marker.
      auto off_by = std::chrono::steady_clock::now() + 20s;
      while (!qemu_exited() && std::chrono::steady_clock::now() < off_by)
        std::this_thread::sleep_for(20ms);
      ended_ = true;
      return GuestResult{*m.end_rc, m.output, m.results};
    }
    if (qemu_exited())
      throw GuestError("guest " + options_.name + " stopped without finishing its script; "
                       "console tail:\n" + console_tail());
    if (std::chrono::steady_clock::now() > deadline_) fail_timeout("script did not finish");
    std::this_thread::sleep_for(50ms);
  }
}

void Guest::restart_timeout(std::chrono::seconds timeout) {
  options_.timeout = timeout;
  deadline_ = std::chrono::steady_clock::now() + timeout;
}

void Guest::kill() {
  if (console_fd_ >= 0) {
    shutdown(console_fd_, SHUT_RDWR);
    if (console_drain_.joinable()) console_drain_.join();
    close(console_fd_);
    console_fd_ = -1;
  }
  if (child_pid_ > 0) {
    ::kill(child_pid_, SIGKILL);
    waitpid(child_pid_, nullptr, 0);
    child_pid_ = -1;
  }
  libvirt_.reset();  // destroys the domain
}

LibvirtDaemon::LibvirtDaemon() {
  virSetErrorFunc(nullptr, quiet_libvirt_errors);
  auto try_connect = [] {
    virConnectPtr c = virConnectOpen("qemu:///system");
    if (c) virConnectClose(c);
    return c != nullptr;
  };
  if (try_connect()) return;
  auto start = [this](const char* daemon, const std::string& pidfile) {
    if (process_alive(read_pid_file(pidfile))) return;
    if (std::system((std::string(daemon) + " -d").c_str()) != 0)
      throw GuestError(std::string("cannot start ") + daemon + " (is libvirt-daemon-system installed?)");
    started_.push_back(pidfile);
  };
  start("virtlogd", "/run/virtlogd.pid");
  start("libvirtd", "/run/libvirtd.pid");
  for (int i = 0; i < 300; ++i) {
    if (try_connect()) return;
    std::this_thread::sleep_for(100ms);
  }
  throw GuestError("libvirtd started but qemu:///system does not answer");
}

LibvirtDaemon::~LibvirtDaemon() {
  if (started_.empty()) return;
  // Domains that are not ours may have appeared meanwhile (another test, an operator): a
  // daemon they depend on is left running, and we say so.
  if (virConnectPtr c = virConnectOpen("qemu:///system")) {
    const int active = virConnectNumOfDomains(c);
    virConnectClose(c);
    if (active > 0) {
      std::fprintf(stderr, "guestkit: leaving libvirtd running: %d domain(s) still active\n",
                   active);
      return;
    }
  }
  // Stop in reverse order: libvirtd before virtlogd.
  for (auto it = started_.rbegin(); it != started_.rend(); ++it) {
    pid_t pid = read_pid_file(*it);
    if (pid <= 0) continue;
    ::kill(pid, SIGTERM);
    for (int i = 0; i < 100 && process_alive(pid); ++i) std::this_thread::sleep_for(50ms);
    if (process_alive(pid)) ::kill(pid, SIGKILL);
  }
}

}  // namespace singleton::guestkit
