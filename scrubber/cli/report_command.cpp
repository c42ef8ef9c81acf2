#include "scrubber/cli/report_command.hpp"

#include <boost/program_options.hpp>
#include <iostream>

#include "scrubber/config/cli_text.hpp"
#include "scrubber/config/command_line.hpp"
#include "scrubber/config/numeric_option.hpp"
#include "scrubber/metrics/textfile.hpp"
#include "scrubber/pagecache/page_cache_view.hpp"
#include "scrubber/pass/vm_selection.hpp"
#include "scrubber/report/report_engine.hpp"
#include "scrubber/report/report_output.hpp"
#include "snapshot/base/capabilities.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace po = boost::program_options;

namespace {
// --top: files listed by name per image.
constexpr CountRange kTopFiles{1, 100000, "files"};
// --sample-every: one page in N goes into the compression sample.
constexpr CountRange kSampleEvery{1, 1000000, "pages"};
}  // namespace

int run_report_command(const std::vector<std::string>& args) {
  po::options_description options(
      "Usage: singleton report [options]\n"
      "Where the host's memory goes: per VM (resident, zero, duplicated, KSM-merged, disk\n"
      "blocks, compressibility) and per image (host-cached, double-cached, host-only), and with\n"
      "--explain which guest files those image pages are (libguestfs, read-only). A dry run:\n"
      "changes nothing, adds nothing to the host page cache.\n"
      "Options");
  VmSelectionOptions selection;
  std::string backend = "auto";
  std::string shared = "all";
  std::string regions = "mergeable";
  std::string prometheus_file;
  uint64_t top = 10;
  uint64_t sample_every = 100;
  options.add_options()("help,h", "this help")("json", "print the report as JSON");
  add_vm_selection_options(options, selection);
  options.add_options()(
      "explain", "map double-cached and host-only image pages to guest files (libguestfs)")(
      "top", count_option("top", &top, kTopFiles),
      "with --explain: files listed by name per image (default 10; the rest summed)")(
      "sample-every", count_option("sample-every", &sample_every, kSampleEvery),
      "compression sample: one present guest page in this many (default 100: 1%)")(
      "no-image-read",
      "do not read the images (O_DIRECT) to count guest pages that are disk blocks")(
      "backend", po::value(&backend)->default_value("auto"),
      "host cache view: auto|kmod|mincore (auto: kmod when loaded, else mincore)")(
      "shared-policy", po::value(&shared)->default_value("all"),
      "all|any: when a page of a shared image counts as double-cached (as for scan)")(
      "regions", po::value(&regions)->default_value("mergeable"),
      "guest RAM is: mergeable (KSM-tracked VMAs, QEMU) | anon (VMMs that do not mark it)")(
      "prometheus", po::value(&prometheus_file),
      "write the report's gauges to this node_exporter textfile (its own file: rewritten "
      "atomically)");
  const po::variables_map vm = parse_command_line(args, options, "report");
  if (vm.count("help")) {
    std::cout << options << "\n" << kExitCodesHelp;
    return 0;
  }
  const BackendChoice choice = backend_choice_from_string(backend);
  ReportOptions report_options;
  report_options.shared_policy = shared_policy_from_string(shared);
  report_options.regions = region_selection_from_string(regions);
  report_options.explain = vm.count("explain") != 0;
  report_options.top_files = top;
  report_options.sample_every = static_cast<uint32_t>(sample_every);
  report_options.image_blocks = vm.count("no-image-read") == 0;
  require_capabilities("report", {kCapSysPtrace, kCapSysAdmin, kCapDacReadSearch});
  const VmSelection selected = select_vms(selection);
  for (const auto& warning : selected.warnings)
    std::cerr << "singleton: warning: " << warning << "\n";
  ChosenView view = make_page_cache_view(choice);
  Report report = run_report(*view.view, selected.vms, report_options);
  report.discovery_errors = selected.errors;

  if (vm.count("json")) {
    std::cout << boost::json::serialize(report_json(report)) << "\n";
  } else {
    print_report_table(report, std::cout);
  }
  if (!prometheus_file.empty()) write_file_atomically(prometheus_file, report_prometheus(report));
  for (const auto& error : report.discovery_errors) std::cerr << "singleton: " << error << "\n";
  for (const VmFigures& v : report.vms) {
    if (!v.error.empty()) std::cerr << "singleton: " << v.error << "\n";
  }
  for (const ImageFigures& image : report.images) {
    if (!image.error.empty()) std::cerr << "singleton: " << image.path << ": " << image.error << "\n";
    if (image.explanation && !image.explanation->error.empty())
      std::cerr << "singleton: " << image.path << ": not explained: " << image.explanation->error
                << "\n";
  }
  return static_cast<int>(report.exit_code());
}

}  // namespace singleton
