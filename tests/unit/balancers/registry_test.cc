#include "balancers/registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "tests/unit/balancers/test_upstream.h"

namespace gourmet::balancers {
namespace {

TEST(Registry, FindsRoundRobin) {
  const BalancerFactory* factory = findBalancer("round_robin");
  ASSERT_NE(factory, nullptr);
  TestUpstream upstream({2, 1});
  auto balancer = factory->create(upstream.servers(), BalancerParams{}, 0);
  ASSERT_NE(balancer, nullptr);
  EXPECT_EQ(balancer->pick(PickContext{}), 0u);
  EXPECT_EQ(balancer->pick(PickContext{}), 1u);
  EXPECT_EQ(balancer->pick(PickContext{}), 0u);
}

TEST(Registry, FindsTheIssueFourAlgorithms) {
  for (std::string_view name : {"random", "least_conn", "p2c", "least_request", "jiq"}) {
    EXPECT_NE(findBalancer(name), nullptr) << name;
  }
  // Envoy's name for the same algorithm.
  EXPECT_EQ(findBalancer("least_request"), findBalancer("p2c"));
}

TEST(Registry, UnknownNameIsNull) {
  EXPECT_EQ(findBalancer("least_conn_typo"), nullptr);
  EXPECT_EQ(findBalancer(""), nullptr);
  EXPECT_EQ(findBalancer("Round_Robin"), nullptr);
}

TEST(Registry, NamesListEveryBalancer) {
  auto names = balancerNames();
  EXPECT_THAT(std::vector<std::string_view>(names.begin(), names.end()),
              ::testing::IsSupersetOf({"round_robin", "random", "least_conn", "p2c", "jiq"}));
  for (std::string_view name : names) EXPECT_NE(findBalancer(name), nullptr) << name;
}

// The contract every registered algorithm shares, checked through the
// registry so that a new one is covered the day it is added.

// Drives `balancer` like a worker: pick, onStart, onEnd a few picks later,
// with varying hashes and a moving clock. Returns the servers picked.
std::vector<size_t> drive(Balancer& balancer, TestUpstream& upstream, size_t servers,
                          size_t picks) {
  std::vector<size_t> out;
  std::vector<uint32_t> active(servers, 0);
  size_t held[4] = {kNoServer, kNoServer, kNoServer, kNoServer};
  for (size_t i = 0; i < picks; ++i) {
    const uint64_t now = 1000 + i;
    if (held[i % 4] != kNoServer) {
      --active[held[i % 4]];
      upstream.setActive(active);
      balancer.onEnd(held[i % 4], Completion{.now_ms = now, .latency_us = 1000 + i % 7});
    }
    const PickContext ctx{.now_ms = now, .hash = i * 0x9e3779b97f4a7c15ULL, .has_hash = true};
    const size_t server = balancer.pick(ctx);
    out.push_back(server);
    held[i % 4] = server < servers ? server : kNoServer;
    if (held[i % 4] == kNoServer) continue;
    ++active[server];
    upstream.setActive(active);
    balancer.onStart(server, now);
  }
  return out;
}

TEST(Registry, EveryBalancerSkipsWeightZeroAndServersMarkedDown) {
  for (std::string_view name : balancerNames()) {
    TestUpstream upstream({0, 2, 1, 0, 3});
    upstream.servers().markDown(4);
    auto balancer = findBalancer(name)->create(upstream.servers(), BalancerParams{}, 1);
    for (size_t server : drive(*balancer, upstream, 5, 500)) {
      ASSERT_TRUE(server == 1 || server == 2) << name << " picked " << server;
    }
  }
}

TEST(Registry, EveryBalancerReturnsNoServerWhenNoneIsEligible) {
  for (std::string_view name : balancerNames()) {
    TestUpstream drained({0, 0, 0});
    auto balancer = findBalancer(name)->create(drained.servers(), BalancerParams{}, 0);
    for (size_t server : drive(*balancer, drained, 3, 20)) EXPECT_EQ(server, kNoServer) << name;

    TestUpstream down({1, 1});
    auto after = findBalancer(name)->create(down.servers(), BalancerParams{}, 0);
    down.servers().markDown(0);
    down.servers().markDown(1);
    for (size_t server : drive(*after, down, 2, 20)) EXPECT_EQ(server, kNoServer) << name;

    TestUpstream empty({});
    auto none = findBalancer(name)->create(empty.servers(), BalancerParams{}, 0);
    EXPECT_EQ(none->pick(PickContext{.has_hash = true}), kNoServer) << name;
  }
}

TEST(Registry, EveryBalancerPicksWithoutAllocating) {
  for (std::string_view name : balancerNames()) {
    TestUpstream upstream({3, 0, 1, 2, 1});
    auto balancer = findBalancer(name)->create(upstream.servers(), BalancerParams{}, 2);
    drive(*balancer, upstream, 5, 8);  // lazily built tables, if any
    const size_t before = countedAllocations();
    size_t held[4] = {kNoServer, kNoServer, kNoServer, kNoServer};
    for (size_t i = 0; i < 1000; ++i) {
      if (held[i % 4] != kNoServer) balancer->onEnd(held[i % 4], Completion{.now_ms = 2000 + i});
      const size_t server = balancer->pick(
          PickContext{.now_ms = 2000 + i, .hash = i * 0x2545f4914f6cdd1dULL, .has_hash = true});
      held[i % 4] = server;
      if (server != kNoServer) balancer->onStart(server, 2000 + i);
    }
    EXPECT_EQ(countedAllocations(), before) << name;
  }
}

}  // namespace
}  // namespace gourmet::balancers
