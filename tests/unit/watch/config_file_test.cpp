// The config file parser against a real options_description: every bad line is reported with
// its line number and exit code 2, and the command line wins over the file.
#include "scrubber/config/config_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "snapshot/base/error.hpp"
#include "tests/unit/temp_dir.hpp"

namespace singleton {
namespace {
namespace po = boost::program_options;

struct Values {
  double budget = 0;
  std::string backend;
  std::vector<std::string> vms;
};

po::options_description options(Values& v) {
  po::options_description desc("test");
  desc.add_options()("help", "help")("config", po::value<std::string>(), "file")(
      "cpu-budget", po::value(&v.budget)->default_value(10)->notifier([](double x) {
        if (x <= 0 || x > 100) throw po::error("--cpu-budget must be in (0, 100]");
      }),
      "budget")("backend", po::value(&v.backend)->default_value("auto"), "backend")(
      "vm", po::value(&v.vms)->composing(), "vms")("quiet", "switch");
  return desc;
}

// The message of the Error a parse throws, checking it is a usage error (exit 2).
std::string parse_error(const std::string& text) {
  Values v;
  try {
    parse_config_text(text, "/etc/singleton.conf", options(v));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage) << e.what();
    return e.what();
  }
  return "";
}

TEST(ConfigFile, CommentsBlankLinesAndQuotesAreAccepted) {
  Values v;
  const auto entries = parse_config_text(
      "# a comment\n\n   \ncpu-budget = 20\n  backend=\"mincore\"  \nvm = a\nvm = b*\nquiet = "
      "true\n",
      "f", options(v));
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[0].line, 4);
  EXPECT_EQ(entries[0].key, "cpu-budget");
  EXPECT_EQ(entries[0].value, "20");
  EXPECT_EQ(entries[1].value, "mincore");
  EXPECT_EQ(entries[4].line, 8);
}

TEST(ConfigFile, UnknownKeyNamesFileAndLine) {
  EXPECT_EQ(parse_error("cpu-budget = 5\n\ncpu-budgit = 5\n"),
            "/etc/singleton.conf:3: unknown key 'cpu-budgit' (keys are the long options of "
            "singleton watch --help, without the dashes)");
}

TEST(ConfigFile, LineWithoutEqualsSignIsAnError) {
  EXPECT_NE(
      parse_error("# x\ncpu-budget 5\n").find("/etc/singleton.conf:2: expected 'key = value'"),
      std::string::npos);
}

TEST(ConfigFile, ValueOfTheWrongTypeNamesItsLine) {
  const std::string error = parse_error("backend = kmod\ncpu-budget = lots\n");
  EXPECT_EQ(error.rfind("/etc/singleton.conf:2: cpu-budget = lots: ", 0), 0u) << error;
}

TEST(ConfigFile, RangeCheckOfTheOptionNamesItsLine) {
  const std::string error = parse_error("cpu-budget = 250\n");
  EXPECT_EQ(error, "/etc/singleton.conf:1: cpu-budget = 250: --cpu-budget must be in (0, 100]");
}

TEST(ConfigFile, SwitchTakesTrueOrFalseOnly) {
  EXPECT_NE(parse_error("quiet = sometimes\n").find(":1: 'quiet' is a switch"), std::string::npos);
  Values v;
  EXPECT_EQ(parse_config_text("quiet = false\n", "f", options(v)).size(), 1u);
}

TEST(ConfigFile, SingleValuedKeyTwiceIsAnError) {
  EXPECT_EQ(parse_error("backend = kmod\n\nbackend = mincore\n"),
            "/etc/singleton.conf:3: 'backend' already set on line 1");
}

TEST(ConfigFile, HelpAndConfigAreNotKeys) {
  EXPECT_NE(parse_error("config = /x\n").find(":1: unknown key 'config'"), std::string::npos);
  EXPECT_NE(parse_error("help = true\n").find(":1: unknown key 'help'"), std::string::npos);
}

TEST(ConfigFile, MissingValueIsAnError) {
  EXPECT_NE(parse_error("backend =\n").find(":1: 'backend' needs a value"), std::string::npos);
}

TEST(ConfigFile, CommandLineWinsAndRepeatableKeysMerge) {
  Values v;
  const auto desc = options(v);
  po::variables_map values;
  po::store(po::command_line_parser(std::vector<std::string>{"--backend", "kmod", "--vm", "cli"})
                .options(desc)
                .run(),
            values);
  const auto entries =
      parse_config_text("backend = mincore\ncpu-budget = 30\nvm = file\nquiet = true\n", "f", desc);
  store_config(entries, "f", desc, values);
  po::notify(values);
  EXPECT_EQ(v.backend, "kmod");
  EXPECT_EQ(v.budget, 30);
  EXPECT_EQ(v.vms, (std::vector<std::string>{"cli", "file"}));
  EXPECT_EQ(values.count("quiet"), 1u);
}

TEST(ConfigFile, UnreadableFileIsAUsageError) {
  Values v;
  try {
    read_config_file("/nonexistent/singleton.conf", options(v));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/singleton.conf"), std::string::npos);
  }
}

// A config someone else could have written is refused (exit 2, saying why), never trusted: it
// says whose memory a root agent reads and which files it writes.
class ConfigFileTrust : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_FAIL() << "run as root: the checks chown a file to nobody";
    std::ofstream(path_) << "backend = mincore\n";
  }
  std::string error() const {
    Values v;
    try {
      read_config_file(path_, options(v));
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage) << e.what();
      return e.what();
    }
    return "";
  }
  testing::TempDir temp_{"sg-config"};
  const std::filesystem::path dir_{temp_.path()};
  const std::string path_ = dir_ / "singleton.conf";
};

TEST_F(ConfigFileTrust, RootOwnedAndNotWritableByOthersIsRead) {
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  EXPECT_EQ(error(), "");
}

TEST_F(ConfigFileTrust, WritableByEveryoneIsRefused) {
  ASSERT_EQ(::chmod(path_.c_str(), 0666), 0);
  EXPECT_NE(error().find("is writable by everyone (mode 0666): refusing it"), std::string::npos)
      << error();
}

TEST_F(ConfigFileTrust, WritableByItsGroupIsRefused) {
  ASSERT_EQ(::chmod(path_.c_str(), 0664), 0);
  EXPECT_NE(error().find("is writable by its group (mode 0664)"), std::string::npos) << error();
}

TEST_F(ConfigFileTrust, OwnedByAnotherUserIsRefused) {
  ASSERT_EQ(::chown(path_.c_str(), 65534, 65534), 0);
  EXPECT_NE(error().find("belongs to uid 65534: refusing it"), std::string::npos) << error();
}

TEST_F(ConfigFileTrust, SymlinkAndFifoAreRefusedAtOnce) {
  const std::string link = dir_ / "link.conf";
  ASSERT_EQ(::symlink(path_.c_str(), link.c_str()), 0);
  const std::string fifo = dir_ / "fifo.conf";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& p : {link, fifo}) {
    Values v;
    try {
      read_config_file(p, options(v));
      ADD_FAILURE() << p << " was read";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage) << e.what();
    }
  }
}

}  // namespace
}  // namespace singleton
