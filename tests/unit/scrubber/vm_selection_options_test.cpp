// The one meaning of --vm, --pid/--image and --connect in scan, scrub, watch and vms.
#include "scrubber/config/vm_selection_options.hpp"

#include <gtest/gtest.h>

#include "scrubber/pass/vm_selection.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

namespace po = boost::program_options;

VmSelectionOptions parse(const std::vector<std::string>& args) {
  VmSelectionOptions out;
  po::options_description options;
  add_vm_selection_options(options, out);
  po::variables_map values;
  po::store(po::command_line_parser(args).options(options).run(), values);
  po::notify(values);
  return out;
}

TEST(VmSelectionOptions, VmIsAGlobAndANameMatchesItselfEvenWithGlobCharacters) {
  EXPECT_TRUE(vm_name_selected({}, "anything"));
  EXPECT_TRUE(vm_name_selected({"web-*"}, "web-1"));
  EXPECT_FALSE(vm_name_selected({"web-*"}, "db-1"));
  EXPECT_TRUE(vm_name_selected({"db-1", "web-?"}, "web-2"));
  EXPECT_FALSE(vm_name_selected({"web"}, "web-1")) << "a name is not a prefix";
  EXPECT_TRUE(vm_name_selected({"vm[1]"}, "vm[1]")) << "the exact name, '[' and all";
  EXPECT_TRUE(vm_name_selected({"vm[1]"}, "vm1")) << "and the glob's own meaning";
}

TEST(VmSelectionOptions, OptionsParseIntoOneStructAndBecomeDiscoveryOptions) {
  const VmSelectionOptions s =
      parse({"--vm", "a*", "--vm", "b", "--connect", "test:///default"});
  EXPECT_EQ(s.patterns, (std::vector<std::string>{"a*", "b"}));
  const DiscoveryOptions d = discovery_options(s);
  EXPECT_EQ(d.libvirt_uri, "test:///default");
  EXPECT_TRUE(d.libvirt_uri_given);
  EXPECT_TRUE(d.explicit_vms.empty());

  const DiscoveryOptions e = discovery_options(parse({"--pid", "1", "--image", "/x"}));
  ASSERT_EQ(e.explicit_vms.size(), 1u);
  EXPECT_EQ(e.explicit_vms[0].pid, 1);
  EXPECT_FALSE(e.libvirt_uri_given);
}

TEST(VmSelectionOptions, CombinationsThatCannotBeMeantAreUsageErrors) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--vm", "a", "--pid", "1", "--image", "/x"},
        std::vector<std::string>{"--pid", "1"}, std::vector<std::string>{"--image", "/x"},
        std::vector<std::string>{"--pid", "0", "--image", "/x"},
        std::vector<std::string>{"--pid", "12x", "--image", "/x"}}) {
    try {
      discovery_options(parse(args));
      ADD_FAILURE() << args[0] << " " << args[1] << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kUsage) << e.what();
    }
  }
}

}  // namespace
}  // namespace singleton
