#include "balancers/peak_ewma.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <vector>

#include "balancers/registry.h"
#include "tests/unit/balancers/test_upstream.h"

namespace gourmet::balancers {
namespace {

// Servers whose shared active counters the test sets by hand.
struct Fixture {
  explicit Fixture(std::vector<uint32_t> weights) : active(weights.size()) {
    for (size_t i = 0; i < weights.size(); ++i) {
      candidates.push_back(Candidate{
          .id = static_cast<uint32_t>(i + 1), .weight = weights[i], .active = &active[i]});
    }
    servers = std::make_unique<ServerSet>(candidates, SlowStart{}, nullptr, false, 0);
  }
  std::vector<std::atomic<uint32_t>> active;
  std::vector<Candidate> candidates;
  std::unique_ptr<ServerSet> servers;
};

BalancerParams params(uint32_t choices = 2) {
  return BalancerParams{.choice_count = choices,
                        .decay = std::chrono::milliseconds(10000),
                        .default_rtt = std::chrono::milliseconds(10)};
}

Completion took(uint64_t now_ms, uint64_t latency_us, bool failed = false) {
  return Completion{.now_ms = now_ms, .latency_us = latency_us, .failed = failed};
}

TEST(PeakEwma, UnsampledServersCostDefaultRtt) {
  Fixture f({1, 1});
  PeakEwma ewma(*f.servers, params(), 1, 0);
  EXPECT_DOUBLE_EQ(ewma.estimateUs(0, 0), 10000.0);
  EXPECT_DOUBLE_EQ(ewma.estimateUs(1, 123456), 10000.0);  // no decay without a sample
  f.active[1] = 3;
  EXPECT_DOUBLE_EQ(ewma.cost(1, 0), 40000.0);
}

TEST(PeakEwma, AHighSampleReplacesTheEstimateAtOnce) {
  Fixture f({1});
  PeakEwma ewma(*f.servers, params(), 1, 0);
  ewma.onEnd(0, took(1000, 20000));
  ewma.onEnd(0, took(1001, 500000));  // 1 ms later: no averaging, the peak wins
  EXPECT_DOUBLE_EQ(ewma.estimateUs(0, 1001), 500000.0);
}

TEST(PeakEwma, ALowSampleDecaysInWithTheExactWeight) {
  Fixture f({1});
  PeakEwma ewma(*f.servers, params(), 1, 0);
  ewma.onEnd(0, took(1000, 50000));
  ewma.onEnd(0, took(3000, 10000));  // dt = 2 s, tau = 10 s
  const double w = std::exp(-2000.0 / 10000.0);
  const double expected = 50000.0 * w + 10000.0 * (1 - w);
  EXPECT_DOUBLE_EQ(ewma.estimateUs(0, 3000), expected);
  // Between samples a pick sees the estimate decay towards zero, as in
  // Finagle: 5 s later, by exp(-5 / 10).
  EXPECT_DOUBLE_EQ(ewma.estimateUs(0, 8000), expected * std::exp(-0.5));
  // The next low sample blends with dt measured from the previous sample.
  ewma.onEnd(0, took(8000, 10000));
  const double w2 = std::exp(-5000.0 / 10000.0);
  EXPECT_DOUBLE_EQ(ewma.estimateUs(0, 8000), expected * w2 + 10000.0 * (1 - w2));
}

// A client that left before the server answered says nothing about the
// server: neither its elapsed time nor a penalty reaches the estimate.
TEST(PeakEwma, AnUnmeasuredCompletionLeavesTheEstimateAlone) {
  Fixture f({1});
  PeakEwma ewma(*f.servers, params(), 1, 0);
  ewma.onEnd(0, took(1000, 20000));
  ewma.onEnd(0, Completion{.now_ms = 1001, .latency_us = 900000, .measured = false});
  EXPECT_DOUBLE_EQ(ewma.estimateUs(0, 1001), 20000.0 * std::exp(-1.0 / 10000.0));
}

TEST(PeakEwma, SamplesAtTheSameMillisecondDoNotMoveALowerEstimate) {
  Fixture f({1});
  PeakEwma ewma(*f.servers, params(), 1, 0);
  ewma.onEnd(0, took(5000, 30000));
  ewma.onEnd(0, took(5000, 1000));  // dt = 0: weight 1 on the old estimate
  EXPECT_DOUBLE_EQ(ewma.estimateUs(0, 5000), 30000.0);
}

TEST(PeakEwma, AFailureCountsAsFiveTimesTheEstimate) {
  Fixture f({1, 1});
  PeakEwma ewma(*f.servers, params(), 1, 0);
  // Unsampled: five times default_rtt (a refused connection takes no time).
  ewma.onEnd(0, took(1000, 200, /*failed=*/true));
  EXPECT_DOUBLE_EQ(ewma.estimateUs(0, 1000), 50000.0);
  // Again: five times the current estimate, geometric back-off ...
  ewma.onEnd(0, took(1000, 200, true));
  EXPECT_DOUBLE_EQ(ewma.estimateUs(0, 1000), 250000.0);
  for (int i = 0; i < 10; ++i) ewma.onEnd(0, took(1000, 200, true));
  // ... up to 10 s.
  EXPECT_DOUBLE_EQ(ewma.estimateUs(0, 1000), PeakEwma::kMaxPenaltyUs);
  // A timeout slower than the penalty counts as itself.
  ewma.onEnd(1, took(1000, 30000000, true));
  EXPECT_DOUBLE_EQ(ewma.estimateUs(1, 1000), 30000000.0);
}

TEST(PeakEwma, PicksShiftAwayFromASlowServer) {
  Fixture f({1, 1, 1, 1, 1});
  PeakEwma ewma(*f.servers, params(), 7, 0);
  std::vector<int> picks(5, 0);
  uint64_t now = 0;
  for (int i = 0; i < 5000; ++i) {
    size_t server = ewma.pick({.now_ms = now});
    ASSERT_LT(server, 5u);
    ++picks[server];
    // Server 2 answers in 100 ms, the others in 10 ms.
    ewma.onEnd(server, took(now, server == 2 ? 100000 : 10000));
    now += 1;
  }
  // With two distinct choices the slow server loses every comparison once
  // it has been sampled; it gets at most its first probe or two.
  EXPECT_LE(picks[2], 2);
  for (size_t i : {0, 1, 3, 4}) EXPECT_GT(picks[i], 1000);
}

TEST(PeakEwma, ActiveRequestsMultiplyTheCost) {
  Fixture f({1, 1});
  PeakEwma ewma(*f.servers, params(), 1, 0);
  ewma.onEnd(0, took(0, 10000));
  ewma.onEnd(1, took(0, 50000));
  EXPECT_EQ(ewma.pick({.now_ms = 0}), 0u);
  f.active[0] = 9;  // 10 ms * 10 = 100 ms > 50 ms * 1
  EXPECT_EQ(ewma.pick({.now_ms = 0}), 1u);
  f.active[1] = 1;  // 50 ms * 2 = 100 ms: a tie goes to the lower index
  EXPECT_EQ(ewma.pick({.now_ms = 0}), 0u);
}

TEST(PeakEwma, WeightDividesTheCost) {
  Fixture f({3, 1});
  PeakEwma ewma(*f.servers, params(), 1, 0);
  ewma.onEnd(0, took(0, 30000));  // 30 ms / 3 = 10 ms
  ewma.onEnd(1, took(0, 20000));  // 20 ms / 1
  EXPECT_EQ(ewma.pick({.now_ms = 0}), 0u);
}

TEST(PeakEwma, AShunnedServerIsProbedAgainAfterItDecays) {
  Fixture f({1, 1});
  PeakEwma ewma(*f.servers, params(), 1, 0);
  ewma.onEnd(0, took(0, 100000));  // slow once
  ewma.onEnd(1, took(0, 10000));
  EXPECT_EQ(ewma.pick({.now_ms = 0}), 1u);
  ewma.onEnd(1, took(60000, 10000));  // server 1 keeps answering
  // After a minute without samples server 0 reads as 100 ms * e^-6 = 0.25 ms.
  EXPECT_EQ(ewma.pick({.now_ms = 60000}), 0u);
}

TEST(PeakEwma, SkipsIneligibleServers) {
  Fixture f({1, 0, 1});
  PeakEwma ewma(*f.servers, params(3), 1, 0);
  ewma.onEnd(0, took(0, 50000));
  ewma.onEnd(2, took(0, 50000));
  for (int i = 0; i < 100; ++i) EXPECT_NE(ewma.pick({.now_ms = 0}), 1u);
  f.servers->markDown(0);
  f.servers->markDown(2);
  EXPECT_EQ(ewma.pick({.now_ms = 0}), kNoServer);
  f.servers->markUp(2, 0);
  EXPECT_EQ(ewma.pick({.now_ms = 0}), 2u);
}

// Picks with a fixed seed, every server equally fast so that only the
// random choices decide.
std::vector<size_t> sequence(const ServerSet& servers, uint64_t seed, uint32_t worker) {
  const BalancerFactory* factory = findBalancer("ewma");
  BalancerParams p = params();
  p.seed = seed;
  auto balancer = factory->create(servers, p, worker);
  std::vector<size_t> out;
  for (uint64_t now = 0; now < 200; ++now) {
    size_t server = balancer->pick({.now_ms = now});
    out.push_back(server);
    balancer->onEnd(server, took(now, 10000 + 100 * (now % 7)));
  }
  return out;
}

TEST(PeakEwma, DeterministicForAFixedSeedAndWorker) {
  ASSERT_NE(findBalancer("ewma"), nullptr);
  Fixture f({1, 1, 1, 1, 1, 1, 1, 1});
  EXPECT_EQ(sequence(*f.servers, 11, 0), sequence(*f.servers, 11, 0));
  EXPECT_NE(sequence(*f.servers, 11, 0), sequence(*f.servers, 11, 1));
  EXPECT_NE(sequence(*f.servers, 11, 0), sequence(*f.servers, 12, 0));
}

TEST(PeakEwma, PicksAndSamplesDoNotAllocate) {
  Fixture f({1, 2, 1, 1, 3});
  PeakEwma ewma(*f.servers, params(), 3, 0);
  const size_t before = countedAllocations();
  size_t sum = 0;
  for (uint64_t now = 0; now < 10000; ++now) {
    size_t server = ewma.pick({.now_ms = now});
    sum += server;
    ewma.onEnd(server, took(now, 1000 + 37 * (now % 11), now % 97 == 0));
    if (now == 5000) f.servers->markDown(1);  // the eligible list is refilled in place
  }
  EXPECT_EQ(countedAllocations(), before);
  EXPECT_GT(sum, 0u);
}

}  // namespace
}  // namespace gourmet::balancers
