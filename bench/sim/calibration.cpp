#include "bench/sim/calibration.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <stdexcept>

#include "bench/sim/phases.hpp"
#include "scrubber/advise/cache_model.hpp"
#include "scrubber/pressure/pressure_gauge.hpp"

namespace singleton::sim {
namespace {

constexpr uint64_t kBlocksPerMib = 256;
constexpr uint64_t kBlockBytes = 4096;
constexpr double kAgreement = 0.05;

// Rates (all guests together) of the run in bench/README.md, for job lengths without a results
// folder: accesses = rate x runtime (12 s uniform, 8 s zipf and randrw, 6 s seqread).
struct JobDefault {
  const char* job;
  const char* workload;
  double iops;
  double seconds;
};
constexpr JobDefault kJobs[] = {{"randread-uniform", "uniform", 700, 12},
                                {"randread-zipf", "zipf", 1100, 8},
                                {"randrw", "uniform@0.3", 500, 8},
                                {"seqread", "seq", 40.0 * 256, 6}};  // 40 MiB/s throttle

const char* const kModes[] = {"writeback", "none", "none-bigger-guests", "scrub", "watch",
                              "watch-pressure"};

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> out;
  std::string cell;
  std::istringstream in(line);
  while (std::getline(in, cell, ',')) out.push_back(cell);
  if (!line.empty() && line.back() == ',') out.emplace_back();
  return out;
}

double cell(const std::vector<std::string>& row, const std::map<std::string, size_t>& col,
            const char* name, double fallback) {
  const auto it = col.find(name);
  if (it == col.end() || it->second >= row.size() || row[it->second].empty()) return fallback;
  char* end = nullptr;
  const double v = std::strtod(row[it->second].c_str(), &end);
  return *end == '\0' && std::isfinite(v) ? v : fallback;
}

double median(std::vector<double> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The mode as a policy. Times become accesses at the job's rate (`iops`, all guests).
advise::Policy policy_of(const std::string& mode, const ExperimentSizes& s, double iops,
                         uint64_t host_blocks) {
  if (mode == "writeback") return advise::parse_policy("inclusive");
  if (mode == "none" || mode == "none-bigger-guests") return advise::parse_policy(mode);
  advise::Policy p;
  if (mode == "scrub" || mode == "watch") {
    // scrub: a pass every --scrub-interval s; watch (bpf tracker): ~40 ms after the read.
    p.kind = advise::PolicyKind::kEager;
    const double seconds = mode == "scrub" ? s.scrub_interval : 0.04;
    p.period = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(seconds * iops)));
    return p;
  }
  // watch-pressure: --evict-step 64 MiB once within the headroom, max(16 MiB, 5% of the
  // limit), of the bound; the limit also holds the QEMUs' RAM (about guest-mem + 60 MiB each).
  p.kind = advise::PolicyKind::kPressure;
  p.order = advise::EvictOrder::kNewest;
  p.step = 64 * kBlocksPerMib;
  const double limit_blocks = static_cast<double>(host_blocks) + s.guests * (192.0 + 60.0) * kBlocksPerMib;
  p.headroom = auto_headroom_bytes(static_cast<uint64_t>(limit_blocks) * kBlockBytes) / kBlockBytes;
  return p;
}

// Whether the folder's rounds drew offsets of their own (it has round_seed; before that column
// fio replayed round 1's offsets in every round).
bool offsets_per_round(const std::vector<MeasuredRow>& measured) {
  return std::any_of(measured.begin(), measured.end(),
                     [](const MeasuredRow& m) { return m.round_seed >= 0; });
}

}  // namespace

std::vector<MeasuredRow> read_measured(const std::string& dir) {
  const std::string path = dir + "/results.csv";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(path + " is empty");
  std::map<std::string, size_t> col;
  const std::vector<std::string> header = split_csv(line);
  for (size_t i = 0; i < header.size(); ++i) col[header[i]] = i;
  for (const char* needed : {"variant", "job", "mode", "host_hit_ratio", "system_hit_ratio"})
    if (!col.count(needed)) throw std::runtime_error(path + " has no column " + needed);
  std::vector<MeasuredRow> rows;
  while (std::getline(in, line)) {
    const std::vector<std::string> r = split_csv(line);
    if (r.size() <= col["mode"]) continue;
    MeasuredRow m;
    m.variant = r[col["variant"]];
    m.job = r[col["job"]];
    m.mode = r[col["mode"]];
    m.host_hit = cell(r, col, "host_hit_ratio", -1);
    m.system_hit = cell(r, col, "system_hit_ratio", -1);
    m.iops = cell(r, col, "iops", 0);
    m.fio_read_mib = cell(r, col, "fio_read_mib", 0);
    m.fio_write_mib = cell(r, col, "fio_write_mib", 0);
    m.round_seed = cell(r, col, "round_seed", -1);
    m.run = static_cast<int>(cell(r, col, "run", 1));
    if (const auto it = col.find("fio_ios_per_guest"); it != col.end() && it->second < r.size()) {
      std::istringstream each(r[it->second]);
      std::string n;
      while (std::getline(each, n, ';')) m.ios_each.push_back(std::strtoull(n.c_str(), nullptr, 10));
    }
    rows.push_back(m);
  }
  return rows;
}

ExperimentSizes fitted(const ExperimentSizes& given, const std::vector<MeasuredRow>& measured) {
  ExperimentSizes s = given;
  // Not from a folder whose rounds replayed round 1's offsets: there the guests' later rounds
  // re-read what they hold, and the hit ratio says nothing of their size.
  if (!s.fit_guest_cache || !offsets_per_round(measured)) return s;
  std::vector<double> served;
  for (const MeasuredRow& m : measured)
    if (m.variant == "own" && m.mode == "none" && m.job == "randread-uniform" && m.system_hit >= 0)
      served.push_back(m.system_hit);
  if (served.empty()) return s;
  s.guest_cache_mib = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(median(served) * s.data_mib)));
  s.guest_cache_fitted = true;
  return s;
}

std::vector<CalibrationRow> calibrate(const ExperimentSizes& s, const std::vector<MeasuredRow>& measured) {
  std::vector<CalibrationRow> out;
  const bool have = !measured.empty();
  const bool per_round = s.offsets_per_round || offsets_per_round(measured);
  for (const std::string variant : {"own", "shared"}) {
    const bool shared = variant == "shared";
    const uint64_t host = (shared ? s.shared_host_cache_mib : s.host_cache_mib) * kBlocksPerMib;
    const uint64_t data = s.data_mib * kBlocksPerMib;
    for (const char* mode : kModes) {
      if (have && std::none_of(measured.begin(), measured.end(), [&](const MeasuredRow& m) {
            return m.variant == variant && m.mode == mode;
          }))
        continue;  // this mode did not run
      // Each job: its length in every round (as measured in that round: the jobs are
      // time-based, and a round that replays the offsets of the one before reads as far as it
      // is fast; else the default rate x runtime).
      struct Job {
        JobDefault d;
        std::vector<uint64_t> per_guest;           // per round: the mean over guests
        std::vector<std::vector<uint64_t>> each;  // per round: each guest's, when measured
        double iops;
        std::vector<MeasuredRow> rounds;
      };
      std::vector<Job> jobs;
      double rate_sum = 0;
      for (const JobDefault& d : kJobs) {
        if (shared && std::string(d.job) != "randread-uniform") continue;
        Job j{d, {}, {}, d.iops, {}};
        for (const MeasuredRow& m : measured)
          if (m.variant == variant && m.mode == mode && m.job == d.job) j.rounds.push_back(m);
        if (have && j.rounds.empty()) continue;
        std::vector<double> mib, iops;
        for (const MeasuredRow& m : j.rounds) {
          mib.push_back(m.fio_read_mib + m.fio_write_mib);
          iops.push_back(m.iops);
        }
        auto accesses = [&](double total_mib) {
          return std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(total_mib * kBlocksPerMib / s.guests)));
        };
        for (uint32_t round = 1; round <= s.runs; ++round) {
          double total_mib = d.iops * d.seconds / kBlocksPerMib;
          std::vector<uint64_t> each;
          if (!j.rounds.empty()) {
            total_mib = median(mib);
            for (const MeasuredRow& m : j.rounds)
              if (m.run == static_cast<int>(round)) {
                total_mib = m.fio_read_mib + m.fio_write_mib;
                if (m.ios_each.size() == s.guests && std::string(d.job) != "seqread") each = m.ios_each;
              }
          }
          j.per_guest.push_back(accesses(total_mib));
          j.each.push_back(each);
        }
        if (!j.rounds.empty() && median(iops) > 0) j.iops = median(iops);
        rate_sum += j.iops;
        jobs.push_back(j);
      }
      if (jobs.empty()) continue;
      const advise::Policy policy = policy_of(mode, s, rate_sum / static_cast<double>(jobs.size()), host);
      advise::Topology t = advise::Topology::uniform(s.guests, data, s.guest_cache_mib * kBlocksPerMib, host, shared);
      t.guest_lru = s.guest_lru;
      advise::CacheModel model(t, policy);
      std::vector<Phase> phases{Phase{"warm", {parse_workload("seq")}, data, s.seed, true}};
      for (uint32_t round = 0; round < s.runs; ++round)
        for (const Job& j : jobs) {
          std::string w = j.d.workload;
          if (w == "zipf") {
            std::ostringstream theta;
            theta << "zipf:" << s.zipf_theta;
            w = theta.str();
          }
          // Every job starts from its round's seed, the same in every guest; uniform and randrw
          // draw the same offsets from one seed, as fio does. Before the experiment set
          // randrepeat=0, fio ignored the seed: every round replayed round 1's offsets.
          const uint64_t seed = per_round ? s.seed + round : s.seed;
          WorkloadSpec spec = parse_workload(w);
          if (std::string(j.d.job) == "seqread") {
            // A fixed --seq-mib per guest, at the next region of the file every round
            // (bench/experiment/guests.py seq_offset_mib).
            const uint64_t span = std::max<uint64_t>(1, s.data_mib - s.seq_mib + 1);
            spec = parse_workload("loop:" + std::to_string(static_cast<double>(s.seq_mib) / s.data_mib));
            spec.first = static_cast<double>(round * s.seq_mib % span) / s.data_mib;
          }
          phases.push_back(Phase{j.d.job, {spec}, j.per_guest[round], seed, true, j.each[round]});
        }
      const auto counters = run_phases(model, phases, std::vector<uint64_t>(s.guests, data));
      for (size_t k = 0; k < jobs.size(); ++k) {
        std::vector<double> host_hit, system_hit;
        for (uint32_t round = 0; round < s.runs; ++round) {
          const advise::ModelSummary sum = advise::summarize(counters[1 + round * jobs.size() + k]);
          host_hit.push_back(sum.host_hit);
          system_hit.push_back(sum.system_hit);
        }
        std::vector<double> lengths(jobs[k].per_guest.begin(), jobs[k].per_guest.end());
        CalibrationRow row{variant, jobs[k].d.job, mode, policy.name(),
                           static_cast<uint64_t>(median(lengths)),
                           median(host_hit), median(system_hit), -1, -1};
        std::vector<double> mh, ms;
        for (const MeasuredRow& m : jobs[k].rounds) {
          if (m.host_hit >= 0) mh.push_back(m.host_hit);
          if (m.system_hit >= 0) ms.push_back(m.system_hit);
        }
        row.measured_host_hit = median(mh);
        row.measured_system_hit = median(ms);
        out.push_back(row);
      }
    }
  }
  return out;
}

void print_calibration(std::ostream& out, const ExperimentSizes& s,
                       const std::vector<CalibrationRow>& rows, bool measured) {
  auto f = [](double v) {
    if (v < 0) return std::string("n/a");
    std::ostringstream o;
    o << std::fixed << std::setprecision(3) << v;
    return o.str();
  };
  out << "Model of the fio experiment: " << s.guests << " guests, " << s.guest_cache_mib
      << " MiB guest page cache each"
      << (s.guest_cache_fitted ? " (fitted: cache=none's uniform hit ratio x the data)" : "") << ", " << s.data_mib << " MiB data each, host cache "
      << s.host_cache_mib << " MiB (shared: " << s.shared_host_cache_mib << " MiB), " << s.runs
      << " rounds after a sequential warm-up, zipf " << s.zipf_theta << ", same seed in every guest, "
      << (s.guest_lru == advise::GuestLru::kTwoList ? "active/inactive" : "LRU") << " guest caches\n\n";
  out << "variant | job | mode | policy | accesses/guest | host hit model | host hit measured | "
         "diff | system hit model | system hit measured | diff\n"
         "---|---|---|---|---|---|---|---|---|---|---\n";
  int compared = 0, agreed = 0;
  for (const CalibrationRow& r : rows) {
    const bool both = r.measured_host_hit >= 0 && r.measured_system_hit >= 0;
    const double dh = both ? r.model_host_hit - r.measured_host_hit : 0;
    const double ds = both ? r.model_system_hit - r.measured_system_hit : 0;
    out << r.variant << " | " << r.job << " | " << r.mode << " | " << r.policy << " | "
        << r.accesses_per_guest << " | " << f(r.model_host_hit) << " | " << f(r.measured_host_hit)
        << " | " << (both ? f(std::abs(dh)) : "") << " | " << f(r.model_system_hit) << " | "
        << f(r.measured_system_hit) << " | " << (both ? f(std::abs(ds)) : "") << "\n";
    if (both && r.job.rfind("randread", 0) == 0) {
      ++compared;
      agreed += std::abs(dh) <= kAgreement && std::abs(ds) <= kAgreement;
    }
  }
  if (!measured) {
    out << "\nNo measured table given (--calibrate DIR with a bench-results folder): model only,\n"
           "job lengths from the rates of the run in bench/README.md.\n";
    return;
  }
  out << "\nRandom-read rows within " << kAgreement << " of the measured host and system hit ratios: "
      << agreed << " of " << compared << "\n";
}

}  // namespace singleton::sim
