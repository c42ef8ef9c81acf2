// The `singleton` CLI: dispatches to its commands and turns errors into one line on stderr and
// the documented exit code.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "scrubber/config/cli_text.hpp"
#include "scrubber/cli/advise_command.hpp"
#include "scrubber/cli/pagecache_command.hpp"
#include "scrubber/cli/pass_command.hpp"
#include "scrubber/cli/report_command.hpp"
#include "scrubber/cli/trace_command.hpp"
#include "scrubber/cli/vms_cli.hpp"
#include "scrubber/cli/watch_command.hpp"
#include "snapshot/base/error.hpp"
#include "snapshot/base/page_size.hpp"

#ifndef SINGLETON_VERSION
#define SINGLETON_VERSION "unknown"
#endif

namespace {

constexpr const char* kUsage =
    "Usage: singleton COMMAND [options]   (singleton COMMAND --help for its options)\n"
    "\n"
    "Finds host page-cache pages of VM disk images whose content a guest already holds in its\n"
    "RAM, and evicts those host copies: the host cache keeps only what guests do not have.\n"
    "\n"
    "Commands:\n"
    "  advise      replay a `singleton trace` recording through a cache model: which policy to run\n"
    "  scan        dry run: what a scrub would evict, per image (changes nothing)\n"
    "  scrub       one pass: evict the double-cached pages (for cron)\n"
    "  pagecache   what the host page cache holds of files (like fincore; --pages per page)\n"
    "  report      where host memory goes: per VM and image, and (--explain) per guest file\n"
    "  trace       where QEMU's disk reads put image pages in guest RAM (BPF; JSON per page)\n"
    "  vms         the VMs found (libvirt domains, QEMU processes), their RAM and disks\n"
    "  watch       keep the host cache exclusive continuously (a service; --once: one pass)\n"
    "\n"
    "Common options of scan and scrub: --json, --vm PATTERN, --pid PID --image PATH,\n"
    "  --connect URI, --backend auto|kmod|mincore, --shared-policy all|any, --max-evict MIB\n"
    "\n"
    "Only whole folios whose every page a guest holds are evicted; dirty, writeback, locked\n"
    "and mapped pages never are. One pass at a time per host (a lock in /run/singleton).\n"
    "\n";

}  // namespace

int main(int argc, char** argv) {
  using singleton::Error;
  const std::vector<std::string> words(argv + 1, argv + argc);
  try {
    if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
      std::cout << kUsage << singleton::kSharedPolicyHelp << "\n" << singleton::kExitCodesHelp;
      return words.empty() ? 2 : 0;
    }
    if (words[0] == "--version" || words[0] == "version") {
      std::cout << "singleton " << SINGLETON_VERSION << "\n";
      return 0;
    }
    // Every count here is in 4 KiB pages (pagemap, kpageflags, mincore, the module): on a host
    // with another base page size the numbers would be wrong, not merely slow.
    if (const long page = sysconf(_SC_PAGESIZE); page != static_cast<long>(singleton::kPageBytes))
      throw Error(singleton::ExitCode::kEnvironment,
                  "unsupported page size " + std::to_string(page) + " bytes (singleton counts in " +
                      std::to_string(singleton::kPageBytes) + "-byte pages)");
    const std::vector<std::string> rest(words.begin() + 1, words.end());
    if (words[0] == "scan") return singleton::run_pass_command(false, rest);
    if (words[0] == "scrub") return singleton::run_pass_command(true, rest);
    if (words[0] == "advise") return singleton::run_advise_command(rest);
    if (words[0] == "report") return singleton::run_report_command(rest);
    if (words[0] == "pagecache") return singleton::run_pagecache_command(rest);
    if (words[0] == "trace") return singleton::run_trace_command(rest);
    if (words[0] == "vms") return singleton::run_vms_cli(rest);
    if (words[0] == "watch") return singleton::run_watch_command(rest);
    throw Error(singleton::ExitCode::kUsage,
                "unknown command '" + words[0] + "' (see singleton --help)");
  } catch (const Error& e) {
    std::cerr << "singleton: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    // Not one of ours: still one line, and "done in part" is the honest code we cannot give.
    std::cerr << "singleton: internal error: " << e.what() << "\n";
    return static_cast<int>(singleton::ExitCode::kPartial);
  }
}
