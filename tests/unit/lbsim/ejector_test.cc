#include "tools/lbsim/ejector.h"

#include <gtest/gtest.h>

#include <vector>

#include "balancers/server_set.h"

namespace gourmet::lbsim {
namespace {

using core::ExchangeOutcome;

const core::OutlierDetectionConfig kDefaults;  // 5 in a row, 30 s x n, 300 s, 50%

// Feeds `n` failures of server `i` at `now_ms` as the simulation does; the
// result of the crossing, if one happened.
std::optional<uint64_t> fail(Ejector& ejector, uint32_t i, int n, uint64_t now_ms) {
  std::optional<uint64_t> until;
  for (int k = 0; k < n; ++k) {
    if (ejector.health(i).observe(ExchangeOutcome::kGatewayStatus, ejector.rules(),
                                  core::FailWindow{}, now_ms)) {
      until = ejector.onCrossing(i, now_ms);
    }
  }
  return until;
}

TEST(Ejector, EjectsAtTheFifthFailureInARowForBaseEjectionTime) {
  Ejector ejector(4, kDefaults);
  EXPECT_FALSE(fail(ejector, 1, 4, 1000));
  EXPECT_TRUE(ejector.health(1).healthy());
  std::optional<uint64_t> until = fail(ejector, 1, 1, 1000);
  ASSERT_TRUE(until);
  EXPECT_EQ(*until, 31000u);
  EXPECT_FALSE(ejector.health(1).healthy());
  EXPECT_EQ(ejector.ejections(), 1u);
  ejector.unEject(1, *until);
  EXPECT_TRUE(ejector.health(1).healthy());
  EXPECT_EQ(ejector.ejectedNow(), 0u);
}

TEST(Ejector, ASuccessBreaksTheRun) {
  Ejector ejector(4, kDefaults);
  EXPECT_FALSE(fail(ejector, 0, 4, 0));
  ejector.health(0).observe(ExchangeOutcome::kSuccess, kDefaults, core::FailWindow{}, 0);
  EXPECT_FALSE(fail(ejector, 0, 4, 0));
  EXPECT_TRUE(ejector.health(0).healthy());
}

TEST(Ejector, EjectionsInARowLastLongerUpToTheMaximumAndDecayWhenQuiet) {
  Ejector ejector(4, kDefaults);
  uint64_t now = 0;
  const uint64_t expected[] = {30000, 60000, 90000};
  for (uint64_t length : expected) {
    std::optional<uint64_t> until = fail(ejector, 2, 5, now);
    ASSERT_TRUE(until);
    EXPECT_EQ(*until - now, length);
    ejector.unEject(2, *until);
    now = *until;  // fails again at once: n goes up
  }
  // Two quiet base periods take n from 3 to 1: the next is the 2nd in a row.
  now += 60000;
  std::optional<uint64_t> until = fail(ejector, 2, 5, now);
  ASSERT_TRUE(until);
  EXPECT_EQ(*until - now, 60000u);

  core::OutlierDetectionConfig capped = kDefaults;
  capped.max_ejection_time = std::chrono::milliseconds(45000);
  Ejector short_cap(4, capped);
  ASSERT_TRUE(fail(short_cap, 0, 5, 0));
  short_cap.unEject(0, 30000);
  std::optional<uint64_t> second = fail(short_cap, 0, 5, 30000);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second - 30000, 45000u);
}

TEST(Ejector, NeverEjectsMoreThanMaxEjectionPercentButCountsAgain) {
  Ejector ejector(4, kDefaults);  // 50% of 4: two at most
  EXPECT_TRUE(fail(ejector, 0, 5, 0));
  EXPECT_TRUE(fail(ejector, 1, 5, 0));
  EXPECT_FALSE(fail(ejector, 2, 5, 0));
  EXPECT_TRUE(ejector.health(2).healthy());
  EXPECT_EQ(ejector.refused(), 1u);
  // The refusal forgot the run, so five more cross again (and are refused).
  EXPECT_FALSE(fail(ejector, 2, 5, 0));
  EXPECT_EQ(ejector.refused(), 2u);
  ejector.unEject(0, 30000);
  EXPECT_TRUE(fail(ejector, 2, 5, 30000));

  Ejector single(1, kDefaults);  // 50% of 1 rounds down, but one may go
  EXPECT_TRUE(fail(single, 0, 5, 0));
}

TEST(Ejector, EveryServerSetSkipsTheEjectedServerAfterRefresh) {
  Ejector ejector(3, kDefaults);
  std::vector<balancers::Candidate> candidates;
  for (uint32_t i = 0; i < 3; ++i) {
    candidates.push_back({.id = i + 1, .health = &ejector.health(i).flags});
  }
  balancers::ServerSet a(candidates, {}, nullptr, false, 0), b(candidates, {}, nullptr, false, 0);
  ASSERT_TRUE(fail(ejector, 1, 5, 0));
  for (balancers::ServerSet* set : {&a, &b}) {
    set->refresh(core::healthEpoch().load(std::memory_order_acquire), 0);
    EXPECT_TRUE(set->eligible(0));
    EXPECT_FALSE(set->eligible(1));
  }
  ejector.unEject(1, 30000);
  a.refresh(core::healthEpoch().load(std::memory_order_acquire), 30000);
  EXPECT_TRUE(a.eligible(1));
}

}  // namespace
}  // namespace gourmet::lbsim
