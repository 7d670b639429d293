#include "balancers/weighted_random.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "tests/unit/balancers/test_upstream.h"

namespace gourmet::balancers {
namespace {

BalancerParams seeded(uint64_t seed) {
  BalancerParams params;
  params.seed = seed;
  return params;
}

// 100k picks with a fixed seed, against the weights. The bound is the
// chi-square 0.1% point for the degrees of freedom, so with a fair sampler
// a seed fails once in a thousand, and these seeds are fixed.
TEST(WeightedRandom, ProportionsFollowTheWeights) {
  const std::vector<uint32_t> weights = {1, 2, 3, 4, 0, 10};
  TestUpstream upstream(weights);
  WeightedRandom balancer(upstream.servers(), 42, 0);
  const std::vector<size_t> counts = countPicks(balancer, weights.size(), 100000);
  EXPECT_EQ(counts[4], 0u);
  EXPECT_LT(chiSquare(counts, {1, 2, 3, 4, 0, 10}), kChiSquare999[4]);
  // The same in plain terms: the 10-weight server has half the traffic.
  EXPECT_NEAR(counts[5] / 100000.0, 0.5, 0.01);
}

TEST(WeightedRandom, EqualWeightsAreUniform) {
  TestUpstream upstream({5, 5, 5, 5});
  auto balancer = WeightedRandomFactory().create(upstream.servers(), seeded(9), 3);
  EXPECT_LT(chiSquare(countPicks(*balancer, 4, 100000), {1, 1, 1, 1}), kChiSquare999[3]);
}

TEST(WeightedRandom, NeverPicksAServerMarkedDown) {
  TestUpstream upstream({1, 1, 1});
  WeightedRandom balancer(upstream.servers(), 1, 0);
  upstream.servers().markDown(0);
  const std::vector<size_t> counts = countPicks(balancer, 3, 10000);
  EXPECT_EQ(counts[0], 0u);
  EXPECT_LT(chiSquare(counts, {0, 1, 1}), kChiSquare999[1]);
  upstream.servers().markUp(0, 0);
  EXPECT_GT(countPicks(balancer, 3, 1000)[0], 0u);
}

TEST(WeightedRandom, NoneEligibleIsNoServer) {
  TestUpstream drained({0, 0});
  WeightedRandom balancer(drained.servers(), 1, 0);
  EXPECT_EQ(balancer.pick(PickContext{}), kNoServer);
  TestUpstream empty({});
  WeightedRandom none(empty.servers(), 1, 0);
  EXPECT_EQ(none.pick(PickContext{}), kNoServer);
  TestUpstream down({1});
  WeightedRandom balancer_down(down.servers(), 1, 0);
  down.servers().markDown(0);
  EXPECT_EQ(balancer_down.pick(PickContext{}), kNoServer);
}

TEST(WeightedRandom, WorkersAndSeedsGetDifferentStreams) {
  TestUpstream upstream({1, 1, 1, 1, 1, 1, 1, 1});
  WeightedRandomFactory factory;
  auto sequence = [&](uint64_t seed, uint32_t worker) {
    auto balancer = factory.create(upstream.servers(), seeded(seed), worker);
    std::vector<size_t> out;
    for (int i = 0; i < 32; ++i) out.push_back(balancer->pick(PickContext{}));
    return out;
  };
  EXPECT_EQ(sequence(5, 0), sequence(5, 0));
  EXPECT_NE(sequence(5, 0), sequence(5, 1));
  EXPECT_NE(sequence(5, 0), sequence(6, 0));
}

TEST(WeightedRandom, RampingServerGetsItsEffectiveWeight) {
  const SlowStart slow{.window = std::chrono::milliseconds(10000)};
  TestUpstream before({1, 1}, {.slow_start = slow, .ids = {1, 2}});
  TestUpstream upstream({1, 1, 1}, {.slow_start = slow,
                                    .previous = &before.servers(),
                                    .ramp_new_servers = true,
                                    .now_ms = 1000,
                                    .ids = {1, 2, 3}});
  WeightedRandom balancer(upstream.servers(), 3, 0);
  EXPECT_LT(chiSquare(countPicks(balancer, 3, 100000, 1000), {1, 1, 0.1}), kChiSquare999[2]);
  EXPECT_LT(chiSquare(countPicks(balancer, 3, 100000, 6000), {1, 1, 0.5}), kChiSquare999[2]);
  EXPECT_LT(chiSquare(countPicks(balancer, 3, 100000, 11000), {1, 1, 1}), kChiSquare999[2]);
}

TEST(WeightedRandom, RecoveredServerRampsAgain) {
  const SlowStart slow{.window = std::chrono::milliseconds(10000)};
  TestUpstream upstream({1, 1}, {.slow_start = slow});
  WeightedRandom balancer(upstream.servers(), 4, 0);
  upstream.servers().markDown(1);
  upstream.servers().markUp(1, 50000);
  EXPECT_LT(chiSquare(countPicks(balancer, 2, 100000, 50000), {1, 0.1}), kChiSquare999[1]);
}

TEST(WeightedRandom, PickDoesNotAllocate) {
  const SlowStart slow{.window = std::chrono::milliseconds(10000)};
  TestUpstream upstream({5, 0, 1, 3}, {.slow_start = slow});
  upstream.servers().markDown(3);
  upstream.servers().markUp(3, 100);  // ramping: the table is rebuilt as time moves
  WeightedRandom balancer(upstream.servers(), 1, 0);
  const size_t before = countedAllocations();
  size_t sum = 0;
  for (uint64_t now = 0; now < 1000; ++now) sum += balancer.pick(PickContext{.now_ms = now * 20});
  EXPECT_EQ(countedAllocations(), before);
  EXPECT_GT(sum, 0u);
}

}  // namespace
}  // namespace gourmet::balancers
