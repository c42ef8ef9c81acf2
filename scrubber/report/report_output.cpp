#include "scrubber/report/report_output.hpp"

#include <cstdio>
#include <sstream>

#include "snapshot/base/page_size.hpp"

namespace singleton {
namespace {

boost::json::value text_or_null(const std::string& text) {
  if (text.empty()) return nullptr;
  return boost::json::value(text);
}

boost::json::object share_json(const CacheShare& s) {
  return {{"path", s.path},
          {"filesystem", text_or_null(s.filesystem)},
          {"double_cached_bytes", s.double_cached_bytes},
          {"host_only_bytes", s.host_only_bytes}};
}

std::string mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

std::string pages_mib(uint64_t pages) { return mib(pages * kPageBytes); }

std::string line(const char* format, auto... args) {
  char buf[1024];
  std::snprintf(buf, sizeof buf, format, args...);
  return buf;
}

// Prometheus label values: backslash, quote and newline escaped.
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

boost::json::object report_json(const Report& report) {
  boost::json::object o;
  o["backend"] = report.backend;
  o["shared_policy"] = report.shared_policy;
  o["duration_s"] = report.duration_seconds;
  o["timings"] = {{"memory_s", report.memory_seconds},
                  {"cache_s", report.cache_seconds},
                  {"image_read_s", report.image_read_seconds}};
  boost::json::array vms;
  for (const VmFigures& v : report.vms) {
    boost::json::object j{{"name", v.name},
                          {"pid", v.pid},
                          {"ram_bytes", v.ram_bytes},
                          {"resident_pages", v.resident_pages},
                          {"zero_pages", v.zero_pages},
                          {"same_vm_identical_pages", v.same_vm_identical_pages},
                          {"other_vm_identical_pages", v.other_vm_identical_pages},
                          {"ksm_pages", v.ksm_pages},
                          {"seconds", v.seconds},
                          {"error", text_or_null(v.error)}};
    j["image_block_pages"] = v.image_block_pages ? boost::json::value(*v.image_block_pages)
                                                 : boost::json::value(nullptr);
    j["compression"] = {{"method", "zstd level 1, per 4 KiB page"},
                        {"sample_every", v.sample_every},
                        {"sample_pages", v.sample_pages},
                        {"compressed_bytes", v.sample_compressed_bytes},
                        {"ratio", v.compression_ratio}};
    vms.push_back(std::move(j));
  }
  o["vms"] = std::move(vms);
  boost::json::array images;
  for (const ImageFigures& i : report.images) {
    boost::json::object j{{"path", i.path},
                          {"format", text_or_null(i.format)},
                          {"cached_pages", i.cached_pages},
                          {"double_cached_pages", i.double_cached_pages},
                          {"host_only_pages", i.host_only_pages},
                          {"partial_folio_pages", i.partial_folio_pages},
                          {"seconds", i.seconds},
                          {"error", text_or_null(i.error)}};
    boost::json::array names;
    for (const std::string& vm : i.vms) names.push_back(boost::json::value(vm));
    j["vms"] = std::move(names);
    if (i.explanation) {
      const ImageExplanation& e = *i.explanation;
      j["disk"] = text_or_null(e.disk);
      boost::json::array files, other;
      for (const CacheShare& s : e.files) files.push_back(share_json(s));
      for (const CacheShare& s : e.other) other.push_back(share_json(s));
      j["files"] = std::move(files);
      j["other_files"] = share_json(e.other_files);
      j["not_file_data"] = std::move(other);
      j["explain_error"] = text_or_null(e.error);
    }
    images.push_back(std::move(j));
  }
  o["images"] = std::move(images);
  if (report.explain) {
    const ExplainRun& e = *report.explain;
    boost::json::array notes;
    for (const std::string& n : e.notes) notes.push_back(boost::json::value(n));
    const double gib = static_cast<double>(e.cached_bytes) / (1 << 30);
    o["explain"] = {{"appliance_s", e.appliance_seconds},
                    {"seconds", e.seconds},
                    {"cached_bytes", e.cached_bytes},
                    {"seconds_per_gib", gib > 0 ? (e.seconds - e.appliance_seconds) / gib : 0.0},
                    {"backend", e.backend},
                    {"notes", std::move(notes)}};
  } else {
    o["explain"] = nullptr;
  }
  boost::json::array uncached, errors;
  for (const std::string& d : report.uncached_disks) uncached.push_back(boost::json::value(d));
  for (const std::string& d : report.discovery_errors) errors.push_back(boost::json::value(d));
  o["uncached_disks"] = std::move(uncached);
  o["discovery_errors"] = std::move(errors);
  return o;
}

void print_report_table(const Report& report, std::ostream& out) {
  out << "Guest memory (MiB)\n"
      << line("%-20s %8s %9s %8s %10s %10s %8s %10s %s\n", "VM", "RAM", "resident", "zero",
              "dup-in-VM", "dup-other", "KSM", "disk-blks", "compress");
  for (const VmFigures& v : report.vms) {
    const std::string blocks = v.image_block_pages ? pages_mib(*v.image_block_pages) : "?";
    out << line("%-20s %8s %9s %8s %10s %10s %8s %10s %.1fx (%llu pages)\n", v.name.c_str(),
                mib(v.ram_bytes).c_str(), pages_mib(v.resident_pages).c_str(),
                pages_mib(v.zero_pages).c_str(), pages_mib(v.same_vm_identical_pages).c_str(),
                pages_mib(v.other_vm_identical_pages).c_str(), pages_mib(v.ksm_pages).c_str(),
                blocks.c_str(), v.compression_ratio,
                static_cast<unsigned long long>(v.sample_pages));
  }
  out << "  dup-in-VM: pages with a twin in the same VM; dup-other: a twin in another VM (KSM\n"
         "  could merge both); disk-blks: pages holding a block of the VM's images; compress:\n"
         "  zstd level 1 per page on a sample of 1 present page in "
      << (report.vms.empty() ? 100 : report.vms.front().sample_every) << ".\n\n";
  out << "Host page cache of the images (MiB)\n"
      << line("%-48s %9s %9s %9s %9s\n", "image", "cached", "double", "host-only", "partial");
  for (const ImageFigures& i : report.images) {
    out << line("%-48s %9s %9s %9s %9s\n", i.path.c_str(), pages_mib(i.cached_pages).c_str(),
                pages_mib(i.double_cached_pages).c_str(), pages_mib(i.host_only_pages).c_str(),
                pages_mib(i.partial_folio_pages).c_str());
    if (!i.error.empty()) out << "  error: " << i.error << "\n";
    if (!i.explanation) continue;
    const ImageExplanation& e = *i.explanation;
    if (!e.error.empty()) {
      out << "  not explained: " << e.error << "\n";
      continue;
    }
    const std::string heading = "guest file (disk " + e.disk + ")";
    out << line("  %-46s %9s %9s\n", heading.c_str(), "double", "host-only");
    auto row = [&](const CacheShare& s) {
      const std::string name = s.filesystem.empty() ? s.path : s.filesystem + ":" + s.path;
      out << line("  %-46s %9s %9s\n", name.c_str(), mib(s.double_cached_bytes).c_str(),
                  mib(s.host_only_bytes).c_str());
    };
    for (const CacheShare& s : e.files) row(s);
    if (e.other_files.total() != 0) row(e.other_files);
    for (const CacheShare& s : e.other) row(s);
  }
  if (report.explain) {
    const ExplainRun& e = *report.explain;
    out << line("\nlibguestfs: %s; appliance %.1f s, explain %.1f s in all\n", e.backend.c_str(),
                e.appliance_seconds, e.seconds);
    for (const std::string& n : e.notes) out << "note: " << n << "\n";
  }
  for (const std::string& d : report.uncached_disks) out << "not cached by the host: " << d << "\n";
  out << line("report took %.2f s (memory %.2f s, cache %.2f s, image reads %.2f s)\n",
              report.duration_seconds, report.memory_seconds, report.cache_seconds,
              report.image_read_seconds);
}

std::string report_prometheus(const Report& report) {
  std::ostringstream o;
  auto gauge = [&](const char* name, const char* help) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n";
  };
  auto vm_series = [&](const char* name, const char* help, auto value) {
    gauge(name, help);
    for (const VmFigures& v : report.vms)
      o << name << "{vm=\"" << label(v.name) << "\"} " << value(v) << "\n";
  };
  vm_series("singleton_report_vm_ram_bytes", "Guest RAM.",
            [](const VmFigures& v) { return v.ram_bytes; });
  vm_series("singleton_report_vm_resident_bytes", "Guest RAM present in host memory.",
            [](const VmFigures& v) { return v.resident_pages * kPageBytes; });
  vm_series("singleton_report_vm_zero_bytes", "Present guest pages of zeros.",
            [](const VmFigures& v) { return v.zero_pages * kPageBytes; });
  vm_series("singleton_report_vm_same_vm_identical_bytes",
            "Non-zero guest pages identical to another page of the same VM.",
            [](const VmFigures& v) { return v.same_vm_identical_pages * kPageBytes; });
  vm_series("singleton_report_vm_other_vm_identical_bytes",
            "Non-zero guest pages identical to a page of another VM (KSM could merge).",
            [](const VmFigures& v) { return v.other_vm_identical_pages * kPageBytes; });
  vm_series("singleton_report_vm_ksm_bytes", "Guest pages already merged by KSM.",
            [](const VmFigures& v) { return v.ksm_pages * kPageBytes; });
  gauge("singleton_report_vm_image_block_bytes",
        "Guest pages holding a block of one of the VM's images.");
  for (const VmFigures& v : report.vms) {
    if (v.image_block_pages)
      o << "singleton_report_vm_image_block_bytes{vm=\"" << label(v.name) << "\"} "
        << *v.image_block_pages * kPageBytes << "\n";
  }
  vm_series("singleton_report_vm_compression_ratio",
            "Sampled bytes over their zstd level-1 size, page by page.",
            [](const VmFigures& v) { return v.compression_ratio; });
  auto image_series = [&](const char* name, const char* help, auto value) {
    gauge(name, help);
    for (const ImageFigures& i : report.images)
      o << name << "{image=\"" << label(i.path) << "\"} " << value(i) << "\n";
  };
  image_series("singleton_report_image_cached_bytes", "Host page cache of the image file.",
               [](const ImageFigures& i) { return i.cached_pages * kPageBytes; });
  image_series("singleton_report_image_double_cached_bytes",
               "Host-cached image pages the guests hold too.",
               [](const ImageFigures& i) { return i.double_cached_pages * kPageBytes; });
  image_series("singleton_report_image_host_only_bytes",
               "Host-cached image pages no guest holds.",
               [](const ImageFigures& i) { return i.host_only_pages * kPageBytes; });
  image_series("singleton_report_image_partial_folio_bytes",
               "Double-cached pages in folios with pages no guest holds.",
               [](const ImageFigures& i) { return i.partial_folio_pages * kPageBytes; });
  if (report.explain) {
    for (const char* kind : {"double_cached", "host_only"}) {
      const std::string name = std::string("singleton_report_file_") + kind + "_bytes";
      gauge(name.c_str(), kind == std::string("double_cached")
                              ? "Double-cached bytes of the image that are this guest file."
                              : "Host-only cached bytes of the image that are this guest file.");
      for (const ImageFigures& i : report.images) {
        if (!i.explanation || !i.explanation->error.empty()) continue;
        auto emit = [&](const CacheShare& s) {
          o << name << "{image=\"" << label(i.path) << "\",filesystem=\"" << label(s.filesystem)
            << "\",path=\"" << label(s.path) << "\"} "
            << (kind == std::string("double_cached") ? s.double_cached_bytes : s.host_only_bytes)
            << "\n";
        };
        for (const CacheShare& s : i.explanation->files) emit(s);
        emit(i.explanation->other_files);
        for (const CacheShare& s : i.explanation->other) emit(s);
      }
    }
    gauge("singleton_report_explain_appliance_seconds", "libguestfs appliance launch time.");
    o << "singleton_report_explain_appliance_seconds " << report.explain->appliance_seconds << "\n";
  }
  gauge("singleton_report_duration_seconds", "How long the report took.");
  o << "singleton_report_duration_seconds " << report.duration_seconds << "\n";
  return o.str();
}

}  // namespace singleton
