// Passive health checking end to end on one thread: observations as a
// worker makes them (ServerHealth::observe), decisions as the main thread
// makes them (OutlierEjections), times given explicitly.

#include "core/outlier_ejections.h"

#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>

namespace gourmet::core {
namespace {

sockaddr_storage loopback(uint16_t port) {
  sockaddr_storage storage{};
  auto& in = reinterpret_cast<sockaddr_in&>(storage);
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return storage;
}

// One upstream of `n` servers with the default rules unless changed.
struct Fixture {
  explicit Fixture(size_t n, OutlierDetectionConfig rules = {}) {
    Cluster cluster;
    cluster.name = "web";
    cluster.outlier_detection = rules;
    for (size_t i = 0; i < n; ++i) {
      const uint16_t port = static_cast<uint16_t>(9001 + i);
      cluster.servers.push_back(
          registry.acquire("127.0.0.1:" + std::to_string(port), loopback(port)));
      cluster.fail_windows.push_back({});
    }
    snapshot.clusters.push_back(std::move(cluster));
  }
  ServerHealth& health(size_t i) { return snapshot.clusters[0].servers[i]->health; }
  // `count` observations; true when one of them asked the monitor.
  bool observe(size_t i, ExchangeOutcome outcome, int count, uint64_t now_ms = 0) {
    bool asked = false;
    for (int n = 0; n < count; ++n) {
      asked = health(i).observe(outcome, snapshot.clusters[0].outlier_detection,
                                snapshot.clusters[0].fail_windows[i], now_ms) ||
              asked;
    }
    return asked;
  }
  bool ejected(size_t i) { return (health(i).flags.load() & kHealthEjected) != 0; }

  ServerRegistry registry;
  Snapshot snapshot;
  OutlierEjections ejections;
};

TEST(ServerHealth, AsksOnceWhenConsecutiveFailuresReachTheThreshold) {
  Fixture f(2);
  EXPECT_FALSE(f.observe(0, ExchangeOutcome::kTransportFailure, 4));
  EXPECT_TRUE(f.observe(0, ExchangeOutcome::kGatewayStatus, 1));
  EXPECT_EQ(f.health(0).requested.load(), kEjectConsecutiveFailures);
  EXPECT_FALSE(f.observe(0, ExchangeOutcome::kTransportFailure, 3)) << "past the threshold";
}

TEST(ServerHealth, ASuccessOrAnAbortedClientDoesWhatItShould) {
  Fixture f(1);
  f.observe(0, ExchangeOutcome::kTransportFailure, 4);
  f.observe(0, ExchangeOutcome::kUnmeasured, 10);  // the client left: says nothing
  EXPECT_EQ(f.health(0).consecutive_failures.load(), 4u);
  f.observe(0, ExchangeOutcome::kSuccess, 1);
  EXPECT_EQ(f.health(0).consecutive_failures.load(), 0u);
  EXPECT_FALSE(f.observe(0, ExchangeOutcome::kTransportFailure, 4));
}

TEST(ServerHealth, Consecutive5xxCountsEvery5xxWhenOn) {
  OutlierDetectionConfig rules;
  rules.consecutive_failures = 0;
  rules.consecutive_5xx = 3;
  Fixture f(1, rules);
  EXPECT_FALSE(f.observe(0, ExchangeOutcome::kOtherStatus5xx, 2));
  EXPECT_TRUE(f.observe(0, ExchangeOutcome::kGatewayStatus, 1));
  EXPECT_EQ(f.health(0).requested.load(), kEjectConsecutive5xx);
}

TEST(ServerHealth, GourmetsWindowCountsFailuresWithinFailTimeout) {
  Fixture f(1, {.consecutive_failures = 0});
  f.snapshot.clusters[0].fail_windows[0] = {.max_fail = 3, .fail_timeout_ms = 1000};
  EXPECT_FALSE(f.observe(0, ExchangeOutcome::kTransportFailure, 2, 100));
  // The window from t=100 closed: a new one opens and counts from 1.
  EXPECT_FALSE(f.observe(0, ExchangeOutcome::kOtherStatus5xx, 2, 1200));
  EXPECT_TRUE(f.observe(0, ExchangeOutcome::kTransportFailure, 1, 1300));
  EXPECT_EQ(f.health(0).requested.load(), kEjectFailWindow);
}

TEST(OutlierEjections, EjectsForTheBaseTimeAndLetsBackIn) {
  Fixture f(4);
  f.observe(1, ExchangeOutcome::kTransportFailure, 5);
  const uint64_t epoch = healthEpoch().load();
  EXPECT_EQ(f.ejections.take(f.snapshot, 1000), 31'000u);
  EXPECT_TRUE(f.ejected(1));
  EXPECT_GT(healthEpoch().load(), epoch) << "workers must see it";
  EXPECT_EQ(f.health(1).consecutive_failures.load(), 0u);
  EXPECT_EQ(f.health(1).requested.load(), 0u);
  EXPECT_EQ(f.ejections.expire(30'999), 31'000u);
  EXPECT_TRUE(f.ejected(1));
  EXPECT_EQ(f.ejections.expire(31'000), 0u);
  EXPECT_FALSE(f.ejected(1));
}

TEST(OutlierEjections, EjectionsInARowLastLongerUpToTheCap) {
  OutlierDetectionConfig rules;
  rules.base_ejection_time = Millis{10'000};
  rules.max_ejection_time = Millis{25'000};
  Fixture f(2, rules);
  uint64_t now = 0;
  const uint64_t expected[] = {10'000, 20'000, 25'000, 25'000};
  for (uint64_t duration : expected) {
    f.observe(0, ExchangeOutcome::kTransportFailure, 5);
    EXPECT_EQ(f.ejections.take(f.snapshot, now), now + duration);
    now += duration;
    f.ejections.expire(now);
    ASSERT_FALSE(f.ejected(0));
  }
  // A long quiet spell forgets the history: back to the base time.
  now += 10 * 10'000;
  f.observe(0, ExchangeOutcome::kTransportFailure, 5);
  EXPECT_EQ(f.ejections.take(f.snapshot, now), now + 10'000);
}

TEST(OutlierEjections, NeverMoreThanMaxEjectionPercentButAlwaysOne) {
  Fixture f(3);  // 50% of 3 is 1.5: one server
  f.observe(0, ExchangeOutcome::kTransportFailure, 5);
  f.observe(1, ExchangeOutcome::kTransportFailure, 5);
  f.ejections.take(f.snapshot, 0);
  EXPECT_TRUE(f.ejected(0));
  EXPECT_FALSE(f.ejected(1));
  EXPECT_EQ(f.health(1).consecutive_failures.load(), 0u) << "counts start again";

  Fixture single(1);  // 50% of 1 rounds to 0, but one may always go
  single.observe(0, ExchangeOutcome::kTransportFailure, 5);
  single.ejections.take(single.snapshot, 0);
  EXPECT_TRUE(single.ejected(0));
}

TEST(OutlierEjections, GourmetsWindowSkipsForOneFailTimeoutWhateverTheShare) {
  Fixture f(2, {.consecutive_failures = 0});
  for (size_t i = 0; i < 2; ++i) {
    f.snapshot.clusters[0].fail_windows[i] = {.max_fail = 2, .fail_timeout_ms = 1000};
    f.observe(i, ExchangeOutcome::kTransportFailure, 2, 500);
  }
  EXPECT_EQ(f.ejections.take(f.snapshot, 500), 1500u);
  EXPECT_TRUE(f.ejected(0));
  EXPECT_TRUE(f.ejected(1)) << "Gourmet: all down gives 503";
}

TEST(OutlierEjections, AServerDroppedByAReloadComesBackNotEjected) {
  Fixture f(2);
  f.observe(0, ExchangeOutcome::kTransportFailure, 5);
  f.ejections.take(f.snapshot, 0);
  ASSERT_TRUE(f.ejected(0));
  auto kept = f.snapshot.clusters[0].servers[0];  // an old snapshot still holds it
  Snapshot without;
  without.clusters.push_back(Cluster{.name = "web"});
  without.clusters[0].servers.push_back(f.snapshot.clusters[0].servers[1]);
  f.ejections.adopt(without);
  EXPECT_FALSE((kept->health.flags.load() & kHealthEjected) != 0);
  EXPECT_EQ(f.ejections.ejectedCount(), 0u);
}

TEST(OutlierEjections, AReloadKeepsTheEjectionOfAServerItKeeps) {
  Fixture f(2);
  f.observe(0, ExchangeOutcome::kTransportFailure, 5);
  f.ejections.take(f.snapshot, 0);
  f.ejections.adopt(f.snapshot);
  EXPECT_TRUE(f.ejected(0));
  EXPECT_EQ(f.ejections.expire(30'000), 0u);
  EXPECT_FALSE(f.ejected(0));
}

TEST(OutlierEjections, PassingActiveChecksEndAnEjectionEarly) {
  Fixture f(2);
  f.observe(0, ExchangeOutcome::kTransportFailure, 5);
  ASSERT_EQ(f.ejections.take(f.snapshot, 0), 30'000u);
  EXPECT_EQ(f.ejections.uneject(*f.snapshot.clusters[0].servers[1], 100), 30'000u)
      << "not ejected: nothing changes";
  EXPECT_TRUE(f.ejected(0));
  EXPECT_EQ(f.ejections.uneject(*f.snapshot.clusters[0].servers[0], 5'000), 0u);
  EXPECT_FALSE(f.ejected(0));
  EXPECT_EQ(f.ejections.ejectedCount(), 0u);
}

}  // namespace
}  // namespace gourmet::core
