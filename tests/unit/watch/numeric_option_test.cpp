// The one parser of numeric option values: strict text, declared ranges, messages naming the
// option and its range; and through program_options and the config file, as the commands use it.
#include "scrubber/config/numeric_option.hpp"

#include <gtest/gtest.h>

#include "scrubber/config/config_file.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace {
namespace po = boost::program_options;

template <typename Parse>
std::string usage_error(Parse parse) {
  try {
    parse();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage) << e.what();
    return e.what();
  }
  return "";
}

TEST(NumericOption, CountsAreDigitsWithinTheirRange) {
  const CountRange range{1, 1000, "MiB"};
  EXPECT_EQ(parse_count_option("max-evict", "1", range), 1u);
  EXPECT_EQ(parse_count_option("max-evict", "1000", range), 1000u);
  EXPECT_EQ(parse_count_option("max-evict", "007", range), 7u);
  for (const char* bad :
       {"-1", "0", "1001", "+5", " 5", "5 ", "5x", "0x10", "1e3", "1.5", "", "lots",
        "18446744073709551615", "18446744073709551616", "99999999999999999999999"}) {
    EXPECT_EQ(usage_error([&] { parse_count_option("max-evict", bad, range); }),
              "--max-evict " + std::string(*bad ? bad : "''") +
                  ": expected a whole number from 1 to 1000 MiB")
        << bad;
  }
}

TEST(NumericOption, RealsAreFiniteDecimalsWithinTheirRange) {
  const RealRange range{0.1, 100, "percent of one core"};
  EXPECT_EQ(parse_real_option("cpu-budget", "0.1", range), 0.1);
  EXPECT_EQ(parse_real_option("cpu-budget", "100", range), 100);
  EXPECT_EQ(parse_real_option("cpu-budget", "2.5e1", range), 25);
  EXPECT_EQ(parse_real_option("cpu-budget", ".5", range), 0.5);
  for (const char* bad : {"nan", "NaN", "inf", "-inf", "infinity", "1e999", "-5", "0", "0.09",
                          "100.5", "+5", " 5", "5 ", "5%", "0x10", "", "ten", "1e", "1,5"}) {
    EXPECT_EQ(usage_error([&] { parse_real_option("cpu-budget", bad, range); }),
              "--cpu-budget " + std::string(*bad ? bad : "''") +
                  ": expected a number from 0.1 to 100 percent of one core")
        << bad;
  }
}

struct Parsed {
  uint64_t count = 0;
  double real = 0;
};

po::options_description options(Parsed& p) {
  po::options_description desc("test");
  desc.add_options()("count", count_option("count", &p.count, {1, 10, ""}), "a count")(
      "real", real_option("real", &p.real, {0.5, 2, "s"})->default_value("1"), "a real");
  return desc;
}

TEST(NumericOption, ProgramOptionsValuesParseOnNotify) {
  Parsed p;
  const auto desc = options(p);
  po::variables_map values;
  po::store(po::command_line_parser(std::vector<std::string>{"--count", "7"}).options(desc).run(),
            values);
  po::notify(values);
  EXPECT_EQ(p.count, 7u);
  EXPECT_EQ(p.real, 1);  // the default, parsed like any value

  // A negative number is taken as the option's value (not as an option), and refused.
  Parsed q;
  const auto desc2 = options(q);
  po::variables_map bad;
  po::store(po::command_line_parser(std::vector<std::string>{"--count", "-1"}).options(desc2).run(),
            bad);
  try {
    po::notify(bad);
    FAIL() << "--count -1 accepted";
  } catch (const po::error& e) {
    EXPECT_STREQ(e.what(), "--count -1: expected a whole number from 1 to 10");
  }
}

TEST(NumericOption, AConfigFileValueOutOfRangeNamesItsLine) {
  Parsed p;
  for (const char* line : {"real = nan", "real = 3", "count = -1", "count = 11", "count = 2x"}) {
    const std::string error = usage_error([&] {
      parse_config_text(std::string("# x\n\n") + line + "\n", "/etc/s.conf", options(p));
    });
    EXPECT_EQ(error.rfind("/etc/s.conf:3: " + std::string(line) + ": --", 0), 0u) << error;
    EXPECT_NE(error.find(" to "), std::string::npos) << error;
  }
}

}  // namespace
}  // namespace singleton
