#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "scrubber/pagecache/page_cache_view.hpp"
#include "snapshot/base/error.hpp"

namespace singleton {
namespace {

TEST(PageCacheViewFactory, ParsesBackendNamesAndRejectsOthers) {
  EXPECT_EQ(backend_choice_from_string("auto"), BackendChoice::kAuto);
  EXPECT_EQ(backend_choice_from_string("kmod"), BackendChoice::kKmod);
  EXPECT_EQ(backend_choice_from_string("mincore"), BackendChoice::kMincore);
  try {
    backend_choice_from_string("ebpf");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kUsage);
  }
}

TEST(PageCacheViewFactory, AutoFallsBackToMincoreAndSaysWhy) {
  if (::geteuid() != 0) GTEST_FAIL() << "run as root: the mincore backend needs root";
  if (std::filesystem::exists("/dev/singleton_pcache")) GTEST_SKIP() << "the module is loaded";
  const ChosenView chosen = make_page_cache_view(BackendChoice::kAuto);
  ASSERT_NE(chosen.view, nullptr);
  EXPECT_EQ(chosen.view->name(), "mincore");
  EXPECT_NE(chosen.note.find("kmod"), std::string::npos) << chosen.note;
  EXPECT_NE(chosen.note.find("using mincore"), std::string::npos) << chosen.note;
}

TEST(PageCacheViewFactory, ExplicitKmodWithoutTheModuleIsAnEnvironmentError) {
  if (std::filesystem::exists("/dev/singleton_pcache")) GTEST_SKIP() << "the module is loaded";
  try {
    make_page_cache_view(BackendChoice::kKmod);
    FAIL() << "made a kmod view without the module";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kEnvironment) << e.what();
  }
}

}  // namespace
}  // namespace singleton
