// bench/sim's phases: each VM's own access count (the fio experiment's guests run at different
// rates, so a time-based job reads more in one guest than in the other), and the replay of one
// seed (fio's randrepeat=1 offsets in every round).
#include <gtest/gtest.h>

#include <stdexcept>

#include "bench/sim/phases.hpp"

namespace singleton::sim {
namespace {

advise::Topology two_guests() {
  return advise::Topology::uniform(2, 4096, 1024, 0, false);  // no host cache
}

TEST(Phases, EachVmRunsItsOwnCount) {
  advise::CacheModel model(two_guests(), advise::parse_policy("none"));
  Phase phase{"job", {parse_workload("uniform")}, 0, 7, true, {300, 1000}};
  const auto counters = run_phases(model, {phase}, {4096, 4096});
  ASSERT_EQ(counters.size(), 1u);
  EXPECT_EQ(counters[0].accesses, 1300u);
}

TEST(Phases, ACountPerVmOrNone) {
  advise::CacheModel model(two_guests(), advise::parse_policy("none"));
  Phase phase{"job", {parse_workload("uniform")}, 10, 7, true, {300}};
  EXPECT_THROW(run_phases(model, {phase}, {4096, 4096}), std::invalid_argument);
}

// A round with the seed of the one before replays its offsets: all hits when the guest holds
// them (what fio did with randrepeat=1), few with a seed of its own.
TEST(Phases, TheSameSeedReplaysTheOffsets) {
  advise::CacheModel model(two_guests(), advise::parse_policy("none"));
  const Phase first{"r1", {parse_workload("uniform")}, 500, 7, true};
  Phase again = first;
  Phase other = first;
  other.seed = 8;
  const auto counters = run_phases(model, {first, again, other}, {4096, 4096});
  EXPECT_EQ(counters[1].guest_hits, counters[1].accesses);
  EXPECT_LT(counters[2].guest_hits, counters[2].accesses / 2);
}

}  // namespace
}  // namespace singleton::sim
