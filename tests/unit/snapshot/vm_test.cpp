#include "snapshot/discovery/vm.hpp"

#include <gtest/gtest.h>

namespace singleton {

TEST(CacheMode, RoundTripsThroughItsName) {
  for (auto mode : {CacheMode::kWriteback, CacheMode::kWritethrough, CacheMode::kNone,
                    CacheMode::kDirectsync, CacheMode::kUnsafe}) {
    EXPECT_EQ(cache_mode_from_string(to_string(mode)), mode);
  }
  EXPECT_EQ(cache_mode_from_string("bogus"), CacheMode::kUnknown);
}

TEST(CacheMode, DirectModesBypassTheHostCache) {
  EXPECT_FALSE(uses_host_cache(CacheMode::kNone));
  EXPECT_FALSE(uses_host_cache(CacheMode::kDirectsync));
  EXPECT_TRUE(uses_host_cache(CacheMode::kWriteback));
  EXPECT_TRUE(uses_host_cache(CacheMode::kUnknown));
}

}  // namespace singleton
