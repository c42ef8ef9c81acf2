#include "scrubber/cli/advise_command.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "scrubber/advise/advice.hpp"
#include "scrubber/advise/trace_reader.hpp"
#include "scrubber/config/cli_text.hpp"
#include "scrubber/config/command_line.hpp"
#include "scrubber/config/numeric_option.hpp"
#include "scrubber/pressure/pressure_gauge.hpp"
#include "snapshot/base/error.hpp"

namespace po = boost::program_options;

namespace singleton {
namespace {

constexpr uint64_t kBlocksPerMib = 256;
constexpr uint64_t kBlockBytes = 4096;
constexpr CountRange kCacheMib{0, uint64_t{1} << 30, "MiB"};
constexpr CountRange kGuestMib{1, uint64_t{1} << 30, "MiB"};
constexpr RealRange kWarmupPercent{0, 90, "%"};
constexpr CountRange kStepMib{1, uint64_t{1} << 20, "MiB"};
constexpr CountRange kHeadroomMib{0, uint64_t{1} << 30, "MiB"};
// The steps compared when no --evict-step is given: watch's default (16) and around it, up to
// a quarter of the host cache (a larger step leaves that much of the cache empty); watch's
// default always.
constexpr uint64_t kDefaultStepsMib[] = {1, 4, 16, 64};

// The host page cache now (/proc/meminfo Cached), in MiB; 0 where it cannot be read.
uint64_t host_cached_mib() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "Cached:") return kib / 1024;
  }
  return 0;
}

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string mib(double blocks) { return fixed(blocks / kBlocksPerMib, 1); }

// What the reader of the numbers must know (printed, and in the JSON).
std::vector<std::string> assumptions(const advise::Trace& trace, bool guests_given,
                                     const std::string& host_source, double warmup_percent) {
  std::vector<std::string> a{
      "The trace holds the guests' misses (what QEMU read and wrote), not their hits: every "
      "record is a guest miss, guest hit ratios are unknown and not shown, and 'per 1,000' "
      "means per 1,000 guest misses. The replay models the host cache under that miss stream.",
      guests_given ? "Guest cache sizes are the --guest-cache-mib given."
                   : "Each guest's cache size is inferred from the trace: the 1st percentile of "
                     "the number of its misses between two misses of one block (a block read "
                     "again had left the cache); a guest that read no block twice is given its "
                     "distinct blocks. Give --guest-cache-mib when you know better.",
      "The host cache is one LRU bounded at " + host_source +
          "; readahead, large folios, dirty pages and other files' cache are not modelled.",
      "The first " + fixed(warmup_percent, 0) + "% of the records only warm the caches and are not counted.",
      "eager:1 evicts at once (singleton watch with the bpf tracker evicts ~40 ms after the "
      "read); the scrub row evicts every 60 s at the trace's own rate.",
      "pressure:ORDER:STEP:HEADROOM (blocks of 4 KiB) is watch --evict-when pressure: when the "
      "host cache comes within HEADROOM of its bound, STEP of the duplicates go, newest or "
      "oldest first; the kernel's LRU takes host-only blocks only when no duplicate is left. "
      "Pressure here is the host cache's bound only (not PSI or MemAvailable).",
  };
  if (trace.writes > 0)
    a.push_back("Writes go to the host cache (cache=writeback) and to the guest, without a device read.");
  return a;
}

}  // namespace

int run_advise_command(const std::vector<std::string>& args) {
  po::options_description options(
      "Usage: singleton advise --trace FILE [--json] [--host-cache-mib N] [--guest-cache-mib N]\n"
      "Replays FILE, the JSON lines of `singleton trace`, through a model of the guests' and the\n"
      "host's page caches under each policy singleton (or QEMU's cache=) offers, and prints per\n"
      "policy the expected host hit ratio, device reads per 1,000 guest misses and host cache\n"
      "size, then which policy to run. The assumptions of the model are printed with them.\n"
      "Options");
  std::string trace_path, shared_policy = "all";
  uint64_t host_mib = 0, guest_mib = 0;
  double warmup_percent = 20;
  uint64_t step_mib = 0, headroom_mib = 0;
  options.add_options()("help,h", "this help")(
      "trace", po::value(&trace_path), "the trace (JSON lines of singleton trace)")(
      "json", "one JSON object on stdout instead of the table")(
      "host-cache-mib", count_option("--host-cache-mib", &host_mib, kCacheMib),
      "host page cache bound (default: the page cache now, /proc/meminfo Cached)")(
      "guest-cache-mib", count_option("--guest-cache-mib", &guest_mib, kGuestMib),
      "every guest's page cache (default: inferred from the trace)")(
      "shared-policy", po::value(&shared_policy), "all|any, as for scrub and watch (default all)")(
      "warmup-percent", real_option("--warmup-percent", &warmup_percent, kWarmupPercent),
      "records that only warm the caches (default 20)")(
      "evict-step", count_option("--evict-step", &step_mib, kStepMib),
      "MiB: the pressure policy's step to model (default: compare 1, 4, 16 and 64 up to a "
      "quarter of the host cache)")(
      "headroom-mib", count_option("--headroom-mib", &headroom_mib, kHeadroomMib),
      "MiB: the pressure policy's headroom (default max(16, 5% of the host cache), as watch's "
      "--pressure-headroom auto)");
  const po::variables_map vm = parse_command_line(args, options, "advise");
  if (vm.count("help")) {
    std::cout << options << "\n" << kExitCodesHelp;
    return 0;
  }
  if (trace_path.empty()) throw Error(ExitCode::kUsage, "advise: no --trace FILE given (see singleton advise --help)");
  if (shared_policy != "all" && shared_policy != "any")
    throw Error(ExitCode::kUsage, "advise: --shared-policy is all or any");
  std::ifstream in(trace_path);
  if (!in) throw Error(ExitCode::kUsage, "advise: cannot read " + trace_path + ": " + std::strerror(errno));
  const advise::Trace trace = advise::read_trace(in, trace_path);
  if (trace.records.empty()) throw Error(ExitCode::kUsage, "advise: " + trace_path + " holds no trace records");

  advise::AdviceInput input;
  const bool host_given = vm.count("host-cache-mib") != 0;
  if (!host_given) host_mib = host_cached_mib();
  input.host_blocks = host_mib * kBlocksPerMib;
  input.guest_blocks = vm.count("guest-cache-mib")
                           ? std::vector<uint64_t>(trace.vms.size(), guest_mib * kBlocksPerMib)
                           : advise::infer_guest_blocks(trace);
  input.rule = shared_policy == "all" ? advise::SharedRule::kAll : advise::SharedRule::kAny;
  input.warmup = warmup_percent / 100;
  if (vm.count("evict-step")) {
    input.evict_steps = {step_mib * kBlocksPerMib};
  } else {
    input.evict_steps.clear();
    const uint64_t watch_step_mib = PressureSettings{}.step_bytes >> 20;
    for (const uint64_t s : kDefaultStepsMib)
      if (s == watch_step_mib || s * 4 <= host_mib) input.evict_steps.push_back(s * kBlocksPerMib);
  }
  input.headroom = vm.count("headroom-mib")
                       ? headroom_mib * kBlocksPerMib
                       : auto_headroom_bytes(host_mib << 20) / kBlockBytes;
  const advise::Advice advice = advise::advise(trace, input);
  const std::string host_source = std::to_string(host_mib) + " MiB" +
                                  (host_given ? " (--host-cache-mib)" : " (the host's page cache now, /proc/meminfo Cached)");
  const std::vector<std::string> notes =
      assumptions(trace, vm.count("guest-cache-mib") != 0, host_source, warmup_percent);
  const double span = trace.records.back().t - trace.records.front().t;
  const advise::PolicyOutcome& best = advice.outcomes[advice.best];

  if (vm.count("json")) {
    boost::json::array vms, policies, notes_json;
    for (size_t v = 0; v < trace.vms.size(); ++v)
      vms.push_back(boost::json::object{{"vm", trace.vms[v]}, {"guest_cache_mib", static_cast<double>(input.guest_blocks[v]) / kBlocksPerMib}});
    for (const advise::PolicyOutcome& o : advice.outcomes)
      policies.push_back(boost::json::object{
          {"policy", o.policy.name()}, {"what", o.meaning}, {"runnable", o.runnable},
          {"host_hit_ratio", o.summary.host_hit}, {"served_without_device", o.summary.system_hit},
          {"device_reads_per_1000", o.summary.device_reads_per_1000},
          {"host_cache_mib_mean", o.summary.host_mean_blocks / kBlocksPerMib},
          {"duplicated_share", o.summary.duplicate_share},
          {"counted_misses", o.counters.accesses}});
    for (const std::string& n : notes) notes_json.push_back(boost::json::string(n));
    const boost::json::object out{
        {"trace", boost::json::object{{"file", trace_path}, {"records", trace.records.size()},
                                      {"writes", trace.writes}, {"seconds", span},
                                      {"images", trace.images.size()}}},
        {"host_cache_mib", host_mib}, {"vms", vms}, {"policies", policies},
        {"advice", boost::json::object{{"policy", best.policy.name()}, {"settings", advice.settings},
                                       {"why", advice.why}}},
        {"assumptions", notes_json}};
    std::cout << boost::json::serialize(out) << "\n";
    return 0;
  }
  std::cout << "Trace " << trace_path << ": " << trace.records.size() << " guest misses ("
            << trace.writes << " writes) of " << trace.vms.size() << " VM(s) on "
            << trace.images.size() << " image(s) over " << fixed(span, 3) << " s\n"
            << "Host page cache: " << host_source << "\nGuest page caches:";
  for (size_t v = 0; v < trace.vms.size(); ++v)
    std::cout << " " << trace.vms[v] << " " << mib(static_cast<double>(input.guest_blocks[v])) << " MiB";
  std::cout << "\n\npolicy | what | host hit | served without device | device reads/1000 | "
               "host cache MiB | duplicated\n---|---|---|---|---|---|---\n";
  for (const advise::PolicyOutcome& o : advice.outcomes)
    std::cout << o.policy.name() << " | " << o.meaning << " | " << fixed(o.summary.host_hit, 3) << " | "
              << fixed(o.summary.system_hit, 3) << " | " << fixed(o.summary.device_reads_per_1000, 1)
              << " | " << mib(o.summary.host_mean_blocks) << " | " << fixed(o.summary.duplicate_share, 3) << "\n";
  std::cout << "\nAdvice: " << advice.settings << " (" << best.policy.name() << "): " << advice.why << ".\n";
  for (const advise::PolicyOutcome& o : advice.outcomes)
    if (o.policy.kind == advise::PolicyKind::kDemote)
      std::cout << "No host policy can do better than demote's " << fixed(o.summary.device_reads_per_1000, 1)
                << " device reads per 1,000 misses here (a bound: nothing tells the host what a guest drops).\n";
  std::cout << "\nAssumptions:\n";
  for (const std::string& n : notes) std::cout << "- " << n << "\n";
  return 0;
}

}  // namespace singleton
