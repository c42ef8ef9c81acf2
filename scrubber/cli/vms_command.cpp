#include "scrubber/cli/vms_command.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "scrubber/config/vm_selection_options.hpp"
#include "scrubber/pagecache/host_cache_usage.hpp"
#include "scrubber/pass/vm_selection.hpp"
#include "snapshot/base/error.hpp"
#include "snapshot/discovery/held_disks.hpp"

namespace singleton {
namespace {

struct DiskRow {
  const VmDisk* disk;
  std::optional<uint64_t> host_cached_bytes;
};

struct VmRow {
  const Vm* vm;
  uint64_t ram_bytes = 0;
  std::optional<uint64_t> resident_bytes;
  std::vector<DiskRow> disks;
};

VmRow measure(const Vm& vm, RegionSelection selection, std::vector<DiscoveryProblem>& problems) {
  VmRow row{&vm, vm.ram_bytes, std::nullopt, {}};
  try {
    uint64_t resident = 0;
    uint64_t mapped = 0;
    for (const auto& region : select_regions(read_smaps(vm.pid), selection)) {
      resident += region.rss_bytes;
      mapped += region.size();
    }
    row.resident_bytes = resident;
    if (row.ram_bytes == 0) row.ram_bytes = mapped;  // explicit VMs: what is mapped as RAM
  } catch (const Error& e) {
    problems.push_back({vm.pid, describe_vm(vm) + ": " + e.what(), e.code(), false});
  }
  for (const auto& disk : vm.disks) {
    DiskRow disk_row{&disk, std::nullopt};
    try {
      disk_row.host_cached_bytes = host_cache_usage(disk.path).cached_bytes;
    } catch (const Error& e) {
      problems.push_back({vm.pid, describe_vm(vm) + ": " + e.what(), e.code(), false});
    }
    row.disks.push_back(disk_row);
  }
  return row;
}

std::string mib(std::optional<uint64_t> bytes) {
  if (!bytes) return "?";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", static_cast<double>(*bytes) / (1 << 20));
  return text;
}

void print_table(const std::vector<VmRow>& rows, std::ostream& out) {
  char line[512];
  std::snprintf(line, sizeof line, "%-24s %8s %-9s %10s %12s  %s\n", "NAME", "PID", "SOURCE",
                "RAM MiB", "RESIDENT MiB", "DISKS");
  out << line;
  for (const auto& row : rows) {
    std::snprintf(line, sizeof line, "%-24s %8d %-9s %10s %12s  %zu\n", row.vm->name.c_str(),
                  row.vm->pid, to_string(row.vm->source), mib(row.ram_bytes).c_str(),
                  mib(row.resident_bytes).c_str(), row.disks.size());
    out << line;
    for (const auto& disk : row.disks) {
      const VmDisk& d = *disk.disk;
      std::snprintf(line, sizeof line, "    %-48s %-6s %-12s %10s MiB cached%s\n", d.path.c_str(),
                    d.format.empty() ? "?" : d.format.c_str(), to_string(d.cache),
                    mib(disk.host_cached_bytes).c_str(),
                    uses_host_cache(d.cache) ? "" : "  (bypasses host cache: skipped)");
      out << line;
      for (const auto& backing : d.backing) out << "      backing: " << backing << "\n";
    }
  }
  if (rows.empty()) out << "(no VMs found)\n";
}

void print_json(const std::vector<VmRow>& rows, std::ostream& out) {
  boost::json::array vms;
  for (const auto& row : rows) {
    boost::json::array disks;
    for (const auto& disk : row.disks) {
      boost::json::array backing;
      for (const auto& path : disk.disk->backing) backing.emplace_back(path);
      boost::json::object d{{"path", disk.disk->path},
                            {"format", disk.disk->format},
                            {"cache", to_string(disk.disk->cache)},
                            {"bypasses_host_cache", !uses_host_cache(disk.disk->cache)},
                            {"backing", std::move(backing)}};
      if (disk.host_cached_bytes) {
        d["host_cached_bytes"] = *disk.host_cached_bytes;
      } else {
        d["host_cached_bytes"] = nullptr;
      }
      disks.emplace_back(std::move(d));
    }
    boost::json::object vm;
    vm["name"] = row.vm->name;
    vm["pid"] = row.vm->pid;
    vm["source"] = to_string(row.vm->source);
    vm["uuid"] = row.vm->uuid;
    vm["ram_bytes"] = row.ram_bytes;
    // null when the process's smaps could not be read (the error is on stderr).
    if (row.resident_bytes) {
      vm["resident_bytes"] = *row.resident_bytes;
    } else {
      vm["resident_bytes"] = nullptr;
    }
    vm["disks"] = std::move(disks);
    vms.emplace_back(std::move(vm));
  }
  out << boost::json::serialize(vms) << "\n";
}

}  // namespace

int run_vms_command(const VmsCommandOptions& options, std::ostream& out, std::ostream& err) {
  try {
    DiscoveryResult result = discover_vms(options.discovery);
    require_every_pattern_matches(options.vm_patterns, result.vms);
    std::vector<VmRow> rows;
    for (const auto& vm : result.vms) {
      if (!vm_name_selected(options.vm_patterns, vm.name)) continue;
      rows.push_back(measure(vm, options.regions, result.problems));
    }
    if (options.json) {
      print_json(rows, out);
    } else {
      print_table(rows, out);
    }
    for (const auto& problem : result.problems) {
      if (problem.debug) continue;  // processes of other users that look like QEMU
      err << "singleton vms: " << (problem.warning ? "warning: " : "error: ") << problem.message
          << "\n";
    }
    return static_cast<int>(result.exit_code());
  } catch (const Error& e) {
    err << "singleton vms: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    err << "singleton vms: " << e.what() << "\n";
    return static_cast<int>(ExitCode::kPartial);
  }
}

}  // namespace singleton
