// /etc/singleton.conf: one `key = value` per line, every key a long command-line flag of the
// command that reads it (`cpu-budget = 10` is `--cpu-budget 10`). Lines starting with `#` and
// blank lines are ignored; a flag without a value (`--quiet`) takes `true` or `false`; a
// repeatable flag (`vm`) may appear on several lines.
//
// The command line wins over the file: it is stored first, and program_options keeps the first
// value stored for a single-valued option (repeatable ones are merged).
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace singleton {

// The default path, or $SINGLETON_CONFIG when set (tests).
std::string default_config_path();

struct ConfigEntry {
  int line = 0;
  std::string key;
  std::string value;
};

// Reads and checks `path` against `options`: every line must be a comment, blank, or
// `key = value` with a known key whose value the option accepts (its type, and its notifier:
// range checks attached to an option run per line, so they too name the line). `help` and
// `config` are not keys. Throws
// Error(ExitCode::kUsage) "FILE:LINE: what is wrong" at the first bad line, and
// Error(kUsage) when the file cannot be read.
std::vector<ConfigEntry> read_config_file(
    const std::string& path, const boost::program_options::options_description& options);

// Same, from text already read (`path` only names it in errors).
std::vector<ConfigEntry> parse_config_text(
    const std::string& text, const std::string& path,
    const boost::program_options::options_description& options);

// Stores `entries` into `values` (call it after storing the command line, so the command line
// wins). Entries come from read_config_file, so they are known to be valid.
void store_config(const std::vector<ConfigEntry>& entries, const std::string& path,
                  const boost::program_options::options_description& options,
                  boost::program_options::variables_map& values);

}  // namespace singleton
