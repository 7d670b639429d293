#include "balancers/smooth_weighted_round_robin.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>
#include <numeric>
#include <string>
#include <vector>

// Counts every allocation in this test binary, so a test can assert that
// pick() makes none.
namespace {
size_t allocations = 0;
}  // namespace

void* operator new(size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace gourmet::balancers {
namespace {

std::vector<Candidate> withWeights(std::vector<uint32_t> weights) {
  std::vector<Candidate> servers;
  for (uint32_t weight : weights) servers.push_back(Candidate{.weight = weight});
  return servers;
}

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
  SmoothWeightedRoundRobin balancer(withWeights({5, 1, 1}));
  EXPECT_EQ(picks(balancer, 21),
            "aabacaa"
            "aabacaa"
            "aabacaa");
}

TEST(SmoothWeightedRoundRobin, EqualWeightsRotate) {
  SmoothWeightedRoundRobin balancer(withWeights({1, 1, 1}));
  EXPECT_EQ(picks(balancer, 9), "abcabcabc");
}

TEST(SmoothWeightedRoundRobin, TwoOne) {
  SmoothWeightedRoundRobin balancer(withWeights({2, 1}));
  EXPECT_EQ(picks(balancer, 9), "abaabaaba");
}

TEST(SmoothWeightedRoundRobin, SingleServer) {
  SmoothWeightedRoundRobin balancer(withWeights({3}));
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
  SmoothWeightedRoundRobin balancer(withWeights(weights));
  expectExactPeriods(balancer, weights, 100);
}

TEST(SmoothWeightedRoundRobin, SkipsWeightZero) {
  SmoothWeightedRoundRobin balancer(withWeights({0, 2, 0, 1, 0}));
  EXPECT_EQ(picks(balancer, 6), "bdbbdb");
}

TEST(SmoothWeightedRoundRobin, AllZeroHasNoServer) {
  SmoothWeightedRoundRobin balancer(withWeights({0, 0, 0}));
  EXPECT_EQ(balancer.pick(PickContext{}), kNoServer);
  EXPECT_EQ(balancer.pick(PickContext{}), kNoServer);
}

TEST(SmoothWeightedRoundRobin, EmptyHasNoServer) {
  SmoothWeightedRoundRobin balancer(std::span<const Candidate>{});
  EXPECT_EQ(balancer.pick(PickContext{}), kNoServer);
}

TEST(SmoothWeightedRoundRobin, PickDoesNotAllocate) {
  auto balancer = SmoothWeightedRoundRobinFactory().create(withWeights({5, 0, 1, 3}), 1);
  const size_t before = allocations;
  size_t sum = 0;
  for (int i = 0; i < 1000; ++i) sum += balancer->pick(PickContext{});
  EXPECT_EQ(allocations, before);
  EXPECT_GT(sum, 0u);
}

TEST(SmoothWeightedRoundRobinFactory, WorkerZeroStartsAtTheBeginning) {
  auto balancer = SmoothWeightedRoundRobinFactory().create(withWeights({5, 1, 1}), 0);
  EXPECT_EQ(picks(*balancer, 7), "aabacaa");
}

TEST(SmoothWeightedRoundRobinFactory, WorkersStartAtDifferentOffsets) {
  const auto servers = withWeights({1, 1, 1});
  SmoothWeightedRoundRobinFactory factory;
  auto worker0 = factory.create(servers, 0);
  auto worker1 = factory.create(servers, 1);
  auto worker2 = factory.create(servers, 2);
  EXPECT_EQ(worker0->pick(PickContext{}), 0u);
  EXPECT_EQ(worker1->pick(PickContext{}), 1u);
  EXPECT_EQ(worker2->pick(PickContext{}), 2u);
}

TEST(SmoothWeightedRoundRobinFactory, FirstPicksOfWorkersFollowTheWeights) {
  // Worker k starts k picks in, so the workers' first picks together are
  // the sequence one shared balancer would have produced.
  const auto servers = withWeights({5, 1, 1});
  SmoothWeightedRoundRobinFactory factory;
  std::string first;
  for (uint32_t worker = 0; worker < 7; ++worker)
    first += picks(*factory.create(servers, worker), 1);
  EXPECT_EQ(first, "aabacaa");
}

TEST(SmoothWeightedRoundRobinFactory, OffsetsKeepProportionsExact) {
  const std::vector<uint32_t> weights = {5, 1, 1};
  SmoothWeightedRoundRobinFactory factory;
  auto worker0 = factory.create(withWeights(weights), 0);
  auto worker1 = factory.create(withWeights(weights), 1);
  EXPECT_NE(picks(*worker0, 7), picks(*worker1, 7));
  for (uint32_t worker : {0u, 1u, 2u, 6u, 7u, 63u, 1000u}) {
    auto balancer = factory.create(withWeights(weights), worker);
    expectExactPeriods(*balancer, weights, 10);
  }
}

TEST(SmoothWeightedRoundRobinFactory, AllZeroHasNoServerForAnyWorker) {
  auto balancer = SmoothWeightedRoundRobinFactory().create(withWeights({0, 0}), 3);
  EXPECT_EQ(balancer->pick(PickContext{}), kNoServer);
}

}  // namespace
}  // namespace gourmet::balancers
