#include "scrubber/watch/watch_options.hpp"

#include <boost/program_options.hpp>
#include <filesystem>
#include <sstream>

#include "scrubber/config/cli_text.hpp"
#include "scrubber/config/config_file.hpp"
#include "scrubber/config/numeric_option.hpp"
#include "scrubber/metrics/metrics_http_server.hpp"
#include "scrubber/pressure/pressure_options.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace po = boost::program_options;

namespace {

// A notifier that turns our usage errors into program_options errors, so the config parser can
// report them with their line.
template <typename T, typename Check>
auto checked(Check check) {
  return [check](const T& value) {
    try {
      check(value);
    } catch (const Error& e) {
      throw po::error(e.what());
    }
  };
}

struct RawValues {
  std::string config;
  std::string backend = "auto";
  std::string shared = "all";
  std::string tracker = "auto";
  uint64_t max_evict_mib = 0;
  PressureOptionValues pressure;
};

}  // namespace

WatchCommandLine parse_watch_command_line(const std::vector<std::string>& args) {
  WatchCommandLine out;
  WatchOptions& o = out.options;
  RawValues raw;
  po::options_description desc(
      "Usage: singleton watch [options]\n"
      "Keeps the host page cache exclusive continuously: follows the guests' disk reads (the\n"
      "images' cachestat, the VMM's read counter), re-indexes a guest's memory when it read\n"
      "something, within a CPU budget, and evicts the new double-cached pages. VMs starting and\n"
      "stopping are picked up and dropped. SIGTERM/SIGINT: stop (exit 0); SIGHUP: reload the\n"
      "config file. Every long option below is also a key of the config file\n"
      "(/etc/singleton.conf: `key = value`, see singleton(8)); the command line wins.\n"
      "Options");
  desc.add_options()("help,h", "this help")(
      "config", po::value(&raw.config),
      "config file (default: /etc/singleton.conf when it exists)")(
      "once", po::bool_switch(&o.once),
      "one full pass over every VM, then exit (for cron and timers; exit code as scrub)")(
      "json", po::bool_switch(&o.json),
      "also print each pass's report on stdout, one JSON object per line (as scrub --json)");
  add_vm_selection_options(desc, o.selection);
  desc.add_options()(
      "backend",
      po::value(&raw.backend)
          ->default_value("auto")
          ->notifier(
              checked<std::string>([](const std::string& v) { backend_choice_from_string(v); })),
      "host cache view: auto|kmod|mincore")(
      "shared-policy",
      po::value(&raw.shared)
          ->default_value("all")
          ->notifier(
              checked<std::string>([](const std::string& v) { shared_policy_from_string(v); })),
      "all|any (see singleton scrub --help)")(
      "max-evict", count_option("max-evict", &raw.max_evict_mib, kMaxEvictMib),
      "evict at most this many MiB per pass (1 to 1073741824)")(
      "cpu-budget",
      real_option("cpu-budget", &o.cpu_budget_percent, {0.1, 100, "percent of one core"})
          ->default_value("10"),
      "average CPU use, percent of one core, 0.1 to 100 (raised x2/x4 under memory pressure)")(
      "interval",
      real_option("interval", &o.interval_seconds, {0.01, 60, "s"})->default_value("0.25"),
      "seconds between looks at the I/O triggers (0.01 to 60)")(
      "discover-interval",
      real_option("discover-interval", &o.discover_interval_seconds, {0.1, 3600, "s"})
          ->default_value("5"),
      "seconds between looks for VMs started or stopped (0.1 to 3600)")(
      "tracker",
      po::value(&raw.tracker)
          ->default_value("auto")
          ->notifier(
              checked<std::string>([](const std::string& v) { tracker_choice_from_string(v); })),
      "how guest reads are learnt: bpf (QEMU's pread/preadv seen by a BPF program: only the "
      "blocks read are hashed), scan (the guest's whole RAM re-indexed after it read), auto "
      "(bpf when it loads, else scan)")(
      "kernel-btf", po::value(&o.kernel_btf)->default_value("/sys/kernel/btf/vmlinux"),
      "the kernel's BTF, for the BPF tracker")(
      "merge-delay",
      real_option("merge-delay", &o.merge_delay_seconds, {0, 10, "s"})->default_value("0.01"),
      "bpf tracker: seconds placed blocks are gathered before they are looked at (0 to 10)")(
      "reconcile-interval",
      real_option("reconcile-interval", &o.reconcile_interval_seconds, {10, 86400, "s"})
          ->default_value("300"),
      "bpf tracker: seconds between full passes that catch what tracking missed (10 to 86400)");
  add_pressure_options(desc, raw.pressure, /*with_order=*/true);
  desc.add_options()(
      "prometheus", po::value(&o.prometheus_path),
      "write metrics in the node_exporter textfile format to FILE after each pass (atomically)")(
      "metrics-listen",
      po::value(&o.metrics_listen)->notifier(checked<std::string>([](const std::string& v) {
        check_loopback_listen_address(v);
      })),
      "serve GET /metrics on this loopback ADDR:PORT (e.g. 127.0.0.1:9477; PORT 0: any free "
      "one)")(
      "audit", po::value(&o.audit_path),
      "append every range handed to the kernel for eviction to FILE (JSON lines)")(
      "quiet,q", "errors only (no line per pass)")(
      "verbose,v", "also the triggers of each pass and discovery warnings");

  po::variables_map values;
  try {
    po::store(po::command_line_parser(args).options(desc).run(), values);
  } catch (const po::error& e) {
    throw Error(ExitCode::kUsage, std::string(e.what()) + " (see singleton watch --help)");
  }
  if (values.count("help")) {
    std::ostringstream text;
    text << desc << "\n" << kSharedPolicyHelp << "\n" << kExitCodesHelp;
    out.help = true;
    out.help_text = text.str();
    return out;
  }
  std::string config_path;
  if (values.count("config")) {
    config_path = values["config"].as<std::string>();
  } else if (std::filesystem::exists(default_config_path())) {
    config_path = default_config_path();
  }
  if (!config_path.empty()) {
    const auto entries = read_config_file(config_path, desc);
    store_config(entries, config_path, desc, values);
  }
  try {
    po::notify(values);
  } catch (const po::error& e) {
    throw Error(ExitCode::kUsage, std::string(e.what()) + " (see singleton watch --help)");
  }
  o.config_path = config_path;
  o.backend = backend_choice_from_string(raw.backend);
  o.shared_policy = shared_policy_from_string(raw.shared);
  o.tracker = tracker_choice_from_string(raw.tracker);
  o.pressure = raw.pressure.settings();
  if (values.count("max-evict")) o.max_evict_pages = raw.max_evict_mib * (1 << 20) / kPageBytes;
  if (values.count("quiet") && values.count("verbose")) {
    throw Error(ExitCode::kUsage, "--quiet and --verbose cannot be combined");
  }
  o.verbosity = values.count("quiet") ? 0 : values.count("verbose") ? 2 : 1;
  check_vm_selection(o.selection);
  return out;
}

}  // namespace singleton
