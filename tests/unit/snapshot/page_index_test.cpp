#include "snapshot/memory/page_index.hpp"

#include <gtest/gtest.h>

#include <random>

#include "snapshot/memory/ksm_hash_cache.hpp"
#include "snapshot/memory/page_hash.hpp"
#include "snapshot/base/page_size.hpp"

namespace singleton {
namespace {

TEST(PageIndex, ContainsEveryInsertedHashAndNoOther) {
  std::mt19937_64 random(7);
  std::vector<uint64_t> inserted(200000);
  for (auto& hash : inserted) hash = random();
  PageIndex index(inserted);
  for (uint64_t hash : inserted) ASSERT_TRUE(index.contains(hash));
  size_t false_hits = 0;
  for (int i = 0; i < 200000; ++i) false_hits += index.contains(random());
  EXPECT_EQ(false_hits, 0u);
  EXPECT_FALSE(index.contains(0));
  EXPECT_FALSE(index.contains(~uint64_t{0}));
}

TEST(PageIndex, DropsDuplicatesAndUsesAtMostNineBytesPerDistinctHash) {
  std::vector<uint64_t> hashes;
  for (uint64_t i = 0; i < 1000; ++i) {
    hashes.push_back(i * 0x9e3779b97f4a7c15ULL);
    hashes.push_back(i * 0x9e3779b97f4a7c15ULL);
  }
  PageIndex index(hashes);
  EXPECT_EQ(index.size(), 1000u);
  EXPECT_GE(index.memory_bytes(), 1000u * 8);
  EXPECT_LE(index.memory_bytes(), 1000u * 9);
  EXPECT_TRUE(std::is_sorted(index.hashes().begin(), index.hashes().end()));
}

TEST(PageIndex, NonUniformKeysStillFoundExactly) {
  // Interpolation search must not depend on uniformity for correctness.
  std::vector<uint64_t> skewed;
  for (uint64_t i = 0; i < 5000; ++i) skewed.push_back(i);
  for (uint64_t i = 0; i < 50; ++i) skewed.push_back(~uint64_t{0} - i * 3);
  PageIndex index(skewed);
  for (uint64_t hash : skewed) ASSERT_TRUE(index.contains(hash)) << hash;
  EXPECT_FALSE(index.contains(5000));
  EXPECT_FALSE(index.contains(~uint64_t{0} - 1));
  EXPECT_FALSE(index.contains(uint64_t{1} << 40));
}

TEST(PageIndex, LargeIndexStaysUnderNineBytesPerPage) {
  std::mt19937_64 random(3);
  std::vector<uint64_t> hashes(1 << 20);
  for (auto& hash : hashes) hash = random();
  PageIndex index(hashes);
  EXPECT_LE(index.memory_bytes(), index.size() * 9 + 4);
  for (size_t i = 0; i < hashes.size(); i += 97) ASSERT_TRUE(index.contains(hashes[i]));
}

TEST(PageIndex, EmptyAndSingleElement) {
  EXPECT_FALSE(PageIndex().contains(0));
  PageIndex one(std::vector<uint64_t>{42});
  EXPECT_TRUE(one.contains(42));
  EXPECT_FALSE(one.contains(41));
}

TEST(PageHash, IsXxh64SeedZeroOfTheFourKibPage) {
  std::vector<unsigned char> page(kPageBytes, 0);
  EXPECT_EQ(hash_page(page.data()), zero_page_hash());
  EXPECT_TRUE(is_zero_page(page.data(), hash_page(page.data())));
  page[4095] = 1;
  EXPECT_NE(hash_page(page.data()), zero_page_hash());
  EXPECT_FALSE(is_zero_page(page.data(), hash_page(page.data())));
  EXPECT_EQ(hash_page(page.data()), XXH64(page.data(), kPageBytes, 0));
}

TEST(KsmHashCache, KeepsFramesSeenInAPassAndDropsTheRest) {
  KsmHashCache cache;
  cache.begin_pass();
  cache.insert(10, 100);
  cache.insert(20, 200);
  cache.end_pass();
  EXPECT_EQ(cache.size(), 2u);

  cache.begin_pass();
  EXPECT_EQ(cache.lookup(10), std::optional<uint64_t>(100));  // seen again this pass
  EXPECT_EQ(cache.lookup(30), std::nullopt);
  cache.end_pass();
  EXPECT_EQ(cache.size(), 1u);
  cache.begin_pass();
  EXPECT_EQ(cache.lookup(20), std::nullopt);  // frame 20 was not mapped in the last pass
  EXPECT_EQ(cache.lookup(10), std::optional<uint64_t>(100));
  cache.end_pass();
  EXPECT_GT(cache.memory_bytes(), 0u);
}

}  // namespace
}  // namespace singleton
