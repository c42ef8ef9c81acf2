#include <gtest/gtest.h>

#include "tests/vm/guest.hpp"

namespace singleton::guestkit {

TEST(ParseConsole, FindsMarkersAmidKernelNoise) {
  const std::string console =
      "[    0.1] booting\r\n@@SG-BEGIN@@\nhello\n@@SG-RESULT k=v 1@@\n"
      "[    2.0] kernel noise\n@@SG-WAIT step@@\n@@SG-END rc=3@@\nafter\n";
  auto m = parse_console(console);
  EXPECT_TRUE(m.begun);
  ASSERT_TRUE(m.end_rc.has_value());
  EXPECT_EQ(*m.end_rc, 3);
  EXPECT_EQ(m.results.at("k"), "v 1");
  ASSERT_EQ(m.waits.size(), 1u);
  EXPECT_EQ(m.waits[0], "step");
  EXPECT_NE(m.output.find("hello"), std::string::npos);
  EXPECT_EQ(m.output.find("after"), std::string::npos);
  EXPECT_EQ(m.output.find("booting"), std::string::npos);
}

TEST(ParseConsole, NoEndMarkerMeansNotFinished) {
  auto m = parse_console("@@SG-BEGIN@@\nworking\n@@SG-END rc=");
  EXPECT_TRUE(m.begun);
  EXPECT_FALSE(m.end_rc.has_value());
}

}  // namespace singleton::guestkit
