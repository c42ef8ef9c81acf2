#include "scrubber/cli/trace_command.hpp"

#include <signal.h>
#include <time.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <map>

#include "scrubber/config/cli_text.hpp"
#include "scrubber/config/command_line.hpp"
#include "scrubber/placement/placement_map.hpp"
#include "scrubber/placement/placement_tracer.hpp"
#include "snapshot/base/capabilities.hpp"
#include "snapshot/base/error.hpp"
#include "snapshot/base/proc_files.hpp"
#include "snapshot/discovery/qemu_cmdline.hpp"

namespace po = boost::program_options;

namespace singleton {
namespace {

constexpr NeededCapability kCapBpf{39, "CAP_BPF", "loads the placement tracer (BPF)"};
constexpr NeededCapability kCapPerfmon{38, "CAP_PERFMON",
                                       "attaches it to the sys_enter/sys_exit tracepoints"};

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::string vm_name(pid_t pid) {
  const auto argv = read_cmdline(pid, 1 << 20);
  if (is_qemu_command(argv)) {
    const std::string name = parse_qemu_cmdline(argv).name;
    if (!name.empty()) return name;
  }
  return "pid-" + std::to_string(pid);
}

}  // namespace

int run_trace_command(const std::vector<std::string>& args) {
  po::options_description options(
      "Usage: singleton trace --pid PID [--pid PID]... [--seconds N] [--json]\n"
      "Follows the QEMU processes PID with a BPF tracer of their positional disk reads and\n"
      "writes (pread64, preadv, preadv2, pwrite64, pwritev, pwritev2) and prints one JSON object\n"
      "per placed 4 KiB image page: {\"vm\",\"pid\",\"image\",\"page\",\"addr\",\"op\",\"t\"}\n"
      "(page: in 4 KiB units of the image file; addr: the QEMU virtual address, hex; t: seconds\n"
      "since the start). Only requests whose file offset and buffers are 4 KiB-aligned place\n"
      "pages. Runs until --seconds, SIGINT/SIGTERM, or every PID has exited. The counts (records,\n"
      "pages placed, unaligned bytes, dropped records) go to stderr at the end, or with --json as\n"
      "a last object {\"summary\":{...}} on stdout.\n"
      "Options");
  std::vector<int> pids;
  double seconds = 0;
  options.add_options()("help,h", "this help")(
      "pid", po::value(&pids)->composing(), "a QEMU process to follow (repeatable)")(
      "seconds", po::value(&seconds), "stop after N seconds (default: until a signal)")(
      "json", "end with the summary as a JSON object on stdout");
  const po::variables_map vm = parse_command_line(args, options, "trace");
  if (vm.count("help")) {
    std::cout << options << "\n" << kExitCodesHelp;
    return 0;
  }
  if (pids.empty()) throw Error(ExitCode::kUsage, "trace: no --pid given (see singleton trace --help)");
  if (vm.count("seconds") && !(seconds > 0))
    throw Error(ExitCode::kUsage, "trace: --seconds must be > 0");
  std::map<pid_t, std::string> names;
  for (int pid : pids) {
    if (pid <= 0 || !process_alive(pid))
      throw Error(ExitCode::kUsage, "trace: no process " + std::to_string(pid));
    names[pid] = vm_name(pid);
  }
  const bool json = vm.count("json") != 0;
  require_capabilities("trace", {kCapBpf, kCapPerfmon, kCapSysPtrace});

  PlacementTracer tracer;  // TracerUnavailable: exit 3 with the reason
  std::string followed;
  for (const auto& [pid, name] : names) {
    tracer.follow(pid);
    followed += (followed.empty() ? "" : ", ") + std::to_string(pid) + " (" + name + ")";
  }
  // From here on every completed read and write of these processes is recorded.
  std::cerr << "singleton trace: following " << followed << std::endl;

  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: the ring buffer's epoll_wait returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  const uint64_t start = monotonic_ns();
  const uint64_t end = seconds > 0 ? start + static_cast<uint64_t>(seconds * 1e9) : 0;
  PlacementMap map;
  FdResolver files;
  uint64_t last_alive_check = start;
  auto sink = [&](const PlacementRecord& record) {
    for (const PlacedPage& p : map.add(record, files)) {
      char addr[32];
      std::snprintf(addr, sizeof addr, "0x%" PRIx64, p.where.addr);
      const auto name = names.find(p.where.pid);
      boost::json::object o{
          {"vm", name != names.end() ? name->second : "pid-" + std::to_string(p.where.pid)},
          {"pid", p.where.pid},
          {"image", p.path},
          {"page", p.page},
          {"addr", addr},
          {"op", to_string(p.where.op)},
          {"t", p.where.time_ns > start ? static_cast<double>(p.where.time_ns - start) / 1e9 : 0.0}};
      std::cout << boost::json::serialize(o) << "\n";
    }
  };
  while (!g_stop) {
    const uint64_t now = monotonic_ns();
    if (end != 0 && now >= end) break;
    int wait_ms = 200;
    if (end != 0) wait_ms = static_cast<int>(std::min<uint64_t>(200, (end - now) / 1000000 + 1));
    tracer.poll(wait_ms, sink);
    if (now - last_alive_check > 1000000000ull) {
      last_alive_check = now;
      for (auto it = names.begin(); it != names.end();) {
        if (process_alive(it->first)) {
          ++it;
          continue;
        }
        tracer.unfollow(it->first);
        files.forget(it->first);
        it = names.erase(it);
      }
      if (names.empty()) break;
    }
  }
  tracer.poll(0, sink);  // what is already in the ring buffer
  std::cout.flush();

  const PlacementCounts& c = map.counts();
  const PlacementDrops d = tracer.drops();
  if (json) {
    boost::json::object s{{"records", c.records},
                          {"pages_placed", c.pages_placed},
                          {"distinct_pages", map.size()},
                          {"unaligned_bytes", c.unaligned_bytes},
                          {"truncated_bytes", c.truncated_bytes},
                          {"unresolved_records", c.unresolved_records},
                          {"dropped_records", d.total()},
                          {"dropped", boost::json::object{{"ringbuf_full", d.ringbuf_full},
                                                          {"iov_unreadable", d.iov_unreadable},
                                                          {"no_offset", d.no_offset},
                                                          {"args_full", d.args_full},
                                                          {"undecodable", d.undecodable}}}};
    std::cout << boost::json::serialize(boost::json::object{{"summary", s}}) << "\n";
  } else {
    std::cerr << "singleton trace: " << c.records << " records, " << c.pages_placed
              << " pages placed (" << map.size() << " distinct), " << c.unaligned_bytes
              << " unaligned bytes, " << c.truncated_bytes << " bytes beyond truncated iovecs, "
              << c.unresolved_records << " records of an fd reused since, " << d.total()
              << " records dropped (ring buffer full " << d.ringbuf_full << ", iovecs unreadable "
              << d.iov_unreadable << ", no offset " << d.no_offset << ", arguments map full "
              << d.args_full << ", undecodable " << d.undecodable << ")\n";
  }
  return 0;
}

}  // namespace singleton
