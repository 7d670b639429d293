#include "balancers/smooth_weighted_round_robin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <new>
#include <numeric>
#include <string>
#include <vector>

#include "tests/unit/balancers/test_upstream.h"

// Counts every allocation in this test binary, so a test can assert that
// pick() makes none. The only replacement of operator new in unit_balancers;
// other files read the count through countedAllocations().
namespace {
size_t allocations = 0;
}  // namespace

// Every plain form, so that no allocation goes to the default operator new
// and comes back through ours (ASan reports such a mix as a mismatch).
// g++ 12 at -O3 inlines these and then flags free() on memory "from new":
// that pairing is exactly what a replacement allocator is.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(size_t size, const std::nothrow_t&) noexcept {
  ++allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new(size_t size) {
  if (void* p = operator new(size, std::nothrow)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) { return operator new(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  return operator new(size, std::nothrow);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace gourmet::balancers {

size_t countedAllocations() { return allocations; }

namespace {

const BalancerParams kParams;

// Picks rendered as letters (server 0 = 'a') so sequences read like the docs.
std::string picks(Balancer& balancer, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    size_t server = balancer.pick(PickContext{});
    out += server == kNoServer ? '-' : static_cast<char>('a' + server);
  }
  return out;
}

TEST(SmoothWeightedRoundRobin, InterleavesFiveOneOne) {
  TestUpstream upstream({5, 1, 1});
  SmoothWeightedRoundRobin balancer(upstream.servers());
  EXPECT_EQ(picks(balancer, 21),
            "aabacaa"
            "aabacaa"
            "aabacaa");
}

TEST(SmoothWeightedRoundRobin, EqualWeightsRotate) {
  TestUpstream upstream({1, 1, 1});
  SmoothWeightedRoundRobin balancer(upstream.servers());
  EXPECT_EQ(picks(balancer, 9), "abcabcabc");
}

TEST(SmoothWeightedRoundRobin, TwoOne) {
  TestUpstream upstream({2, 1});
  SmoothWeightedRoundRobin balancer(upstream.servers());
  EXPECT_EQ(picks(balancer, 9), "abaabaaba");
}

TEST(SmoothWeightedRoundRobin, SingleServer) {
  TestUpstream upstream({3});
  SmoothWeightedRoundRobin balancer(upstream.servers());
  EXPECT_EQ(picks(balancer, 4), "aaaa");
}

// Each full period (total weight picks) holds every server exactly `weight`
// times, from the first pick on.
void expectExactPeriods(Balancer& balancer, const std::vector<uint32_t>& weights, int periods) {
  const uint32_t total = std::accumulate(weights.begin(), weights.end(), 0u);
  for (int period = 0; period < periods; ++period) {
    std::vector<uint32_t> counts(weights.size(), 0);
    for (uint32_t i = 0; i < total; ++i) {
      size_t server = balancer.pick(PickContext{});
      ASSERT_LT(server, weights.size());
      ++counts[server];
    }
    EXPECT_EQ(counts, weights) << "period " << period;
  }
}

TEST(SmoothWeightedRoundRobin, ProportionsExactPerPeriod) {
  const std::vector<uint32_t> weights = {7, 3, 1, 10, 4, 4};
  TestUpstream upstream(weights);
  SmoothWeightedRoundRobin balancer(upstream.servers());
  expectExactPeriods(balancer, weights, 100);
}

TEST(SmoothWeightedRoundRobin, SkipsWeightZero) {
  TestUpstream upstream({0, 2, 0, 1, 0});
  SmoothWeightedRoundRobin balancer(upstream.servers());
  EXPECT_EQ(picks(balancer, 6), "bdbbdb");
}

TEST(SmoothWeightedRoundRobin, AllZeroHasNoServer) {
  TestUpstream upstream({0, 0, 0});
  SmoothWeightedRoundRobin balancer(upstream.servers());
  EXPECT_EQ(balancer.pick(PickContext{}), kNoServer);
  EXPECT_EQ(balancer.pick(PickContext{}), kNoServer);
}

TEST(SmoothWeightedRoundRobin, EmptyHasNoServer) {
  TestUpstream upstream({});
  SmoothWeightedRoundRobin balancer(upstream.servers());
  EXPECT_EQ(balancer.pick(PickContext{}), kNoServer);
}

TEST(SmoothWeightedRoundRobin, PickDoesNotAllocate) {
  TestUpstream upstream({5, 0, 1, 3});
  auto balancer = SmoothWeightedRoundRobinFactory().create(upstream.servers(), kParams, 1);
  const size_t before = allocations;
  size_t sum = 0;
  for (int i = 0; i < 1000; ++i) sum += balancer->pick(PickContext{});
  EXPECT_EQ(allocations, before);
  EXPECT_GT(sum, 0u);
}

TEST(SmoothWeightedRoundRobin, SkipsServersMarkedDownAndTakesThemBack) {
  TestUpstream upstream({1, 1, 1});
  SmoothWeightedRoundRobin balancer(upstream.servers());
  upstream.servers().markDown(1);
  EXPECT_EQ(picks(balancer, 4), "acac");
  upstream.servers().markUp(1, 0);
  const std::string after = picks(balancer, 6);
  EXPECT_EQ(std::count(after.begin(), after.end(), 'b'), 2) << after;
}

TEST(SmoothWeightedRoundRobin, RampingServerGetsItsEffectiveWeight) {
  // Server 2 joins a running upstream with a 10 s slow start (10% minimum,
  // linear): at first it weighs 0.1, half way 0.5, then all of 1.
  const SlowStart slow{.window = std::chrono::milliseconds(10000)};
  TestUpstream before({1, 1}, {.slow_start = slow, .ids = {1, 2}});
  TestUpstream upstream({1, 1, 1}, {.slow_start = slow,
                                    .previous = &before.servers(),
                                    .ramp_new_servers = true,
                                    .now_ms = 1000,
                                    .ids = {1, 2, 3}});
  SmoothWeightedRoundRobin balancer(upstream.servers());
  // Smooth weighted round robin is exact per period: 0.1 of 2.1.
  EXPECT_EQ(countPicks(balancer, 3, 210, 1000), (std::vector<size_t>{100, 100, 10}));
  std::vector<size_t> half = countPicks(balancer, 3, 2500, 6000);
  EXPECT_NEAR(half[2], 500, 2);
  std::vector<size_t> full = countPicks(balancer, 3, 3000, 11000);
  EXPECT_NEAR(full[2], 1000, 2);
}

TEST(SmoothWeightedRoundRobinFactory, WorkerZeroStartsAtTheBeginning) {
  TestUpstream upstream({5, 1, 1});
  auto balancer = SmoothWeightedRoundRobinFactory().create(upstream.servers(), kParams, 0);
  EXPECT_EQ(picks(*balancer, 7), "aabacaa");
}

TEST(SmoothWeightedRoundRobinFactory, WorkersStartAtDifferentOffsets) {
  TestUpstream upstream({1, 1, 1});
  SmoothWeightedRoundRobinFactory factory;
  auto worker0 = factory.create(upstream.servers(), kParams, 0);
  auto worker1 = factory.create(upstream.servers(), kParams, 1);
  auto worker2 = factory.create(upstream.servers(), kParams, 2);
  EXPECT_EQ(worker0->pick(PickContext{}), 0u);
  EXPECT_EQ(worker1->pick(PickContext{}), 1u);
  EXPECT_EQ(worker2->pick(PickContext{}), 2u);
}

TEST(SmoothWeightedRoundRobinFactory, FirstPicksOfWorkersFollowTheWeights) {
  // Worker k starts k picks in, so the workers' first picks together are
  // the sequence one shared balancer would have produced.
  TestUpstream upstream({5, 1, 1});
  SmoothWeightedRoundRobinFactory factory;
  std::string first;
  for (uint32_t worker = 0; worker < 7; ++worker)
    first += picks(*factory.create(upstream.servers(), kParams, worker), 1);
  EXPECT_EQ(first, "aabacaa");
}

TEST(SmoothWeightedRoundRobinFactory, OffsetsKeepProportionsExact) {
  const std::vector<uint32_t> weights = {5, 1, 1};
  TestUpstream upstream(weights);
  SmoothWeightedRoundRobinFactory factory;
  auto worker0 = factory.create(upstream.servers(), kParams, 0);
  auto worker1 = factory.create(upstream.servers(), kParams, 1);
  EXPECT_NE(picks(*worker0, 7), picks(*worker1, 7));
  for (uint32_t worker : {0u, 1u, 2u, 6u, 7u, 63u, 1000u}) {
    auto balancer = factory.create(upstream.servers(), kParams, worker);
    expectExactPeriods(*balancer, weights, 10);
  }
}

TEST(SmoothWeightedRoundRobinFactory, AllZeroHasNoServerForAnyWorker) {
  TestUpstream upstream({0, 0});
  auto balancer = SmoothWeightedRoundRobinFactory().create(upstream.servers(), kParams, 3);
  EXPECT_EQ(balancer->pick(PickContext{}), kNoServer);
}

}  // namespace
}  // namespace gourmet::balancers
