// The token bucket behind --cpu-budget, driven with given wall and CPU times (no clock).
#include "scrubber/watch/cpu_budget.hpp"

#include <gtest/gtest.h>

namespace singleton {
namespace {

TEST(CpuBudget, StartsWithAFullBurst) {
  CpuBudget budget(0.10, 20);
  EXPECT_TRUE(budget.allows_work());
  EXPECT_DOUBLE_EQ(budget.credit(), 2.0);
}

TEST(CpuBudget, WorkBeyondTheCreditStopsWorkUntilWallTimeRepaysIt) {
  CpuBudget budget(0.10, 20);
  budget.account(0, 3.0);  // a step that cost 3 CPU-s: 1 s of debt
  EXPECT_FALSE(budget.allows_work());
  EXPECT_NEAR(budget.seconds_until_allowed(), 10.0, 1e-9);
  budget.account(9.0, 0);
  EXPECT_FALSE(budget.allows_work());
  budget.account(1.5, 0);
  EXPECT_TRUE(budget.allows_work());
}

TEST(CpuBudget, CreditIsCappedAtTheBurst) {
  CpuBudget budget(0.10, 20);
  budget.account(1000, 0);
  EXPECT_DOUBLE_EQ(budget.credit(), 2.0);
}

// A loop that works whenever allowed, each step costing 0.4 CPU-s, ticking 0.25 s: over an hour
// the CPU it used stays within budget x wall + one burst.
TEST(CpuBudget, GreedyLoopAveragesAtMostTheBudget) {
  CpuBudget budget(0.10, 20);
  double used = 0;
  const double tick = 0.25;
  double cost_pending = 0;
  for (int i = 0; i < 4 * 3600; ++i) {
    budget.account(tick, cost_pending);
    cost_pending = 0;
    if (budget.allows_work()) {
      cost_pending = 0.4;
      used += 0.4;
    }
  }
  const double wall = 3600;
  EXPECT_LE(used, 0.10 * wall + 2.0 + 0.4);
  EXPECT_GE(used, 0.10 * wall - 0.4) << "the loop should get its whole budget";
}

TEST(CpuBudget, RaisingTheRateUnderPressureRefillsFaster) {
  CpuBudget budget(0.10, 20);
  budget.account(0, 4.0);  // 2 CPU-s of debt
  budget.set_fraction(0.40);
  EXPECT_NEAR(budget.seconds_until_allowed(), 5.0, 1e-9);
}

TEST(CpuBudget, LoweringTheRateCapsTheSavedCredit) {
  CpuBudget budget(0.40, 20);
  budget.set_fraction(0.10);
  EXPECT_DOUBLE_EQ(budget.credit(), 2.0);
}

}  // namespace
}  // namespace singleton
