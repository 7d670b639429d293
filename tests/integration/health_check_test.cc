// Active health checks seen from outside: a server whose /healthz fails is
// taken out (requests stop reaching it) and comes back once it passes, and
// with `initial: unhealthy` a server new to the config gets no traffic
// before its first passing checks, while a reload leaves known servers be.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

// An origin answering its name, and /healthz with a status the test sets.
struct CheckedOrigin {
  explicit CheckedOrigin(std::string name, int healthz = 200)
      : health(std::make_shared<std::atomic<int>>(healthz)),
        origin([name, health = health](const Request& request) {
          if (request.target == "/healthz") return Reply::text(health->load(), "Check", "");
          return Reply::text(200, "OK", name);
        }) {}

  size_t trafficRequests() const {
    size_t n = 0;
    for (const auto& r : origin.requests()) n += r.target != "/healthz";
    return n;
  }

  std::shared_ptr<std::atomic<int>> health;
  TestOrigin origin;
};

class HealthCheckTest : public ProxyTest {
 protected:
  void TearDown() override {
    ProxyTest::TearDown();
    for (auto& o : origins_) {
      o->origin.stop();
      for (const auto& e : o->origin.protocolErrors())
        ADD_FAILURE() << "origin saw invalid HTTP: " << e;
    }
  }

  CheckedOrigin& addOrigin(std::string name, int healthz = 200) {
    origins_.push_back(std::make_unique<CheckedOrigin>(std::move(name), healthz));
    return *origins_.back();
  }

  // One upstream over `servers`, checked every 50 ms; no panic mode, so
  // that what the checks decide is what the balancer does.
  static std::string config(const std::vector<CheckedOrigin*>& servers, bool initial_unhealthy) {
    std::string out =
        "server:\n  address: 127.0.0.1\n  port: 0\n  workers: 2\n"
        "  locations:\n    - path: \"^/\"\n      upstream: web\n"
        "upstreams:\n  web:\n    servers:\n";
    for (const CheckedOrigin* s : servers) {
      out += "      - path: \"" + s->origin.address() + "\"\n        weight: 1\n";
    }
    out +=
        "    panic_threshold: 0\n"
        "    health_check:\n      path: /healthz\n      interval: 50ms\n      timeout: 500ms\n"
        "      healthy: 2\n      unhealthy: 2\n      expect: 200-399\n";
    if (initial_unhealthy) out += "      initial: unhealthy\n";
    return out;
  }

  // Sends `n` requests on fresh connections; counts answers by body.
  std::map<std::string, int> spread(int n) {
    std::map<std::string, int> counts;
    for (int i = 0; i < n; ++i) {
      auto r = send(getRequest("/app"));
      ++counts[r ? (r->status == 200 ? r->text() : std::to_string(r->status)) : "none"];
    }
    return counts;
  }

  std::string logLine(const CheckedOrigin& o, std::string_view what) const {
    return "health: web/" + o.origin.address() + " " + std::string(what);
  }

  std::vector<std::unique_ptr<CheckedOrigin>> origins_;
};

TEST_F(HealthCheckTest, AFailingHealthzTakesTheServerOutUntilItPassesAgain) {
  CheckedOrigin& a = addOrigin("a");
  CheckedOrigin& b = addOrigin("b");
  ASSERT_NO_FATAL_FAILURE(startGourmet(config({&a, &b}, false)));
  EXPECT_TRUE(eventually([&] { return spread(4)["a"] > 0; })) << "a serves while it passes";

  a.health->store(500);
  ASSERT_TRUE(gourmet_->waitForStderr(logLine(a, "down: 2 checks failed (status 500)"), 5s))
      << gourmet_->stderrText();
  const size_t before = a.trafficRequests();
  auto counts = spread(20);
  EXPECT_EQ(counts["b"], 20) << "every request goes to the server that passes";
  EXPECT_EQ(a.trafficRequests(), before) << "no request reached the failing server";

  a.health->store(200);
  ASSERT_TRUE(gourmet_->waitForStderr(logLine(a, "up: 2 checks passed"), 5s))
      << gourmet_->stderrText();
  EXPECT_TRUE(eventually([&] { return spread(4)["a"] > 0; })) << "a serves again";
  EXPECT_EQ(gourmet_->stderrLines(logLine(a, "down:")).size(), 1u) << "logged once";
}

TEST_F(HealthCheckTest, InitialUnhealthyGetsNoTrafficBeforeItsFirstPasses) {
  CheckedOrigin& known = addOrigin("known");
  ASSERT_NO_FATAL_FAILURE(startGourmet(config({&known}, true)));
  ASSERT_TRUE(gourmet_->waitForStderr(logLine(known, "up: 2 checks passed"), 5s))
      << gourmet_->stderrText();
  EXPECT_EQ(spread(2)["known"], 2);

  // A server new to the config whose checks fail: it never gets traffic,
  // and the reload leaves the known server up.
  CheckedOrigin& fresh = addOrigin("fresh", 500);
  gourmet_->rewriteConfig(config({&known, &fresh}, true));
  auto outcome = gourmet_->reload();
  ASSERT_TRUE(outcome && outcome->find("reload: version") != std::string::npos)
      << (outcome ? *outcome : "no reload line") << gourmet_->stderrText();
  EXPECT_TRUE(fresh.origin.waitForRequests(2, 5s)) << "fresh is checked";
  auto counts = spread(20);
  EXPECT_EQ(counts["known"], 20);
  EXPECT_EQ(fresh.trafficRequests(), 0u);
  EXPECT_EQ(gourmet_->stderrLines(logLine(known, "up:")).size(), 1u) << "known was not reset";

  fresh.health->store(200);
  ASSERT_TRUE(gourmet_->waitForStderr(logLine(fresh, "up: 2 checks passed"), 5s))
      << gourmet_->stderrText();
  EXPECT_TRUE(eventually([&] { return spread(4)["fresh"] > 0; })) << "fresh serves once it passed";
}

}  // namespace
}  // namespace gourmet::testing
