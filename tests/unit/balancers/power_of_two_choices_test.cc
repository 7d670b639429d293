#include "balancers/power_of_two_choices.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "tests/unit/balancers/test_upstream.h"

namespace gourmet::balancers {
namespace {

BalancerParams params(uint32_t choice_count = 2, double bias = 1.0, uint64_t seed = 17) {
  BalancerParams out;
  out.choice_count = choice_count;
  out.active_request_bias = bias;
  out.seed = seed;
  return out;
}

TEST(PowerOfTwoChoices, TakesTheLessLoadedOfTwo) {
  TestUpstream upstream({1, 1});
  PowerOfTwoChoices balancer(upstream.servers(), params(), 0);
  upstream.setActive({5, 0});
  EXPECT_EQ(countPicks(balancer, 2, 1000), (std::vector<size_t>{0, 1000}));
  upstream.setActive({2, 3});
  EXPECT_EQ(countPicks(balancer, 2, 1000), (std::vector<size_t>{1000, 0}));
}

TEST(PowerOfTwoChoices, SamplesTwoDistinctServersAndKeepsTheLessLoaded) {
  // Loads 0..9: server i wins when drawn with one of the 9 - i servers above
  // it, so with 2 distinct draws its share is (9 - i) / 45 and the busiest
  // server is never chosen.
  TestUpstream upstream(std::vector<uint32_t>(10, 1));
  PowerOfTwoChoices balancer(upstream.servers(), params(), 0);
  upstream.setActive({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const std::vector<size_t> counts = countPicks(balancer, 10, 100000);
  EXPECT_EQ(counts[9], 0u);
  EXPECT_LT(chiSquare(counts, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}), kChiSquare999[8]);
}

TEST(PowerOfTwoChoices, MoreChoicesAvoidMoreOfTheBusy) {
  TestUpstream upstream(std::vector<uint32_t>(10, 1));
  PowerOfTwoChoices balancer(upstream.servers(), params(3), 0);
  upstream.setActive({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const std::vector<size_t> counts = countPicks(balancer, 10, 100000);
  EXPECT_EQ(counts[8], 0u);
  EXPECT_EQ(counts[9], 0u);
  EXPECT_NEAR(counts[0] / 100000.0, 36.0 / 120, 0.01);  // C(9,2) / C(10,3)
}

TEST(PowerOfTwoChoices, IdleServersShareInProportionToWeight) {
  // The weighted draw decides between equally idle servers, so weights hold
  // when there is no load to compare (the first draw wins ties).
  TestUpstream pair({3, 1});
  PowerOfTwoChoices two(pair.servers(), params(), 0);
  EXPECT_LT(chiSquare(countPicks(two, 2, 100000), {3, 1}), kChiSquare999[1]);
  TestUpstream many({10, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  PowerOfTwoChoices ten(many.servers(), params(), 0);
  const std::vector<size_t> counts = countPicks(ten, 10, 100000);
  EXPECT_LT(chiSquare(counts, {10, 1, 1, 1, 1, 1, 1, 1, 1, 1}), kChiSquare999[9]);
}

TEST(PowerOfTwoChoices, EqualLoadsAreBrokenAtRandom) {
  TestUpstream upstream({1, 1, 1});
  PowerOfTwoChoices balancer(upstream.servers(), params(), 0);
  upstream.setActive({2, 2, 2});
  EXPECT_LT(chiSquare(countPicks(balancer, 3, 30000), {1, 1, 1}), kChiSquare999[2]);
}

TEST(PowerOfTwoChoices, RanksByActivePerWeight) {
  TestUpstream upstream({4, 1});
  PowerOfTwoChoices balancer(upstream.servers(), params(), 0);
  upstream.setActive({3, 1});  // 0.75 per unit against 1
  EXPECT_EQ(countPicks(balancer, 2, 1000), (std::vector<size_t>{1000, 0}));
  upstream.setActive({5, 1});  // 1.25 against 1
  EXPECT_EQ(countPicks(balancer, 2, 1000), (std::vector<size_t>{0, 1000}));
}

TEST(PowerOfTwoChoices, ActiveRequestBiasWeighsLoadAgainstWeight) {
  TestUpstream upstream({4, 1});
  upstream.setActive({3, 1});
  // Bias 2: 3^2 / 4 = 2.25 against 1, the light server wins.
  PowerOfTwoChoices strong(upstream.servers(), params(2, 2.0), 0);
  EXPECT_EQ(countPicks(strong, 2, 1000), (std::vector<size_t>{0, 1000}));
  // Bias 0.5: sqrt(3) / 4 = 0.43 against 1, the heavy one.
  PowerOfTwoChoices weak(upstream.servers(), params(2, 0.5), 0);
  EXPECT_EQ(countPicks(weak, 2, 1000), (std::vector<size_t>{1000, 0}));
  // Bias 0 ignores load: weighted random.
  PowerOfTwoChoices blind(upstream.servers(), params(2, 0.0), 0);
  upstream.setActive({100, 0});
  EXPECT_LT(chiSquare(countPicks(blind, 2, 100000), {4, 1}), kChiSquare999[1]);
}

TEST(PowerOfTwoChoices, FewerEligibleThanChoicesComparesAllEligible) {
  TestUpstream upstream({0, 1, 1, 1, 1});
  PowerOfTwoChoices balancer(upstream.servers(), params(5), 0);
  upstream.servers().markDown(3);
  upstream.setActive({0, 3, 1, 0, 2});  // the idle ones are not eligible
  EXPECT_EQ(countPicks(balancer, 5, 1000), (std::vector<size_t>{0, 0, 1000, 0, 0}));
}

TEST(PowerOfTwoChoices, NeverPicksWeightZeroOrDown) {
  TestUpstream upstream({0, 1, 0, 1, 1, 1});
  PowerOfTwoChoices balancer(upstream.servers(), params(), 0);
  upstream.servers().markDown(5);
  upstream.setActive({0, 4, 0, 4, 4, 0});
  const std::vector<size_t> counts = countPicks(balancer, 6, 30000);
  EXPECT_EQ(counts[0] + counts[2] + counts[5], 0u);
  EXPECT_LT(chiSquare(counts, {0, 1, 0, 1, 1, 0}), kChiSquare999[2]);
  for (size_t i : {1, 3, 4}) upstream.servers().markDown(i);
  EXPECT_EQ(balancer.pick(PickContext{}), kNoServer);
  TestUpstream empty({});
  PowerOfTwoChoices none(empty.servers(), params(), 0);
  EXPECT_EQ(none.pick(PickContext{}), kNoServer);
}

TEST(PowerOfTwoChoices, RampingServerIsDrawnLessAndCountsAsMoreLoaded) {
  const SlowStart slow{.window = std::chrono::milliseconds(10000)};
  TestUpstream before({1}, {.slow_start = slow, .ids = {1}});
  TestUpstream upstream({1, 1}, {.slow_start = slow,
                                 .previous = &before.servers(),
                                 .ramp_new_servers = true,
                                 .now_ms = 1000,
                                 .ids = {1, 2}});
  PowerOfTwoChoices balancer(upstream.servers(), params(), 0);
  EXPECT_LT(chiSquare(countPicks(balancer, 2, 100000, 1000), {1, 0.1}), kChiSquare999[1]);
  upstream.setActive({5, 1});  // 5 per unit against 10
  EXPECT_EQ(countPicks(balancer, 2, 1000, 1000), (std::vector<size_t>{1000, 0}));
  EXPECT_EQ(countPicks(balancer, 2, 1000, 11000), (std::vector<size_t>{0, 1000}));
}

TEST(PowerOfTwoChoices, PickDoesNotAllocate) {
  TestUpstream upstream({5, 0, 1, 3, 1, 1, 2});
  PowerOfTwoChoices balancer(upstream.servers(), params(), 1);
  const size_t before = countedAllocations();
  size_t sum = 0;
  for (uint32_t i = 0; i < 1000; ++i) {
    // One counter at a time: setActive(vector) would allocate here.
    upstream.setActive(i % 7, i % 3);
    sum += balancer.pick(PickContext{});
  }
  EXPECT_EQ(countedAllocations(), before);
  EXPECT_GT(sum, 0u);
}

}  // namespace
}  // namespace gourmet::balancers
