// sg-sim: the cache model (scrubber/advise) driven by synthetic workloads. Three uses:
//   sweep (default)   one setup, every policy (or --policies), per --workload
//   --orders          the pressure policy's question: newest vs oldest (and their step sizes)
//                     against inclusive, eager and demote, on four workloads, 1 VM and 8 VMs
//                     on a shared base
//   --calibrate [DIR] the fio experiment's setup, beside its measured results.csv when given
// Output: a Markdown table on stdout; with --out DIR also table.md, results.csv and plots.
#include <boost/program_options.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/sim/calibration.hpp"
#include "bench/sim/results.hpp"
#include "bench/sim/scenario.hpp"
#include "scrubber/advise/cache_policy.hpp"

namespace po = boost::program_options;
using namespace singleton;

namespace {

constexpr uint64_t kBlocksPerMib = 256;

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, sep))
    if (!part.empty()) parts.push_back(part);
  return parts;
}

std::vector<advise::Policy> policies_of(const std::string& list) {
  if (list.empty()) return advise::standard_policies();
  std::vector<advise::Policy> all;
  for (const std::string& name : split(list, ',')) all.push_back(advise::parse_policy(name));
  return all;
}

// The lead's question for --evict-when pressure's defaults (see README.md in this folder).
std::vector<sim::ResultRow> compare_orders(const sim::Scenario& base) {
  std::vector<std::string> names{"inclusive", "eager:1", "pressure:newest", "pressure:oldest", "demote"};
  const uint64_t headroom = 16 * kBlocksPerMib;  // --pressure-headroom's floor (16 MiB)
  for (uint64_t step_mib : {1, 16, 64})
    for (const char* order : {"newest", "oldest"})
      names.push_back(std::string("pressure:") + order + ":" + std::to_string(step_mib * kBlocksPerMib) +
                      ":" + std::to_string(headroom));
  std::vector<sim::ResultRow> rows;
  for (const char* workload : {"uniform", "zipf:0.8", "hotscan", "shifting"}) {
    for (const bool shared : {false, true}) {
      sim::Scenario s = base;
      s.vms = shared ? 8 : 1;
      s.shared = shared;
      s.name = shared ? "8vm-shared" : "1vm-own";
      s.workload = workload;
      for (const std::string& name : names) {
        rows.push_back(sim::run_scenario(s, advise::parse_policy(name)));
        std::cerr << "." << std::flush;
      }
    }
  }
  std::cerr << "\n";
  return rows;
}

void write_outputs(const std::string& dir, const std::vector<sim::ResultRow>& rows) {
  std::filesystem::create_directories(dir);
  sim::write_csv(dir + "/results.csv", rows);
  std::ofstream table(dir + "/table.md");
  sim::print_table(table, rows);
  std::cerr << sim::write_plots(dir, rows) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description options(
      "Usage: sg-sim [options]   (sizes in MiB of 4 KiB blocks; accesses per VM)\n"
      "Simulates N guests' page caches above one host page cache under each policy.\nOptions");
  uint32_t vms = 2;
  double guest_mib = 130, host_mib = 256, data_mib = 256;
  uint64_t accesses = 1000000, warmup = 0, seed = 20120618;
  std::string policies, out, calibrate_dir, shared_rule = "all", lru = "lru";
  std::vector<std::string> workloads;
  sim::ExperimentSizes sizes;
  options.add_options()("help,h", "this help")
      ("vms", po::value(&vms), "guests (default 2)")
      ("guest-mib", po::value(&guest_mib), "page cache of each guest (default 130)")
      ("host-mib", po::value(&host_mib), "host page cache bound (default 256)")
      ("data-mib", po::value(&data_mib), "each image (default 256)")
      ("shared", "one base image under every guest")
      ("shared-rule", po::value(&shared_rule), "all|any: when a shared block is a duplicate")
      ("guest-lru", po::value(&lru), "lru|two-list (Linux's active/inactive)")
      ("workload", po::value(&workloads)->composing(),
       "uniform, zipf:T, loop[:S], seq, hotscan[:H[:P]], shifting[:H[:P[:EVERY]]], NAME@WRITES, "
       "or a per-VM mixture A,B,C (repeatable: one sweep each; default uniform)")
      ("accesses", po::value(&accesses), "measured accesses per VM (default 1000000)")
      ("warmup", po::value(&warmup), "warm-up accesses per VM (default: as many as measured)")
      ("policies", po::value(&policies), "comma-separated (default: every policy)")
      ("seed", po::value(&seed), "random seed")
      ("same-seed", "every VM draws the same sequence (the fio experiment)")
      ("orders", "compare the pressure policy's orders and steps (sizes from the options)")
      ("calibrate", po::value(&calibrate_dir)->implicit_value(""),
       "the fio experiment's setup; DIR: its bench-results folder to compare with")
      ("guests", po::value(&sizes.guests), "--calibrate: the experiment's --guests (2)")
      ("shared-host-mib", po::value(&sizes.shared_host_cache_mib),
       "--calibrate: the experiment's --shared-host-cache-mib (128)")
      ("runs", po::value(&sizes.runs), "--calibrate: the experiment's --runs (3)")
      ("scrub-interval", po::value(&sizes.scrub_interval), "--calibrate: --scrub-interval (5)")
      ("zipf-theta", po::value(&sizes.zipf_theta), "--calibrate: --zipf-theta (0.8)")
      ("offsets-per-round", "--calibrate: every round drew offsets of its own (as results.csv's "
       "round_seed column says; before it, fio replayed round 1's)")
      ("out", po::value(&out), "also write table.md, results.csv and plots into this folder");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << options;
      return 0;
    }
    if (vm.count("calibrate")) {
      // The sweep's size options, when given, are the experiment's --guest-mem page cache,
      // --data-mib and --host-cache-mib.
      if (vm.count("guest-mib")) {
        sizes.guest_cache_mib = static_cast<uint64_t>(guest_mib);
        sizes.fit_guest_cache = false;
      }
      if (vm.count("data-mib")) sizes.data_mib = static_cast<uint64_t>(data_mib);
      if (vm.count("host-mib")) sizes.host_cache_mib = static_cast<uint64_t>(host_mib);
      if (vm.count("seed")) sizes.seed = seed;
      if (vm.count("guest-lru")) sizes.guest_lru = lru == "lru" ? advise::GuestLru::kLru : advise::GuestLru::kTwoList;
      if (vm.count("offsets-per-round")) sizes.offsets_per_round = true;
      std::vector<sim::MeasuredRow> measured;
      if (!calibrate_dir.empty()) measured = sim::read_measured(calibrate_dir);
      sizes = sim::fitted(sizes, measured);
      const auto rows = sim::calibrate(sizes, measured);
      sim::print_calibration(std::cout, sizes, rows, !measured.empty());
      if (!out.empty()) {
        std::filesystem::create_directories(out);
        std::ofstream f(out + "/calibration.md");
        sim::print_calibration(f, sizes, rows, !measured.empty());
      }
      return 0;
    }
    sim::Scenario base;
    base.vms = vms;
    base.shared = vm.count("shared") != 0;
    base.data_blocks = static_cast<uint64_t>(data_mib * kBlocksPerMib);
    base.guest_blocks = static_cast<uint64_t>(guest_mib * kBlocksPerMib);
    base.host_blocks = static_cast<uint64_t>(host_mib * kBlocksPerMib);
    if (lru != "lru" && lru != "two-list") throw std::invalid_argument("--guest-lru is lru or two-list");
    base.lru = lru == "lru" ? advise::GuestLru::kLru : advise::GuestLru::kTwoList;
    if (shared_rule != "all" && shared_rule != "any") throw std::invalid_argument("--shared-rule is all or any");
    base.rule = shared_rule == "all" ? advise::SharedRule::kAll : advise::SharedRule::kAny;
    base.accesses_per_vm = accesses;
    base.warmup_per_vm = vm.count("warmup") ? warmup : accesses;
    base.seed = seed;
    base.same_seed = vm.count("same-seed") != 0;
    std::vector<sim::ResultRow> rows;
    if (vm.count("orders")) {
      rows = compare_orders(base);
    } else {
      if (workloads.empty()) workloads.push_back("uniform");
      const auto list = policies_of(policies);
      for (const std::string& w : workloads) {
        sim::Scenario s = base;
        s.workload = w;
        s.name = std::to_string(s.vms) + "vm-" + (s.shared ? "shared" : "own");
        for (const advise::Policy& p : list) rows.push_back(sim::run_scenario(s, p));
      }
    }
    sim::print_table(std::cout, rows);
    if (!out.empty()) write_outputs(out, rows);
  } catch (const std::exception& e) {
    std::cerr << "sg-sim: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
