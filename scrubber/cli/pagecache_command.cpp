#include "scrubber/cli/pagecache_command.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "scrubber/config/cli_text.hpp"
#include "scrubber/config/command_line.hpp"
#include "scrubber/pagecache/page_cache_view.hpp"
#include "snapshot/base/capabilities.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace po = boost::program_options;

namespace {

std::string hex16(uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

}  // namespace

int run_pagecache_command(const std::vector<std::string>& args) {
  po::options_description options(
      "Usage: singleton pagecache FILE... [--json] [--pages] [--backend auto|kmod|mincore]\n"
      "Shows what the host page cache holds of each FILE (like fincore); adds no page to it.\n"
      "Options");
  std::vector<std::string> files;
  std::string backend = "auto";
  options.add_options()("help,h", "this help")("json", "print JSON")(
      "pages", "list every cached page: index, XXH64 (seed 0) of its 4 KiB, flags, folio")(
      "backend", po::value(&backend)->default_value("auto"), "auto|kmod|mincore");
  po::options_description hidden;
  hidden.add_options()("file", po::value(&files)->composing());
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("file", -1);
  const po::variables_map vm = parse_command_line(args, all, "pagecache", &positional);
  if (vm.count("help")) {
    std::cout << options << "\n" << kExitCodesHelp;
    return 0;
  }
  if (files.empty()) throw Error(ExitCode::kUsage, "pagecache: no FILE given");
  const BackendChoice choice = backend_choice_from_string(backend);
  const bool json = vm.count("json") != 0;
  const bool list_pages = vm.count("pages") != 0;
  // Open every file first: a missing one is a usage error before any output.
  std::vector<ReadOnlyFile> opened;
  for (const std::string& path : files) opened.emplace_back(path);
  require_capabilities("pagecache", {kCapSysAdmin, kCapDacReadSearch});
  ChosenView view = make_page_cache_view(choice);

  boost::json::array out_files;
  if (!json) {
    std::printf("%10s %10s %10s %10s  %s\n", "RES(MiB)", "PAGES", "SIZE(MiB)", "DIRTY", "FILE");
  }
  for (const ReadOnlyFile& file : opened) {
    const CacheCounts counts = view.view->count(file, {});
    boost::json::object o{{"path", file.path()},
                          {"size_pages", file.size_pages()},
                          {"cached_pages", counts.cached_pages},
                          {"dirty_pages", counts.dirty_pages},
                          {"writeback_pages", counts.writeback_pages}};
    if (!json) {
      std::printf("%10.1f %10llu %10.1f %10llu  %s\n",
                  static_cast<double>(counts.cached_pages) * kPageBytes / (1 << 20),
                  static_cast<unsigned long long>(counts.cached_pages),
                  static_cast<double>(file.size_bytes()) / (1 << 20),
                  static_cast<unsigned long long>(counts.dirty_pages), file.path().c_str());
    }
    if (list_pages) {
      boost::json::array pages;
      for (uint64_t from = 0;;) {
        const ScanBatch batch = view.view->scan(file, from, ScanOptions{true});
        for (const CachedPage& page : batch.pages) {
          const std::vector<std::string> names = page_flag_names(page.flags);
          if (json) {
            boost::json::array flags;
            for (const auto& n : names) flags.emplace_back(n);
            boost::json::object p{
                {"index", page.index},
                {"hash", (page.flags & kPageHashed) ? boost::json::value(hex16(page.hash))
                                                    : boost::json::value()},
                {"flags", std::move(flags)},
                {"folio_first", page.folio_first},
                {"folio_pages", page.folio_pages}};
            pages.emplace_back(std::move(p));
          } else {
            std::string flags;
            for (const auto& n : names) flags += (flags.empty() ? "" : ",") + n;
            std::printf(
                "  %12llu %s folio %llu+%u %s\n", static_cast<unsigned long long>(page.index),
                (page.flags & kPageHashed) ? hex16(page.hash).c_str() : "-",
                static_cast<unsigned long long>(page.folio_first), page.folio_pages, flags.c_str());
          }
        }
        if (batch.done) break;
        from = batch.next_index;
      }
      o["pages"] = std::move(pages);
    }
    out_files.emplace_back(std::move(o));
  }
  if (json) {
    boost::json::object doc{{"backend", view.view->name()}, {"files", std::move(out_files)}};
    if (!view.note.empty()) doc["backend_note"] = view.note;
    std::cout << boost::json::serialize(doc) << "\n";
  }
  return 0;
}

}  // namespace singleton
