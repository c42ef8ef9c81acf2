#include "bench/sim/results.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>
#include <stdexcept>

namespace singleton::sim {
namespace {

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string file_name(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
  return s;
}

}  // namespace

void print_table(std::ostream& out, const std::vector<ResultRow>& rows) {
  out << "scenario | workload | policy | guest hit | host hit | system hit | device reads/1000 | "
         "host occupancy | dup share | M acc/s (CPU) | B/block\n"
         "---|---|---|---|---|---|---|---|---|---|---\n";
  for (const ResultRow& r : rows) {
    const double occupancy = r.host_blocks ? r.summary.host_mean_blocks / static_cast<double>(r.host_blocks) : 0;
    out << r.scenario << " | " << r.workload << " | " << r.policy << " | "
        << fixed(r.summary.guest_hit, 3) << " | " << fixed(r.summary.host_hit, 3) << " | "
        << fixed(r.summary.system_hit, 3) << " | " << fixed(r.summary.device_reads_per_1000, 1)
        << " | " << fixed(occupancy, 2) << " | " << fixed(r.summary.duplicate_share, 2) << " | "
        << fixed(r.seconds > 0 ? static_cast<double>(r.simulated) / r.seconds / 1e6 : 0, 1)
        << " | " << fixed(r.bytes_per_block, 1) << "\n";
  }
}

void write_csv(const std::string& path, const std::vector<ResultRow>& rows) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << "scenario,workload,policy,vms,shared,guest_blocks,host_blocks,data_blocks,guest_hit,"
         "host_hit,system_hit,device_reads_per_1000,host_mean_blocks,host_occupancy,"
         "duplicate_share,accesses,writes,guest_hits,host_hits,device_reads,readmit_reads,"
         "saved_drops,lru_evictions,duplicate_evictions,simulated,cpu_seconds,bytes_per_block\n";
  for (const ResultRow& r : rows) {
    const advise::ModelCounters& c = r.counters;
    const advise::ModelSummary& s = r.summary;
    out << r.scenario << ',' << r.workload << ',' << r.policy << ',' << r.vms << ','
        << (r.shared ? 1 : 0) << ',' << r.guest_blocks << ',' << r.host_blocks << ','
        << r.data_blocks << ',' << fixed(s.guest_hit, 5) << ',' << fixed(s.host_hit, 5) << ','
        << fixed(s.system_hit, 5) << ',' << fixed(s.device_reads_per_1000, 3) << ','
        << fixed(s.host_mean_blocks, 1) << ','
        << fixed(r.host_blocks ? s.host_mean_blocks / static_cast<double>(r.host_blocks) : 0, 4)
        << ',' << fixed(s.duplicate_share, 4) << ',' << c.accesses << ',' << c.writes << ','
        << c.guest_hits << ',' << c.host_hits << ',' << c.device_reads << ',' << c.readmit_reads
        << ',' << c.saved_drops << ',' << c.lru_evictions << ',' << c.duplicate_evictions << ','
        << r.simulated << ',' << fixed(r.seconds, 3) << ',' << fixed(r.bytes_per_block, 2) << '\n';
  }
}

std::string write_plots(const std::string& dir, const std::vector<ResultRow>& rows) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0)
    return "plots skipped: gnuplot is not installed";
  std::map<std::string, std::vector<const ResultRow*>> groups;
  for (const ResultRow& r : rows) groups[r.scenario + "-" + r.workload].push_back(&r);
  int drawn = 0;
  for (const auto& [key, group] : groups) {
    const std::string base = dir + "/" + file_name(key);
    {
      std::ofstream dat(base + ".dat");
      dat << "policy guest_hit host_hit system_hit device_reads_per_1000\n";
      for (const ResultRow* r : group)
        dat << '"' << r->policy << "\" " << r->summary.guest_hit << ' ' << r->summary.host_hit
            << ' ' << r->summary.system_hit << ' ' << r->summary.device_reads_per_1000 << '\n';
    }
    std::ofstream gp(base + ".gp");
    gp << "set terminal pngcairo size 1100,500\nset output '" << base << ".png'\n"
       << "set multiplot layout 1,2 title '" << key << "'\n"
       << "set style data histograms\nset style histogram clustered gap 1\n"
       << "set style fill solid border -1\nset xtics rotate by -40 scale 0\nset key top left\n"
       << "set yrange [0:1]\nset title 'hit ratios'\n"
       << "plot '" << base << ".dat' using 2:xtic(1) title 'guest', '' using 3 title 'host', "
       << "'' using 4 title 'system'\n"
       << "set yrange [0:*]\nset title 'device reads per 1,000 accesses'\n"
       << "plot '" << base << ".dat' using 5:xtic(1) notitle\nunset multiplot\n";
    gp.close();
    if (std::system(("gnuplot '" + base + ".gp' 2>/dev/null").c_str()) == 0) ++drawn;
  }
  return "plots: " + std::to_string(drawn) + " of " + std::to_string(groups.size()) +
         " figures in " + dir;
}

}  // namespace singleton::sim
