#include "balancers/join_idle_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "balancers/random_stream.h"
#include "tests/unit/balancers/test_upstream.h"

namespace gourmet::balancers {
namespace {

// Drives a balancer the way a worker does: pick, onStart, later onEnd, and
// keeps the shared counters in step (as if this were the only worker).
class Driver {
 public:
  Driver(TestUpstream& upstream, Balancer& balancer, size_t servers)
      : upstream_(upstream), balancer_(balancer), active_(servers, 0) {}

  size_t start(uint64_t now_ms = 0) {
    const size_t server = balancer_.pick(PickContext{.now_ms = now_ms});
    if (server == kNoServer) return server;
    ++active_[server];
    upstream_.setActive(active_);
    balancer_.onStart(server, now_ms);
    return server;
  }

  void end(size_t server) {
    --active_[server];
    upstream_.setActive(active_);
    balancer_.onEnd(server, Completion{});
  }

  uint32_t active(size_t server) const { return active_[server]; }

 private:
  TestUpstream& upstream_;
  Balancer& balancer_;
  std::vector<uint32_t> active_;
};

TEST(JoinIdleQueue, IdleServersComeFirstInTheOrderTheyWentIdle) {
  TestUpstream upstream({1, 1, 1});
  JoinIdleQueue balancer(upstream.servers(), BalancerParams{}, 0);
  Driver driver(upstream, balancer, 3);
  EXPECT_EQ(driver.start(), 0u);
  EXPECT_EQ(driver.start(), 1u);
  EXPECT_EQ(driver.start(), 2u);
  driver.end(2);
  driver.end(0);
  EXPECT_EQ(driver.start(), 2u);
  EXPECT_EQ(driver.start(), 0u);
}

TEST(JoinIdleQueue, FallsBackToTheLessLoadedWhenNoneIsIdle) {
  TestUpstream upstream({1, 1});
  JoinIdleQueue balancer(upstream.servers(), BalancerParams{}, 0);
  Driver driver(upstream, balancer, 2);
  driver.start();
  driver.start();              // both busy now
  upstream.setActive({4, 1});  // other workers' load counts in the fallback
  EXPECT_EQ(balancer.pick(PickContext{}), 1u);
  upstream.setActive({1, 4});
  EXPECT_EQ(balancer.pick(PickContext{}), 0u);
}

TEST(JoinIdleQueue, AServerRejoinsOnlyWhenItsLastRequestEnds) {
  TestUpstream upstream({1, 1});
  JoinIdleQueue balancer(upstream.servers(), BalancerParams{}, 0);
  Driver driver(upstream, balancer, 2);
  EXPECT_EQ(driver.start(), 0u);
  EXPECT_EQ(driver.start(), 1u);
  upstream.setActive({0, 3});     // as if other workers loaded b
  EXPECT_EQ(driver.start(), 0u);  // none idle here: the fallback takes a
  driver.end(0);                  // a still has one in flight: not idle
  upstream.setActive({1, 0});     // but the fallback would now choose b
  EXPECT_EQ(balancer.pick(PickContext{}), 1u);
  driver.end(0);
  EXPECT_EQ(driver.start(), 0u);  // idle again, from the queue
}

// A long random run: whenever some server has nothing in flight from this
// worker, the pick must be such a server.
TEST(JoinIdleQueue, NeverChoosesABusyServerWhileOneIsIdle) {
  TestUpstream upstream({1, 2, 1, 3, 1});
  JoinIdleQueue balancer(upstream.servers(), BalancerParams{}, 1);
  Driver driver(upstream, balancer, 5);
  RandomStream random(99, 0);
  std::vector<size_t> in_flight;
  size_t fallbacks = 0;
  for (int step = 0; step < 20000; ++step) {
    if (in_flight.empty() || random.below(100) < 55) {
      bool any_idle = false;
      for (size_t i = 0; i < 5; ++i) any_idle |= driver.active(i) == 0;
      const size_t server = driver.start();
      ASSERT_NE(server, kNoServer);
      if (any_idle) {
        ASSERT_EQ(driver.active(server), 1u) << "step " << step;
      } else {
        ++fallbacks;
      }
      in_flight.push_back(server);
    } else {
      const size_t at = random.below(in_flight.size());
      driver.end(in_flight[at]);
      in_flight[at] = in_flight.back();
      in_flight.pop_back();
    }
  }
  EXPECT_GT(fallbacks, 0u);  // the run did reach the fallback
}

TEST(JoinIdleQueue, WorkersStartAtDifferentServers) {
  TestUpstream upstream({1, 1, 1});
  JoinIdleQueueFactory factory;
  for (uint32_t worker = 0; worker < 6; ++worker) {
    auto balancer = factory.create(upstream.servers(), BalancerParams{}, worker);
    EXPECT_EQ(balancer->pick(PickContext{}), worker % 3) << worker;
  }
}

TEST(JoinIdleQueue, SkipsServersMarkedDownAndTakesThemBackWhenUp) {
  TestUpstream upstream({1, 1, 1});
  JoinIdleQueue balancer(upstream.servers(), BalancerParams{}, 0);
  Driver driver(upstream, balancer, 3);
  upstream.servers().markDown(0);
  EXPECT_EQ(driver.start(), 1u);  // 0 was at the head of the queue
  EXPECT_EQ(driver.start(), 2u);
  for (int i = 0; i < 20; ++i) EXPECT_NE(balancer.pick(PickContext{}), 0u);  // fallback
  upstream.servers().markUp(0, 0);
  EXPECT_EQ(driver.start(), 0u);  // idle and back
}

TEST(JoinIdleQueue, NeverPicksWeightZeroAndNoneEligibleIsNoServer) {
  TestUpstream upstream({0, 1, 0});
  JoinIdleQueue balancer(upstream.servers(), BalancerParams{}, 0);
  Driver driver(upstream, balancer, 3);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(driver.start(), 1u);
  upstream.servers().markDown(1);
  EXPECT_EQ(balancer.pick(PickContext{}), kNoServer);
  TestUpstream empty({});
  JoinIdleQueue none(empty.servers(), BalancerParams{}, 0);
  EXPECT_EQ(none.pick(PickContext{}), kNoServer);
}

TEST(JoinIdleQueue, RampingServerIsPassedOverInProportion) {
  const SlowStart slow{.window = std::chrono::milliseconds(10000)};
  TestUpstream before({1}, {.slow_start = slow, .ids = {1}});
  TestUpstream upstream({1, 1}, {.slow_start = slow,
                                 .previous = &before.servers(),
                                 .ramp_new_servers = true,
                                 .now_ms = 1000,
                                 .ids = {1, 2}});
  JoinIdleQueue balancer(upstream.servers(), BalancerParams{}, 0);
  Driver driver(upstream, balancer, 2);
  // Short requests, one at a time: both servers are always idle, so only
  // the ramp decides. Turns alternate, and the newcomer accepts its turn
  // with probability 0.1: about 1 request in 11.
  std::vector<size_t> counts(2, 0);
  for (int i = 0; i < 11000; ++i) {
    const size_t server = driver.start(1000);
    ++counts[server];
    driver.end(server);
  }
  EXPECT_NEAR(counts[1] / 11000.0, 1.0 / 11, 0.01);
  counts = {0, 0};
  for (int i = 0; i < 1000; ++i) {
    const size_t server = driver.start(11000);
    ++counts[server];
    driver.end(server);
  }
  EXPECT_EQ(counts, (std::vector<size_t>{500, 500}));
}

TEST(JoinIdleQueue, PickStartAndEndDoNotAllocate) {
  TestUpstream upstream({5, 0, 1, 3, 1});
  JoinIdleQueue balancer(upstream.servers(), BalancerParams{}, 2);
  Driver driver(upstream, balancer, 5);
  size_t held[8] = {};
  const size_t before = countedAllocations();
  for (size_t i = 0; i < 1000; ++i) {
    if (i >= 8) driver.end(held[i % 8]);
    held[i % 8] = driver.start();
  }
  EXPECT_EQ(countedAllocations(), before);
}

}  // namespace
}  // namespace gourmet::balancers
