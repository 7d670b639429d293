#include "balancers/least_connections.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/unit/balancers/test_upstream.h"

namespace gourmet::balancers {
namespace {

std::string picks(Balancer& balancer, size_t count, uint64_t now_ms = 0) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    size_t server = balancer.pick(PickContext{.now_ms = now_ms});
    out += server == kNoServer ? '-' : static_cast<char>('a' + server);
  }
  return out;
}

TEST(LeastConnections, PicksTheFewestActive) {
  TestUpstream upstream({1, 1, 1});
  LeastConnections balancer(upstream.servers(), 0);
  upstream.setActive({3, 1, 2});
  EXPECT_EQ(picks(balancer, 3), "bbb");
  upstream.setActive({0, 1, 2});
  EXPECT_EQ(picks(balancer, 1), "a");
}

TEST(LeastConnections, ComparesActivePerWeight) {
  TestUpstream upstream({1, 4});
  LeastConnections balancer(upstream.servers(), 0);
  upstream.setActive({1, 3});  // 1 per unit against 0.75
  EXPECT_EQ(picks(balancer, 2), "bb");
  upstream.setActive({1, 5});  // 1 against 1.25
  EXPECT_EQ(picks(balancer, 2), "aa");
}

TEST(LeastConnections, FollowsTheLoadAsRequestsStartAndEnd) {
  // Each pick starts a request (as the worker would bump the counter):
  // with weights 2:1 the in-flight counts stay near 2:1.
  TestUpstream upstream({2, 1});
  LeastConnections balancer(upstream.servers(), 0);
  std::vector<uint32_t> active = {0, 0};
  for (int i = 0; i < 30; ++i) {
    ++active[balancer.pick(PickContext{})];
    upstream.setActive(active);
  }
  EXPECT_EQ(active, (std::vector<uint32_t>{20, 10}));
}

TEST(LeastConnections, TiesRotateInsteadOfFavouringTheFirst) {
  TestUpstream upstream({1, 1, 1});
  LeastConnections balancer(upstream.servers(), 0);
  EXPECT_EQ(picks(balancer, 6), "abcabc");
  TestUpstream four({1, 1, 1, 1});
  LeastConnections other(four.servers(), 0);
  four.setActive({1, 0, 1, 0});
  EXPECT_EQ(picks(other, 4), "bdbd");
}

TEST(LeastConnections, IdleTiesFollowTheWeights) {
  // Smooth weighted round robin among the tied, as nginx does: an idle 3:1
  // pair alternates 3:1, not 1:1 and not all to the first.
  TestUpstream upstream({3, 1});
  LeastConnections balancer(upstream.servers(), 0);
  EXPECT_EQ(picks(balancer, 8), "aabaaaba");
}

TEST(LeastConnections, WorkersStartAtDifferentServers) {
  TestUpstream upstream({1, 1, 1});
  LeastConnectionsFactory factory;
  for (uint32_t worker = 0; worker < 6; ++worker) {
    auto balancer = factory.create(upstream.servers(), BalancerParams{}, worker);
    EXPECT_EQ(balancer->pick(PickContext{}), worker % 3) << worker;
  }
}

TEST(LeastConnections, NeverPicksWeightZeroOrDown) {
  TestUpstream upstream({0, 1, 1, 1});
  LeastConnections balancer(upstream.servers(), 0);
  upstream.servers().markDown(3);
  upstream.setActive({0, 5, 9, 0});  // the idle ones are not eligible
  EXPECT_EQ(picks(balancer, 3), "bbb");
  upstream.servers().markDown(1);
  upstream.servers().markDown(2);
  EXPECT_EQ(balancer.pick(PickContext{}), kNoServer);
  TestUpstream empty({});
  LeastConnections none(empty.servers(), 0);
  EXPECT_EQ(none.pick(PickContext{}), kNoServer);
}

TEST(LeastConnections, RampingServerCountsAsMoreLoaded) {
  const SlowStart slow{.window = std::chrono::milliseconds(10000)};
  TestUpstream before({1}, {.slow_start = slow, .ids = {1}});
  TestUpstream upstream({1, 1}, {.slow_start = slow,
                                 .previous = &before.servers(),
                                 .ramp_new_servers = true,
                                 .now_ms = 1000,
                                 .ids = {1, 2}});
  LeastConnections balancer(upstream.servers(), 0);
  // At 10% weight, 1 active on the newcomer weighs as 10 on the other.
  upstream.setActive({5, 1});
  EXPECT_EQ(picks(balancer, 2, 1000), "aa");
  upstream.setActive({11, 1});
  EXPECT_EQ(picks(balancer, 2, 1000), "bb");
  // Idle, it gets its share of the turns: 1 in 11.
  upstream.setActive({0, 0});
  const std::vector<size_t> counts = countPicks(balancer, 2, 1100, 1000);
  EXPECT_NEAR(counts[1], 100, 1);
  // After the window it is an equal.
  upstream.setActive({5, 5});
  EXPECT_NEAR(countPicks(balancer, 2, 100, 11000)[1], 50, 2);
}

TEST(LeastConnections, PickDoesNotAllocate) {
  TestUpstream upstream({5, 0, 1, 3, 1});
  LeastConnections balancer(upstream.servers(), 2);
  const size_t before = countedAllocations();
  size_t sum = 0;
  for (uint32_t i = 0; i < 1000; ++i) {
    // One counter at a time: setActive(vector) would allocate here.
    upstream.setActive(i % 5, i % 3);
    sum += balancer.pick(PickContext{});
  }
  EXPECT_EQ(countedAllocations(), before);
  EXPECT_GT(sum, 0u);
}

}  // namespace
}  // namespace gourmet::balancers
