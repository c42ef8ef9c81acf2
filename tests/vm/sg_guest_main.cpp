// sg-guest: the guest kit from the shell (demo, bench, module tests). See tests/vm/README.md.
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "tests/vm/guest.hpp"

using namespace singleton::guestkit;

namespace {

constexpr int kExitTimeout = 124;
constexpr int kExitKitError = 125;

// SIGTERM/SIGINT: kill the guest (also a libvirt domain, which would outlive us) and exit.
volatile std::sig_atomic_t g_stop = 0;
void on_stop_signal(int) { g_stop = 1; }

[[noreturn]] void usage(const std::string& error) {
  std::cerr << "sg-guest: " << error << "\n"
            << "usage: sg-guest run --script FILE [--kernel 6.1|6.12] [--mem MIB] [--smp N] [--timeout SEC]\n"
               "         [--disk PATH[,format=raw|qcow2][,cache=MODE][,serial=NAME][,ro]]...\n"
               "         [--payload DIR] [--libvirt] [--name NAME] [--console FILE]\n"
               "         [--on-wait NAME=HOST_COMMAND]...\n";
  std::exit(kExitKitError);
}

GuestDisk parse_disk(const std::string& spec) {
  GuestDisk d;
  std::stringstream ss(spec);
  std::string part;
  std::getline(ss, d.path, ',');
  while (std::getline(ss, part, ',')) {
    auto eq = part.find('=');
    std::string key = part.substr(0, eq), value = eq == std::string::npos ? "" : part.substr(eq + 1);
    if (key == "format") d.format = value;
    else if (key == "cache") d.cache = value;
    else if (key == "serial") d.serial = value;
    else if (key == "ro") d.readonly = true;
    else usage("unknown disk option '" + key + "' in " + spec);
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) != "run") usage("the only command is `run`");
  GuestOptions opt;
  std::string script_path, console_copy;
  std::vector<std::pair<std::string, std::string>> on_wait;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--script") script_path = value();
    else if (a == "--kernel") opt.kernel_line = value();
    else if (a == "--mem") opt.mem_mib = std::atoi(value().c_str());
    else if (a == "--smp") opt.cpus = std::atoi(value().c_str());
    else if (a == "--timeout") opt.timeout = std::chrono::seconds(std::atoi(value().c_str()));
    else if (a == "--disk") opt.disks.push_back(parse_disk(value()));
    else if (a == "--payload") opt.payload_dir = value();
    else if (a == "--libvirt") opt.libvirt = true;
    else if (a == "--name") opt.name = value();
    else if (a == "--console") console_copy = value();
    else if (a == "--on-wait") {
      std::string v = value();
      auto eq = v.find('=');
      if (eq == std::string::npos) usage("--on-wait wants NAME=COMMAND");
      on_wait.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else usage("unknown argument " + a);
  }
  if (script_path.empty()) usage("--script is required");
  std::ifstream in(script_path);
  if (!in) usage("cannot read script " + script_path);
  std::stringstream ss;
  ss << in.rdbuf();
  opt.script = ss.str();

  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
  std::unique_ptr<LibvirtDaemon> daemon;
  int rc = kExitKitError;
  std::unique_ptr<Guest> guest;
  try {
    if (opt.libvirt) daemon = std::make_unique<LibvirtDaemon>();
    guest = std::make_unique<Guest>(opt);
    auto deadline = std::chrono::steady_clock::now() + opt.timeout;
    size_t handled = 0;
    // Serve sg_wait pauses until the script ends; Guest::wait() then collects the result.
    while (std::chrono::steady_clock::now() < deadline && guest->running()) {
      if (g_stop) {
        guest->kill();
        std::cerr << "sg-guest: stopped by a signal, guest killed\n";
        return 143;
      }
      auto m = parse_console(guest->console());
      for (; handled < m.waits.size(); ++handled) {
        const std::string& name = m.waits[handled];
        for (const auto& [wait_name, command] : on_wait) {
          if (wait_name != name) continue;
          setenv("SG_QEMU_PID", std::to_string(guest->qemu_pid()).c_str(), 1);
          setenv("SG_WAIT", name.c_str(), 1);
          int status = std::system(command.c_str());
          if (status != 0) {
            std::cerr << "sg-guest: host command for " << name << " failed (status " << status
                      << "): " << command << "\n";
            rc = 1;
          }
        }
        guest->resume(name);
      }
      if (m.end_rc) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    GuestResult result = guest->wait();
    std::cout << result.output << std::flush;
    if (rc != 1) rc = result.rc;
  } catch (const GuestTimeout& e) {
    std::cerr << "sg-guest: " << e.what() << "\n";
    rc = kExitTimeout;
  } catch (const std::exception& e) {
    std::cerr << "sg-guest: " << e.what() << "\n";
    rc = kExitKitError;
  }
  if (!console_copy.empty() && guest) std::ofstream(console_copy) << guest->console();
  return rc;
}
