#include "scrubber/config/config_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>

#include "snapshot/base/error.hpp"
#include "snapshot/base/small_file.hpp"

namespace singleton {
namespace po = boost::program_options;

namespace {

constexpr uint64_t kMaxConfigBytes = 1 << 20;

std::string trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

// The command-line words a config line stands for: {"--key", "value"}, or {"--key"} for a
// switch set to true, or {} for a switch set to false.
std::vector<std::string> words_for(const ConfigEntry& entry, const po::option_description& option,
                                   const std::string& where) {
  if (option.semantic()->max_tokens() == 0) {
    if (entry.value == "true" || entry.value == "yes" || entry.value == "1") {
      return {"--" + entry.key};
    }
    if (entry.value == "false" || entry.value == "no" || entry.value == "0") return {};
    throw Error(ExitCode::kUsage, where + ": '" + entry.key +
                                      "' is a switch: its value must be true or false, not '" +
                                      entry.value + "'");
  }
  return {"--" + entry.key, entry.value};
}

}  // namespace

std::string default_config_path() {
  const char* env = std::getenv("SINGLETON_CONFIG");
  return env != nullptr && *env != '\0' ? env : "/etc/singleton.conf";
}

std::vector<ConfigEntry> parse_config_text(const std::string& text, const std::string& path,
                                           const po::options_description& options) {
  std::vector<ConfigEntry> entries;
  std::map<std::string, int> single_valued_seen;  // key -> its line
  std::istringstream in(text);
  std::string raw;
  for (int number = 1; std::getline(in, raw); ++number) {
    const std::string where = path + ":" + std::to_string(number);
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    const auto equals = line.find('=');
    if (equals == std::string::npos) {
      throw Error(ExitCode::kUsage, where + ": expected 'key = value', got '" + line + "'");
    }
    ConfigEntry entry{number, trim(line.substr(0, equals)), trim(line.substr(equals + 1))};
    if (entry.value.size() >= 2 && entry.value.front() == '"' && entry.value.back() == '"') {
      entry.value = entry.value.substr(1, entry.value.size() - 2);
    }
    if (entry.key.empty()) throw Error(ExitCode::kUsage, where + ": missing key before '='");
    if (entry.key.rfind("--", 0) == 0) entry.key = entry.key.substr(2);
    const po::option_description* option = options.find_nothrow(entry.key, false);
    if (option == nullptr || entry.key == "help" || entry.key == "config") {
      throw Error(ExitCode::kUsage, where + ": unknown key '" + entry.key +
                                        "' (keys are the long options of singleton watch "
                                        "--help, without the dashes)");
    }
    if (!option->semantic()->is_composing()) {
      const auto [seen, first] = single_valued_seen.emplace(entry.key, number);
      if (!first) {
        throw Error(ExitCode::kUsage, where + ": '" + entry.key + "' already set on line " +
                                          std::to_string(seen->second));
      }
    }
    if (option->semantic()->min_tokens() > 0 && entry.value.empty()) {
      throw Error(ExitCode::kUsage, where + ": '" + entry.key + "' needs a value");
    }
    // Checks the value as the command line would, notifiers (range checks) included, so a bad
    // value is reported with its line. The trial map is thrown away.
    try {
      po::variables_map trial;
      po::store(po::command_line_parser(words_for(entry, *option, where)).options(options).run(),
                trial);
      po::notify(trial);
    } catch (const po::error& e) {
      throw Error(ExitCode::kUsage,
                  where + ": " + entry.key + " = " + entry.value + ": " + e.what());
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<ConfigEntry> read_config_file(const std::string& path,
                                          const po::options_description& options) {
  // The config of a root agent says which VMs' memory it reads and which files it writes: a
  // file someone else could have written is refused, not trusted.
  std::optional<SmallFile> file;
  try {
    file = read_small_regular_file(path, kMaxConfigBytes);
  } catch (const Error& e) {
    throw Error(ExitCode::kUsage, "config file " + path + ": cannot be read: " + e.what());
  }
  if (!file) throw Error(ExitCode::kUsage, "config file " + path + ": does not exist");
  const struct stat& st = file->st;
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    throw Error(ExitCode::kUsage, "config file " + path + " belongs to uid " +
                                      std::to_string(st.st_uid) +
                                      ": refusing it (it must belong to root)");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    throw Error(ExitCode::kUsage, "config file " + path + " is writable by " +
                                      ((st.st_mode & S_IWOTH) ? "everyone" : "its group") +
                                      " (mode " + mode + "): refusing it (chmod go-w " + path +
                                      ")");
  }
  return parse_config_text(file->text, path, options);
}

void store_config(const std::vector<ConfigEntry>& entries, const std::string& path,
                  const po::options_description& options, po::variables_map& values) {
  std::vector<std::string> words;
  for (const ConfigEntry& entry : entries) {
    const po::option_description& option = options.find(entry.key, false);
    const auto more = words_for(entry, option, path + ":" + std::to_string(entry.line));
    words.insert(words.end(), more.begin(), more.end());
  }
  try {
    po::store(po::command_line_parser(words).options(options).run(), values);
  } catch (const po::error& e) {
    // Only a single-valued key given twice in the file gets here.
    throw Error(ExitCode::kUsage, "config file " + path + ": " + e.what());
  }
}

}  // namespace singleton
