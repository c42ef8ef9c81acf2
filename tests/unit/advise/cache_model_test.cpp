// The model's invariants (issue 14) and the mechanics each policy rests on, on small setups
// driven by the simulator's own workloads (bench/sim), so each test runs in well under a second.
#include <gtest/gtest.h>

#include "bench/sim/phases.hpp"
#include "scrubber/advise/cache_model.hpp"

namespace singleton::advise {
namespace {

constexpr uint64_t kData = 8192;   // blocks per image
constexpr uint64_t kGuest = 2048;
constexpr uint64_t kHost = 2048;
constexpr uint64_t kAccesses = 200000;

ModelSummary run(const Topology& t, const std::string& policy, const std::string& workload,
                 uint64_t accesses = kAccesses) {
  CacheModel model(t, parse_policy(policy));
  const std::vector<uint64_t> pages(t.vms.size(), t.image_pages[0]);
  const auto w = sim::parse_mixture(workload);
  const auto c = sim::run_phases(model, {sim::Phase{"warm", w, accesses / 2, 7, false},
                                         sim::Phase{"run", w, accesses, 8, false}}, pages);
  return summarize(c.back());
}

const char* const kWorkloads[] = {"uniform", "zipf:0.8", "zipf:1.2", "hotscan", "shifting:0.1:0.9:20000",
                                  "uniform@0.3"};

TEST(CacheModel, OneVmDemoteIsAnLruOfGuestPlusHost) {
  const Topology t = Topology::uniform(1, kData, kGuest, kHost, false);
  for (const char* w : kWorkloads) {
    const double demote = run(t, "demote", w).system_hit;
    const double bigger = run(t, "none-bigger-guests", w).system_hit;
    EXPECT_NEAR(demote, bigger, 0.005) << w;
  }
}

TEST(CacheModel, EagerEveryAccessNeverHoldsADuplicate) {
  for (const bool shared : {false, true}) {
    for (const SharedRule rule : {SharedRule::kAll, SharedRule::kAny}) {
      Topology t = Topology::uniform(4, kData, kGuest, kHost, shared);
      t.shared_rule = rule;
      CacheModel model(t, parse_policy("eager:1"));
      sim::AccessStream streams[] = {{sim::parse_workload("zipf:0.8"), kData, 1},
                                     {sim::parse_workload("uniform@0.2"), kData, 2},
                                     {sim::parse_workload("hotscan"), kData, 3},
                                     {sim::parse_workload("shifting"), kData, 4}};
      uint64_t in_host = 0;
      for (uint64_t i = 0; i < 100000; ++i) {
        const uint32_t vm = i % 4;
        bool write = false;
        const uint32_t page = streams[vm].next(write);
        model.access(model.attachment(vm), page, write);
        ASSERT_EQ(model.host().duplicates(), 0u) << "access " << i;
        in_host += model.host().size();
      }
      EXPECT_GT(model.counters().duplicate_evictions, 0u);
      if (shared && rule == SharedRule::kAll) {
        EXPECT_GT(in_host, 0u);  // the host keeps what not all 4 hold
      }
    }
  }
}

TEST(CacheModel, OneVmNothingBeatsDemote) {
  // A quarter of the sizes above: ten policies on six workloads stay fast inside TCG guests.
  const Topology t = Topology::uniform(1, kData / 4, kGuest / 4, kHost / 4, false);
  constexpr uint64_t kFewer = kAccesses / 4;
  for (const char* w : kWorkloads) {
    const double demote = run(t, "demote", w, kFewer).system_hit;
    for (const Policy& p : standard_policies()) {
      if (p.kind == PolicyKind::kNoneBiggerGuests) continue;  // equal by the test above
      EXPECT_LE(run(t, p.name(), w, kFewer).system_hit, demote + 0.005) << w << " " << p.name();
    }
  }
}

// Where the bound stops being one: demote is an LRU of G+H, and a loop just longer than G+H
// defeats any LRU, while evicting the newest duplicates keeps a fixed part of the loop cached.
TEST(CacheModel, OnALoopLongerThanBothCachesNewestFirstBeatsDemote) {
  const Topology t = Topology::uniform(1, kData, kGuest, kHost, false);
  const std::string loop = "loop:0.6";  // 4915 blocks > 4096
  EXPECT_LT(run(t, "demote", loop).system_hit, 0.05);
  EXPECT_GT(run(t, "pressure:newest", loop).system_hit, 0.3);
}

TEST(CacheModel, InclusiveHostHoldsTheGuestsBlocksAndNoneHoldsNothing) {
  const Topology t = Topology::uniform(1, kData, kGuest, kHost, false);
  const ModelSummary inclusive = run(t, "inclusive", "uniform");
  EXPECT_NEAR(inclusive.host_mean_blocks, kHost, 1);
  EXPECT_GT(inclusive.duplicate_share, 0.5);  // most of what the guest read last
  const ModelSummary none = run(t, "none", "uniform");
  EXPECT_EQ(none.host_mean_blocks, 0);
  EXPECT_NEAR(none.guest_hit, static_cast<double>(kGuest) / kData, 0.01);
  EXPECT_NEAR(none.system_hit, none.guest_hit, 1e-9);
}

TEST(CacheModel, PressureEvictsDuplicatesBeforeHostOnlyBlocks) {
  // Guest of 2, host of 3: after 0 1 2 the host holds 0 (the guest dropped it: host-only, and
  // the LRU's victim) and the duplicates 1 and 2. Reading 3 needs room: a duplicate goes.
  Topology t = Topology::uniform(1, 16, 2, 3, false);
  for (const char* order : {"newest", "oldest"}) {
    CacheModel model(t, parse_policy(std::string("pressure:") + order));
    for (uint32_t page : {0u, 1u, 2u, 3u}) model.access(0, page);
    EXPECT_TRUE(model.host().contains(0)) << order;
    EXPECT_EQ(model.host().contains(1), std::string(order) == "newest") << order;
    EXPECT_EQ(model.host().contains(2), std::string(order) == "oldest") << order;
    EXPECT_TRUE(model.host().contains(3)) << order;
    EXPECT_EQ(model.counters().lru_evictions, 0u);
    EXPECT_EQ(model.counters().duplicate_evictions, 1u);
  }
  CacheModel inclusive(t, parse_policy("inclusive"));
  for (uint32_t page : {0u, 1u, 2u, 3u}) inclusive.access(0, page);
  EXPECT_FALSE(inclusive.host().contains(0));  // the LRU's choice, host-only or not
}

TEST(CacheModel, PressureOrderPicksByTheTimeTheGuestGotTheBlock) {
  // Guest of 4, host of 3: read 0 1 2 (three duplicates, 0 oldest), then 3 needs room.
  Topology t = Topology::uniform(1, 16, 4, 3, false);
  CacheModel newest(t, parse_policy("pressure:newest"));
  CacheModel oldest(t, parse_policy("pressure:oldest"));
  for (uint32_t page : {0u, 1u, 2u, 3u}) {
    newest.access(0, page);
    oldest.access(0, page);
  }
  EXPECT_FALSE(newest.host().contains(2));
  EXPECT_TRUE(newest.host().contains(0));
  EXPECT_FALSE(oldest.host().contains(0));
  EXPECT_TRUE(oldest.host().contains(2));
}

TEST(CacheModel, PressureStepEvictsThatManyDuplicatesWithinTheHeadroom) {
  Topology t = Topology::uniform(1, 64, 32, 10, false);
  CacheModel model(t, parse_policy("pressure:oldest:4:2"));
  for (uint32_t page = 0; page < 8; ++page) model.access(0, page);  // 8 duplicates, size 8 = 10-2
  model.access(0, 8);  // within the headroom: 4 go, then 8 comes in
  EXPECT_EQ(model.host().size(), 5u);
  EXPECT_EQ(model.counters().duplicate_evictions, 4u);
  for (uint32_t page : {0u, 1u, 2u, 3u}) EXPECT_FALSE(model.host().contains(page));
}

TEST(CacheModel, SharedBlockIsADuplicateOnlyWhenEveryVmHoldsItUnderAll) {
  for (const SharedRule rule : {SharedRule::kAll, SharedRule::kAny}) {
    Topology t = Topology::uniform(3, 16, 8, 8, true);
    t.shared_rule = rule;
    CacheModel model(t, parse_policy("inclusive"));
    model.access(model.attachment(0), 5);
    model.access(model.attachment(1), 5);
    EXPECT_EQ(model.host().duplicate(5), rule == SharedRule::kAny);
    model.access(model.attachment(2), 5);
    EXPECT_TRUE(model.host().duplicate(5));
    EXPECT_EQ(model.counters().host_hits, 2u);  // the second and third VM read the host's copy
  }
}

TEST(CacheModel, ReadmitCountsADeviceReadPerDroppedBlock) {
  Topology t = Topology::uniform(1, 16, 2, 8, false);
  CacheModel model(t, parse_policy("readmit"));
  for (uint32_t page : {0u, 1u, 2u, 3u}) model.access(0, page);  // drops 0, then 1
  EXPECT_EQ(model.counters().device_reads, 4u);
  EXPECT_EQ(model.counters().readmit_reads, 2u);
  EXPECT_TRUE(model.host().contains(0));
  EXPECT_TRUE(model.host().contains(1));
  model.access(0, 0);
  EXPECT_EQ(model.counters().host_hits, 1u);
}

TEST(CacheModel, TwoListGuestKeepsItsActiveBlocksThroughAScan) {
  for (const GuestLru kind : {GuestLru::kLru, GuestLru::kTwoList}) {
    GuestCache guest(1000, 100, kind);
    for (int round = 0; round < 2; ++round)
      for (uint32_t b = 0; b < 40; ++b)
        if (!guest.hit(b)) guest.insert(b);  // 40 blocks read twice: active
    for (uint32_t b = 100; b < 400; ++b) guest.insert(b);  // a scan of 300 blocks, once each
    uint32_t kept = 0;
    for (uint32_t b = 0; b < 40; ++b) kept += guest.holds(b);
    EXPECT_EQ(kept, kind == GuestLru::kTwoList ? 40u : 0u);
    EXPECT_EQ(guest.size(), 100u);
  }
}

TEST(CachePolicy, NamesRoundTripAndBadOnesAreRefused) {
  for (const Policy& p : standard_policies()) EXPECT_EQ(parse_policy(p.name()).name(), p.name());
  EXPECT_EQ(parse_policy("pressure:oldest:16384:4096").name(), "pressure:oldest:16384:4096");
  for (const char* bad : {"", "lru", "eager:0", "eager:-1", "eager:x", "pressure", "pressure:middle",
                          "save:1.5", "save:nan", "inclusive:3", "pressure:newest:0"})
    EXPECT_THROW(parse_policy(bad), std::invalid_argument) << bad;
}

TEST(CacheModel, RefusesTopologiesItCannotHold) {
  Topology t = Topology::uniform(1, uint64_t{1} << 33, 1, 1, false);
  EXPECT_THROW(CacheModel(t, parse_policy("inclusive")), std::invalid_argument);
  Topology bad = Topology::uniform(1, 16, 1, 1, false);
  bad.vms[0].images = {3};
  EXPECT_THROW(CacheModel(bad, parse_policy("inclusive")), std::invalid_argument);
}

}  // namespace
}  // namespace singleton::advise
