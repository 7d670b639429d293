#include "balancers/server_set.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>

#include "tests/unit/balancers/test_upstream.h"

namespace gourmet::balancers {
namespace {

using std::chrono::milliseconds;

// Envoy's defaults but a 10 s window: linear from 10% to 100%.
const SlowStart kTenSeconds{.window = milliseconds(10000)};

TEST(ServerSet, WithoutSlowStartWeightsAreTheConfiguredOnes) {
  TestUpstream upstream({3, 1}, {.ramp_new_servers = true, .now_ms = 500});
  EXPECT_EQ(upstream.servers().effectiveWeight(0, 500), 3.0);
  EXPECT_EQ(upstream.servers().effectiveWeight(1, 0), 1.0);
  EXPECT_FALSE(upstream.servers().ramping(500));
}

TEST(ServerSet, WeightZeroIsNeverEligible) {
  TestUpstream upstream({0, 2});
  EXPECT_FALSE(upstream.servers().eligible(0));
  EXPECT_TRUE(upstream.servers().eligible(1));
  EXPECT_EQ(upstream.servers().effectiveWeight(0, 0), 0.0);
  EXPECT_TRUE(upstream.servers().anyEligible());
  TestUpstream drained({0, 0});
  EXPECT_FALSE(drained.servers().anyEligible());
}

TEST(ServerSet, MarkDownAndUpChangeEligibilityOnceEach) {
  TestUpstream upstream({1, 1});
  ServerSet& servers = upstream.servers();
  const uint64_t generation = servers.generation();
  servers.markDown(1);
  servers.markDown(1);  // already down: no change
  EXPECT_FALSE(servers.eligible(1));
  EXPECT_EQ(servers.effectiveWeight(1, 0), 0.0);
  EXPECT_EQ(servers.generation(), generation + 1);
  servers.markDown(0);
  EXPECT_FALSE(servers.anyEligible());
  servers.markUp(1, 10);
  servers.markUp(1, 20);
  EXPECT_TRUE(servers.eligible(1));
  EXPECT_EQ(servers.generation(), generation + 3);
}

TEST(ServerSet, ActiveReadsTheSharedCounter) {
  TestUpstream upstream({1, 1});
  upstream.setActive(1, 7);
  EXPECT_EQ(upstream.servers().active(0), 0u);
  EXPECT_EQ(upstream.servers().active(1), 7u);
  const Candidate no_counter{.weight = 1};
  ServerSet bare(std::span(&no_counter, 1), {}, nullptr, false, 0);
  EXPECT_EQ(bare.active(0), 0u);
}

TEST(ServerSet, NothingRampsAtStartUp) {
  TestUpstream upstream({2, 2}, {.slow_start = kTenSeconds, .now_ms = 1000});
  EXPECT_FALSE(upstream.servers().ramping(1000));
  EXPECT_EQ(upstream.servers().effectiveWeight(0, 1000), 2.0);
}

TEST(ServerSet, NewServerRampsLinearlyFromTheMinimumToFull) {
  TestUpstream upstream({4}, {.slow_start = kTenSeconds, .ramp_new_servers = true, .now_ms = 1000});
  const ServerSet& servers = upstream.servers();
  EXPECT_TRUE(servers.ramping(1000));
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(0, 1000), 0.4);  // min_weight_percent 10
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(0, 1500), 0.4);  // 5% < 10%: still the floor
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(0, 3000), 0.8);  // 20% of the window
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(0, 6000), 2.0);  // half way
  EXPECT_TRUE(servers.ramping(10999));
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(0, 11000), 4.0);
  EXPECT_FALSE(servers.ramping(11000));
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(0, 50000), 4.0);
}

TEST(ServerSet, AggressionBendsTheRamp) {
  // Envoy: weight * max(min, (elapsed / window)^(1 / aggression)).
  const SlowStart eager{.window = milliseconds(10000), .aggression = 2.0};
  const SlowStart shy{.window = milliseconds(10000), .aggression = 0.5, .min_weight_percent = 1};
  TestUpstream fast({1}, {.slow_start = eager, .ramp_new_servers = true, .now_ms = 1000});
  TestUpstream slow({1}, {.slow_start = shy, .ramp_new_servers = true, .now_ms = 1000});
  EXPECT_DOUBLE_EQ(fast.servers().effectiveWeight(0, 6000), std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(slow.servers().effectiveWeight(0, 6000), 0.25);
  EXPECT_DOUBLE_EQ(slow.servers().effectiveWeight(0, 2000), 0.01);  // 0.1^2 = 1%
}

TEST(ServerSet, MinimumPercentIsTheFloor) {
  const SlowStart high{.window = milliseconds(10000), .min_weight_percent = 30};
  TestUpstream upstream({10}, {.slow_start = high, .ramp_new_servers = true, .now_ms = 1000});
  EXPECT_DOUBLE_EQ(upstream.servers().effectiveWeight(0, 3000), 3.0);
  EXPECT_DOUBLE_EQ(upstream.servers().effectiveWeight(0, 5000), 4.0);
}

TEST(ServerSet, ZeroMinimumStillLeavesAnEligibleServerSomeWeight) {
  // Otherwise replacing every server at once would leave nothing to pick.
  const SlowStart zero{.window = milliseconds(10000), .min_weight_percent = 0};
  TestUpstream upstream({2}, {.slow_start = zero, .ramp_new_servers = true, .now_ms = 1000});
  EXPECT_GT(upstream.servers().effectiveWeight(0, 1000), 0.0);
  EXPECT_LT(upstream.servers().effectiveWeight(0, 1000), 0.01);
}

TEST(ServerSet, RecoveredServerRampsAgain) {
  TestUpstream upstream({2, 2}, {.slow_start = kTenSeconds});
  ServerSet& servers = upstream.servers();
  servers.markDown(1);
  servers.markUp(1, 20000);
  EXPECT_TRUE(servers.ramping(20000));
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(1, 20000), 0.2);
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(1, 25000), 1.0);
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(1, 30000), 2.0);
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(0, 20000), 2.0);  // the other one never stopped
}

TEST(ServerSet, MarkUpWithoutSlowStartIsFullWeightAtOnce) {
  TestUpstream upstream({2});
  upstream.servers().markDown(0);
  upstream.servers().markUp(0, 5000);
  EXPECT_FALSE(upstream.servers().ramping(5000));
  EXPECT_EQ(upstream.servers().effectiveWeight(0, 5000), 2.0);
}

// envoy#29008: in Envoy a host set update restarted the ramp of hosts that
// were already ramping. Here servers the previous set knew keep their ramp.
TEST(ServerSet, AddingAServerDoesNotRestartOthersRamps) {
  TestUpstream first(
      {1, 1},
      {.slow_start = kTenSeconds, .ramp_new_servers = true, .now_ms = 1000, .ids = {10, 20}});
  TestUpstream second({1, 1, 1}, {.slow_start = kTenSeconds,
                                  .previous = &first.servers(),
                                  .ramp_new_servers = true,
                                  .now_ms = 6000,
                                  .ids = {10, 20, 30}});
  const ServerSet& servers = second.servers();
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(0, 6000), 0.5);  // half way, as before
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(1, 6000), 0.5);
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(2, 6000), 0.1);  // the newcomer starts
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(0, 11000), 1.0);
  EXPECT_DOUBLE_EQ(servers.effectiveWeight(2, 11000), 0.5);
  EXPECT_TRUE(servers.ramping(15999));
  EXPECT_FALSE(servers.ramping(16000));
}

TEST(ServerSet, ServersKnownSinceStartUpDoNotRampWhenOthersJoin) {
  TestUpstream first({1, 1}, {.slow_start = kTenSeconds, .ids = {10, 20}});
  // Reordered, one removed, one added.
  TestUpstream second({1, 1}, {.slow_start = kTenSeconds,
                               .previous = &first.servers(),
                               .ramp_new_servers = true,
                               .now_ms = 6000,
                               .ids = {30, 10}});
  EXPECT_DOUBLE_EQ(second.servers().effectiveWeight(0, 6000), 0.1);
  EXPECT_DOUBLE_EQ(second.servers().effectiveWeight(1, 6000), 1.0);
}

TEST(ServerSet, HealthStateCarriesOverToTheNextSet) {
  for (const SlowStart& slow : {SlowStart{}, kTenSeconds}) {
    TestUpstream first({1, 1, 1}, {.slow_start = slow, .ids = {10, 20, 30}});
    first.servers().markDown(1);
    TestUpstream second({1, 1, 1}, {.slow_start = slow,
                                    .previous = &first.servers(),
                                    .ramp_new_servers = true,
                                    .now_ms = 1000,
                                    .ids = {20, 30, 40}});
    EXPECT_FALSE(second.servers().eligible(0)) << slow.window.count();
    EXPECT_TRUE(second.servers().eligible(1));
    EXPECT_TRUE(second.servers().eligible(2));
  }
}

}  // namespace
}  // namespace gourmet::balancers
