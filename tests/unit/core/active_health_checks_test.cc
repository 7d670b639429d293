#include "core/active_health_checks.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/unit/core/health_origin.h"

namespace gourmet::core {
namespace {

using health_test::HealthOrigin;
using health_test::RefusingPort;
using health_test::TestLoop;
using std::chrono_literals::operator""ms;

bool failing(const UpstreamServer& server) {
  return (server.health.flags.load() & kHealthFailingChecks) != 0;
}

uint64_t epoch() { return healthEpoch().load(); }

HealthCheckConfig fastChecks() {
  HealthCheckConfig config;
  config.enabled = true;
  config.interval = 20ms;
  config.timeout = 500ms;
  config.healthy = 2;
  config.unhealthy = 3;
  return config;
}

class ActiveHealthChecksTest : public ::testing::Test {
 protected:
  void TearDown() override {
    bool stopped = false;
    checks_.stop([&] { stopped = true; });
    EXPECT_TRUE(loop_.runUntil([&] { return stopped; }));
    for (auto& origin : origins_) origin->close();
    EXPECT_EQ(loop_.close(), 0) << "a handle was left open";
  }

  HealthOrigin& addOrigin() {
    origins_.push_back(std::make_unique<HealthOrigin>(&loop_.loop));
    return *origins_.back();
  }

  std::shared_ptr<UpstreamServer> serverAt(const sockaddr_storage& address) {
    return registry_.acquire(formatSockaddr(address), address);
  }

  static Cluster cluster(std::string name, std::vector<std::shared_ptr<UpstreamServer>> servers,
                         HealthCheckConfig check) {
    Cluster c;
    c.name = std::move(name);
    c.servers = std::move(servers);
    c.health_check = std::move(check);
    return c;
  }

  void adopt(std::vector<Cluster> clusters) {
    auto snapshot = std::make_shared<Snapshot>();
    snapshot->clusters = std::move(clusters);
    checks_.adopt(std::move(snapshot));
  }

  TestLoop loop_;
  std::vector<std::unique_ptr<HealthOrigin>> origins_;
  ServerRegistry registry_;
  ActiveHealthChecks checks_{&loop_.loop};
};

TEST_F(ActiveHealthChecksTest, FirstCheckRunsAtOnceThenAfterTheInterval) {
  HealthOrigin& origin = addOrigin();
  HealthCheckConfig config = fastChecks();
  config.interval = 300ms;
  adopt({cluster("web", {serverAt(origin.address)}, config)});
  uv_update_time(&loop_.loop);
  const uint64_t started = uv_now(&loop_.loop);
  ASSERT_TRUE(loop_.runUntil([&] { return origin.requests == 1; }, 200ms));
  ASSERT_TRUE(loop_.runUntil([&] { return origin.requests == 2; }, 1000ms));
  EXPECT_GE(uv_now(&loop_.loop) - started, 270u);  // 300 ms less the jitter
}

TEST_F(ActiveHealthChecksTest, UnhealthyFailuresInARowSetTheFlagAndHealthyPassesClearIt) {
  HealthOrigin& origin = addOrigin();
  origin.status = 500;
  auto server = serverAt(origin.address);
  const uint64_t before = epoch();
  ::testing::internal::CaptureStderr();
  adopt({cluster("web", {server}, fastChecks())});
  ASSERT_TRUE(loop_.runUntil([&] { return failing(*server); }));
  EXPECT_EQ(origin.requests, 3) << "down after exactly `unhealthy` failures";
  EXPECT_GT(epoch(), before) << "workers must be told";

  origin.status = 200;
  const int at_down = origin.requests;
  ASSERT_TRUE(loop_.runUntil([&] { return !failing(*server); }));
  EXPECT_EQ(origin.requests - at_down, 2) << "up after exactly `healthy` passes";
  const std::string log = ::testing::internal::GetCapturedStderr();
  const std::string name = "web/" + origin.addressText();
  EXPECT_NE(log.find("health: " + name + " down: 3 checks failed (status 500)"), std::string::npos)
      << log;
  EXPECT_NE(log.find("health: " + name + " up: 2 checks passed"), std::string::npos) << log;
}

TEST_F(ActiveHealthChecksTest, APassBreaksTheRunOfFailures) {
  HealthOrigin& origin = addOrigin();
  const std::string fail = HealthOrigin::statusResponse(503);
  const std::string pass = HealthOrigin::statusResponse(200);
  origin.script = {fail, fail, pass, fail, fail, pass};
  origin.status = 500;  // then failures for good
  auto server = serverAt(origin.address);
  adopt({cluster("web", {server}, fastChecks())});
  ASSERT_TRUE(loop_.runUntil([&] { return failing(*server); }));
  EXPECT_EQ(origin.requests, 9);
}

TEST_F(ActiveHealthChecksTest, RefusedAndTimedOutChecksFail) {
  RefusingPort refusing;
  HealthOrigin& silent = addOrigin();
  silent.mode = HealthOrigin::Mode::kSilent;
  auto refused = serverAt(refusing.address);
  auto slow = serverAt(silent.address);
  HealthCheckConfig config = fastChecks();
  config.unhealthy = 1;
  config.timeout = 30ms;
  ::testing::internal::CaptureStderr();
  adopt({cluster("web", {refused, slow}, config)});
  ASSERT_TRUE(loop_.runUntil([&] { return failing(*refused) && failing(*slow); }));
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(log.find("web/" + formatSockaddr(refusing.address) +
                     " down: 1 check failed (connect refused)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("web/" + silent.addressText() + " down: 1 check failed (timeout)"),
            std::string::npos)
      << log;
}

TEST_F(ActiveHealthChecksTest, InitialUnhealthyHoldsOnlyServersNewToTheConfig) {
  HealthOrigin& a_origin = addOrigin();
  HealthOrigin& b_origin = addOrigin();
  HealthOrigin& c_origin = addOrigin();
  auto a = serverAt(a_origin.address);
  auto b = serverAt(b_origin.address);
  auto c = serverAt(c_origin.address);
  HealthCheckConfig config = fastChecks();
  config.initial_unhealthy = true;
  HealthCheckConfig off;  // c is in the config, unchecked

  adopt({cluster("web", {a}, config), cluster("other", {c}, off)});
  EXPECT_TRUE(failing(*a)) << "every server is new on the first adopt";
  EXPECT_FALSE(failing(*c)) << "no checks, no flag";
  ASSERT_TRUE(loop_.runUntil([&] { return !failing(*a); }));
  EXPECT_EQ(a_origin.requests, 2);

  adopt({cluster("web", {a, b, c}, config)});
  EXPECT_FALSE(failing(*a)) << "a reload never resets a known server";
  EXPECT_TRUE(failing(*b)) << "new to the config";
  EXPECT_FALSE(failing(*c)) << "known to the config, only newly checked";
  ASSERT_TRUE(loop_.runUntil([&] { return !failing(*b); }));
  EXPECT_EQ(b_origin.requests, 2);
  EXPECT_FALSE(failing(*a));
}

TEST_F(ActiveHealthChecksTest, AReloadKeepsStateAndSchedule) {
  HealthOrigin& origin = addOrigin();
  origin.status = 500;
  auto server = serverAt(origin.address);
  HealthCheckConfig config = fastChecks();
  config.interval = 300ms;
  config.unhealthy = 1;
  config.healthy = 1;
  adopt({cluster("web", {server}, config)});
  ASSERT_TRUE(loop_.runUntil([&] { return failing(*server); }, 200ms));

  adopt({cluster("web", {server}, config)});
  EXPECT_TRUE(failing(*server));
  EXPECT_EQ(checks_.checking(), 1u);
  loop_.runFor(100ms);
  EXPECT_EQ(origin.requests, 1) << "a kept server is not checked again at once";
  origin.status = 200;
  EXPECT_TRUE(loop_.runUntil([&] { return !failing(*server); }, 1000ms));
}

TEST_F(ActiveHealthChecksTest, RemovalCancelsTheCheckInFlightAndClearsTheFlag) {
  HealthOrigin& down_origin = addOrigin();
  down_origin.status = 500;
  HealthOrigin& silent = addOrigin();
  silent.mode = HealthOrigin::Mode::kSilent;
  auto down = serverAt(down_origin.address);
  auto slow = serverAt(silent.address);
  HealthCheckConfig config = fastChecks();
  config.unhealthy = 1;
  config.timeout = 5000ms;
  adopt({cluster("web", {down, slow}, config)});
  ASSERT_TRUE(loop_.runUntil([&] { return failing(*down) && silent.requests == 1; }));

  adopt({});
  EXPECT_EQ(checks_.checking(), 0u);
  EXPECT_FALSE(failing(*down)) << "an unchecked server keeps no flag of the checks";
  // The probe in flight closed its connection.
  EXPECT_TRUE(loop_.runUntil([&] { return silent.client_eofs == 1; }));
  const int requests = down_origin.requests;
  loop_.runFor(60ms);
  EXPECT_EQ(down_origin.requests, requests) << "no check after removal";
}

TEST_F(ActiveHealthChecksTest, DisablingTheCheckClearsItsFlag) {
  HealthOrigin& origin = addOrigin();
  origin.status = 500;
  auto server = serverAt(origin.address);
  HealthCheckConfig config = fastChecks();
  config.unhealthy = 1;
  adopt({cluster("web", {server}, config)});
  ASSERT_TRUE(loop_.runUntil([&] { return failing(*server); }));
  const uint64_t before = epoch();
  config.enabled = false;
  adopt({cluster("web", {server}, config)});
  EXPECT_FALSE(failing(*server));
  EXPECT_GT(epoch(), before);
  const int requests = origin.requests;
  loop_.runFor(60ms);
  EXPECT_EQ(origin.requests, requests);
}

TEST_F(ActiveHealthChecksTest, AServerInTwoUpstreamsIsCheckedOnceWithTheFirstSettings) {
  HealthOrigin& origin = addOrigin();
  origin.status = 500;
  auto server = serverAt(origin.address);
  HealthCheckConfig first = fastChecks();
  first.interval = 10'000ms;
  first.unhealthy = 1;
  first.path = "/first";
  HealthCheckConfig second = first;
  second.path = "/second";
  ::testing::internal::CaptureStderr();
  adopt({cluster("unchecked", {server}, HealthCheckConfig{}), cluster("a", {server}, first),
         cluster("b", {server}, second)});
  EXPECT_EQ(checks_.checking(), 1u);
  ASSERT_TRUE(loop_.runUntil([&] { return failing(*server); }));
  loop_.runFor(100ms);
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(origin.requests, 1);
  EXPECT_EQ(origin.last_request.rfind("GET /first HTTP/1.1\r\n", 0), 0u) << origin.last_request;
  EXPECT_NE(log.find("health: a/" + origin.addressText() + " down"), std::string::npos) << log;
}

TEST_F(ActiveHealthChecksTest, StopWhileChecksAreInFlight) {
  HealthOrigin& silent = addOrigin();
  silent.mode = HealthOrigin::Mode::kSilent;
  adopt({cluster("web", {serverAt(silent.address)}, fastChecks())});
  ASSERT_TRUE(loop_.runUntil([&] { return silent.requests == 1; }));
  bool stopped = false;
  checks_.stop([&] { stopped = true; });
  EXPECT_TRUE(loop_.runUntil([&] { return stopped && silent.client_eofs == 1; }));
  adopt({cluster("web", {serverAt(silent.address)}, fastChecks())});
  EXPECT_EQ(checks_.checking(), 0u) << "adopt does nothing once stopped";
}

TEST(JitterIntervalTest, StaysWithinTenPercent) {
  EXPECT_EQ(jitterInterval(1000ms, -1.0), 900ms);
  EXPECT_EQ(jitterInterval(1000ms, 0.0), 1000ms);
  EXPECT_EQ(jitterInterval(1000ms, 1.0), 1100ms);
  EXPECT_EQ(jitterInterval(1000ms, 5.0), 1100ms);
  EXPECT_EQ(jitterInterval(1ms, -1.0), 1ms);
}

}  // namespace
}  // namespace gourmet::core
