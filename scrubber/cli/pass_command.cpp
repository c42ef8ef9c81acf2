#include "scrubber/cli/pass_command.hpp"

#include <unistd.h>

#include <boost/program_options.hpp>
#include <iostream>
#include <optional>

#include "scrubber/config/cli_text.hpp"
#include "scrubber/config/command_line.hpp"
#include "scrubber/config/numeric_option.hpp"
#include "scrubber/pressure/pressure_options.hpp"
#include "scrubber/pagecache/eviction_audit.hpp"
#include "scrubber/pagecache/kmod_process_pages.hpp"
#include "scrubber/metrics/pass_textfile.hpp"
#include "scrubber/pagecache/page_cache_view.hpp"
#include "scrubber/pass/pass_lock.hpp"
#include "scrubber/pass/pass_report_output.hpp"
#include "scrubber/cli/progress_line.hpp"
#include "scrubber/pass/pass_engine.hpp"
#include "scrubber/pass/vm_selection.hpp"
#include "snapshot/base/capabilities.hpp"
#include "snapshot/base/error.hpp"
#include "snapshot/base/page_size.hpp"
#include "snapshot/memory/smaps.hpp"

namespace singleton {
namespace po = boost::program_options;

namespace {

std::string progress_text(const PassProgress& p) {
  return p.stage + " " + std::to_string(p.item) + "/" + std::to_string(p.items) + " " + p.what +
         ": " + std::to_string(p.pages * kPageBytes >> 20) + " MiB";
}

}  // namespace

int run_pass_command(bool evict, const std::vector<std::string>& args) {
  const char* name = evict ? "scrub" : "scan";
  po::options_description options(std::string("Usage: singleton ") + name + " [options]\n" +
                                  (evict
                                       ? "Evicts the host page-cache pages of VM disk images "
                                         "that the guests already hold (one pass, for cron).\n"
                                       : "Dry run: shows what `singleton scrub` would evict; "
                                         "adds nothing to and removes nothing from the cache.\n") +
                                  "Options");
  VmSelectionOptions selection;
  std::string backend = "auto";
  std::string shared = "all";
  uint64_t max_evict_mib = 0;
  std::string prometheus_file;
  std::string regions = "mergeable";
  std::string reader = "auto";
  std::string audit_file;
  options.add_options()("help,h", "this help")("json", "print the report as JSON");
  add_vm_selection_options(options, selection);
  options.add_options()(
      "backend", po::value(&backend)->default_value("auto"),
      "host cache view: auto|kmod|mincore (auto: kmod when loaded, else mincore)")(
      "shared-policy", po::value(&shared)->default_value("all"), "all|any: see below")(
      "max-evict", count_option("max-evict", &max_evict_mib, kMaxEvictMib),
      "evict at most this many MiB in this pass (1 to 1073741824)")(
      "snapshot-reader", po::value(&reader)->default_value("auto"),
      "how guest RAM is hashed: kmod (in place by the module: no copy, KSM pages stay merged), "
      "process_vm_readv (copied out), auto (kmod when the loaded module can)")(
      "regions", po::value(&regions)->default_value("mergeable"),
      "guest RAM is: mergeable (KSM-tracked VMAs, QEMU) | anon (VMMs that do not mark it)")(
      "prometheus", po::value(&prometheus_file),
      "after the pass, add its metrics to this node_exporter textfile (rewritten atomically)")(
      "audit", po::value(&audit_file),
      "append every range handed to the kernel for eviction to FILE (JSON lines)");
  PressureOptionValues pressure_values;
  if (evict) add_pressure_options(options, pressure_values, /*with_order=*/false);
  const po::variables_map vm = parse_command_line(args, options, name);
  if (vm.count("help")) {
    std::cout << options << "\n" << kSharedPolicyHelp << "\n" << kExitCodesHelp;
    return 0;
  }
  const BackendChoice choice = backend_choice_from_string(backend);
  PassOptions pass;
  pass.evict = evict;
  pass.shared_policy = shared_policy_from_string(shared);
  pass.snapshot.regions = region_selection_from_string(regions);
  if (reader != "auto" && reader != "kmod" && reader != "process_vm_readv") {
    throw Error(ExitCode::kUsage, "unknown --snapshot-reader '" + reader +
                                      "' (expected auto, kmod or process_vm_readv)");
  }
  if (vm.count("max-evict")) pass.max_evict_pages = max_evict_mib * (1 << 20) / kPageBytes;
  // --evict-when pressure (scrub): evicts only when memory is needed now, at most what is short
  // (one --evict-step); else the pass is a dry run that reports the duplicates it keeps.
  std::optional<PressureReading> need;
  if (evict) {
    const PressureSettings settings = pressure_values.settings();
    if (settings.when == EvictWhen::kPressure) {
      need = PressureGauge(settings).read();
      pass.evict = need->needed;
      if (need->needed) {
        pass.max_evict_pages = std::min(pass.max_evict_pages, need->evict_bytes / kPageBytes);
      }
    }
  }
  require_capabilities(name, {kCapSysPtrace, kCapSysAdmin, kCapDacReadSearch});
  if (need) {
    std::cerr << "singleton: "
              << (need->needed ? "memory needed (" + need->reason + "): evicting up to " +
                                     std::to_string(need->evict_bytes >> 20) + " MiB"
                               : std::string("memory not needed: duplicates kept (a dry run)"))
              << "\n";
  }
  const PassLock lock;
  const VmSelection selected = select_vms(selection);
  for (const auto& warning : selected.warnings)
    std::cerr << "singleton: warning: " << warning << "\n";
  ChosenView view = make_page_cache_view(choice);
  // kmod: the module must hash in place (exit 3 when it cannot); auto: when it can.
  std::unique_ptr<InPlaceHasher> in_place;
  if (reader == "kmod") in_place = std::make_unique<KmodProcessPages>();
  if (reader == "auto") in_place = make_kmod_process_pages();
  pass.snapshot.in_place = in_place.get();
  std::optional<EvictionAudit> audit;
  if (!audit_file.empty()) {
    audit.emplace(audit_file);
    view.view->set_audit(&*audit);
  }

  ProgressLine progress(!vm.count("json"));
  pass.on_progress = [&](const PassProgress& p) { progress.show(progress_text(p)); };
  PassReport report = run_pass(*view.view, selected.vms, pass);
  report.discovery_errors = selected.errors;
  report.backend_note = view.note;
  progress.clear();

  if (vm.count("json")) {
    std::cout << boost::json::serialize(pass_report_json(report)) << "\n";
  } else {
    print_pass_table(report, std::cout);
  }
  if (!prometheus_file.empty()) add_pass_to_textfile(prometheus_file, report);
  for (const auto& error : report.discovery_errors) std::cerr << "singleton: " << error << "\n";
  for (const VmReport& v : report.vms) {
    if (!v.error.empty()) std::cerr << "singleton: " << v.error << "\n";
  }
  for (const ImageReport& image : report.images) {
    if (!image.error.empty())
      std::cerr << "singleton: " << image.path << ": " << image.error << "\n";
  }
  return static_cast<int>(report.exit_code());
}

}  // namespace singleton
