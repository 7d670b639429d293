// Passive health checking with the real binary: a server that fails is
// ejected for the whole process (both workers), stays out across a reload,
// comes back when its ejection ends; panic mode when too few are healthy;
// 503 no_healthy_server when none is; Gourmet's TOML max_fail honoured.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>

#include "tests/integration/harness.h"
#include "tests/integration/http_client.h"
#include "tests/integration/test_origin.h"

namespace gourmet::testing {
namespace {

// An origin whose answer the test switches: 200 naming itself, or 503.
class SwitchableOrigin {
 public:
  explicit SwitchableOrigin(std::string name, uint16_t port = 0) : name_(std::move(name)) {
    start(port);
  }
  void start(uint16_t port) {
    origin_ = std::make_unique<TestOrigin>(
        [this](const Request&) {
          if (dead_.load()) {
            Reply reply;
            reply.close_without_response = true;  // a reset, to checks and traffic alike
            return reply;
          }
          return sick_.load() ? Reply::text(503, "Service Unavailable", "sick")
                              : Reply::text(200, "OK", name_);
        },
        port);
  }
  void kill() { origin_->stop(); }
  // On the same port. The port may serve for a moment as the source port of
  // an outgoing connection (the kernel takes ephemeral ports from the range
  // port 0 gave it): try again until it is free, within a deadline.
  void restart() {
    port_ = origin_->port();
    origin_.reset();
    ASSERT_TRUE(eventually([&] {
      try {
        start(port_);
        return true;
      } catch (const std::runtime_error&) {
        return false;
      }
    })) << "port "
        << port_ << " stayed taken";
  }
  void setSick(bool sick) { sick_ = sick; }
  void setDead(bool dead) { dead_ = dead; }
  std::string address() const { return origin_->address(); }
  size_t requests() const { return origin_ ? origin_->requestCount() : 0; }

 private:
  std::string name_;
  uint16_t port_ = 0;
  std::atomic<bool> sick_{false};
  std::atomic<bool> dead_{false};
  std::unique_ptr<TestOrigin> origin_;
};

struct Tally {
  int ok = 0;
  int failed = 0;  // any other status
  int no_answer = 0;
};

// `n` GETs, each on its own connection (so both workers serve some).
Tally sendMany(uint16_t port, int n) {
  Tally tally;
  for (int i = 0; i < n; ++i) {
    std::string error;
    auto response = roundTrip(port, getRequest("/"), &error);
    if (!response) {
      ++tally.no_answer;
    } else if (response->status == 200) {
      ++tally.ok;
    } else {
      ++tally.failed;
    }
  }
  return tally;
}

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"a", "b", "c"})
      origins_.push_back(std::make_unique<SwitchableOrigin>(name));
  }

  // Three servers, two workers, round robin, and `extra` under the upstream.
  std::string config(const std::string& extra) const {
    std::string out =
        "server:\n  address: 127.0.0.1\n  port: 0\n  workers: 2\n  locations:\n"
        "    - {path: \"^/\", upstream: web}\nupstreams:\n  web:\n    servers:\n";
    for (const auto& origin : origins_) out += fmt::format("      - path: {}\n", origin->address());
    return out + "    connect_timeout: 500ms\n    response_timeout: 2s\n" + extra;
  }

  void start(const std::string& extra) {
    gourmet_ = std::make_unique<GourmetProcess>(config(extra));
    ASSERT_TRUE(gourmet_->ready()) << gourmet_->describe();
  }

  void TearDown() override {
    if (gourmet_ && HasFailure()) std::cerr << gourmet_->describe() << "\n";
    gourmet_.reset();
  }

  std::vector<std::unique_ptr<SwitchableOrigin>> origins_;
  std::unique_ptr<GourmetProcess> gourmet_;
};

TEST_F(HealthTest, AKilledServerIsEjectedAfterAFewFailuresForEveryWorker) {
  ASSERT_NO_FATAL_FAILURE(start("    retries: {attempts: 0}\n"));
  ASSERT_EQ(sendMany(gourmet_->port(), 30).ok, 30);
  origins_[1]->kill();
  // Until the ejection: at most consecutive_failures (5) failures for the
  // whole process, the two workers' observations counting together, plus
  // what was in flight when the threshold was crossed (sequential: none).
  Tally before = sendMany(gourmet_->port(), 30);
  ASSERT_TRUE(gourmet_->waitForStderr("ejected for 30s: 5 consecutive failures", 5s))
      << gourmet_->stderrText();
  EXPECT_LE(before.failed, 5) << "ok " << before.ok;
  EXPECT_GE(before.failed, 1);
  // From then on, no error on either worker.
  const Tally after = sendMany(gourmet_->port(), 60);
  EXPECT_EQ(after.ok, 60) << "failed " << after.failed << ", no answer " << after.no_answer;
}

TEST_F(HealthTest, WithRetriesTheClientSeesNoErrorAtAll) {
  ASSERT_NO_FATAL_FAILURE(start(""));  // default: one retry on connect failure
  origins_[2]->kill();
  const Tally tally = sendMany(gourmet_->port(), 60);
  EXPECT_EQ(tally.ok, 60) << "failed " << tally.failed << ", no answer " << tally.no_answer;
  EXPECT_TRUE(gourmet_->waitForStderr("ejected for 30s", 5s)) << gourmet_->stderrText();
}

TEST_F(HealthTest, AnEjectedServerComesBackWhenItsEjectionEnds) {
  ASSERT_NO_FATAL_FAILURE(
      start("    retries: {attempts: 0}\n"
            "    outlier_detection: {consecutive_failures: 3, base_ejection_time: 300ms}\n"));
  origins_[0]->setSick(true);  // 503: a gateway status counts as a failure
  sendMany(gourmet_->port(), 12);
  ASSERT_TRUE(gourmet_->waitForStderr("ejected for 300ms", 5s)) << gourmet_->stderrText();
  const size_t seen = origins_[0]->requests();
  EXPECT_EQ(sendMany(gourmet_->port(), 20).ok, 20);
  EXPECT_EQ(origins_[0]->requests(), seen) << "an ejected server gets no request";
  origins_[0]->setSick(false);
  ASSERT_TRUE(gourmet_->waitForStderr("back in after its ejection", 5s));
  EXPECT_TRUE(eventually([&] {
    sendMany(gourmet_->port(), 3);
    return origins_[0]->requests() > seen;
  })) << "traffic did not return";
}

TEST_F(HealthTest, AKilledAndRestartedServerGetsTrafficAgain) {
  ASSERT_NO_FATAL_FAILURE(start("    outlier_detection: {base_ejection_time: 500ms}\n"));
  origins_[1]->kill();
  ASSERT_TRUE(eventually([&] {
    sendMany(gourmet_->port(), 3);
    return gourmet_->stderrText().find("ejected for 500ms") != std::string::npos;
  }));
  origins_[1]->restart();
  const size_t seen = origins_[1]->requests();
  EXPECT_TRUE(eventually([&] {
    EXPECT_EQ(sendMany(gourmet_->port(), 3).ok, 3);
    return origins_[1]->requests() > seen;
  })) << gourmet_->stderrText();
}

TEST_F(HealthTest, PassingHealthChecksEndAnEjectionOfARecoveredServer) {
  ASSERT_NO_FATAL_FAILURE(
      start("    health_check: {interval: 100ms, timeout: 100ms, healthy: 2, unhealthy: 5}\n"));
  origins_[1]->setDead(true);
  ASSERT_TRUE(eventually([&] {
    sendMany(gourmet_->port(), 3);
    return gourmet_->stderrText().find("ejected for 30s") != std::string::npos;
  })) << gourmet_->stderrText();
  ASSERT_TRUE(gourmet_->waitForStderr("down: 5 checks failed", 5s)) << gourmet_->stderrText();
  const size_t seen = origins_[1]->requests();
  origins_[1]->setDead(false);
  // Long before the 30 s ejection ends: the checks' "up" ends it.
  ASSERT_TRUE(gourmet_->waitForStderr("back in once its health checks pass", 5s))
      << gourmet_->stderrText();
  EXPECT_TRUE(eventually([&] {
    EXPECT_EQ(sendMany(gourmet_->port(), 3).ok, 3);
    return origins_[1]->requests() > seen + 3;  // more than the checks alone
  })) << gourmet_->stderrText();
}

TEST_F(HealthTest, EjectionsSurviveAReload) {
  const std::string extra = "    retries: {attempts: 0}\n";
  ASSERT_NO_FATAL_FAILURE(start(extra));
  origins_[2]->setSick(true);
  sendMany(gourmet_->port(), 20);
  ASSERT_TRUE(gourmet_->waitForStderr("ejected for 30s", 5s)) << gourmet_->stderrText();
  // A reload that changes the upstream (a new balancer, so new ServerSets)
  // and keeps the server's address.
  gourmet_->rewriteConfig(config(extra + "    balancer: least_conn\n"));
  const auto outcome = gourmet_->reload();
  ASSERT_TRUE(outcome && outcome->find("reload: version 2") != std::string::npos)
      << outcome.value_or("(no reload line)");
  const size_t seen = origins_[2]->requests();
  EXPECT_EQ(sendMany(gourmet_->port(), 40).ok, 40);
  EXPECT_EQ(origins_[2]->requests(), seen);
}

TEST_F(HealthTest, PanicModeSpreadsOverEveryServerWhenTooFewAreHealthy) {
  ASSERT_NO_FATAL_FAILURE(
      start("    retries: {attempts: 0}\n"
            "    outlier_detection: {consecutive_failures: 2, max_ejection_percent: 100}\n"));
  origins_[0]->setSick(true);
  origins_[1]->setSick(true);
  ASSERT_TRUE(eventually([&] {
    sendMany(gourmet_->port(), 3);
    return gourmet_->stderrLines("ejected for 30s").size() >= 2;
  })) << gourmet_->stderrText();
  // 1 healthy of 3 is below 50%: every server takes traffic again.
  const size_t seen = origins_[0]->requests() + origins_[1]->requests();
  const Tally tally = sendMany(gourmet_->port(), 30);
  EXPECT_GT(origins_[0]->requests() + origins_[1]->requests(), seen);
  EXPECT_GT(tally.failed, 0);
  EXPECT_GT(tally.ok, 0);
  EXPECT_TRUE(gourmet_->waitForStderr("panic", 5s)) << gourmet_->stderrText();
}

TEST_F(HealthTest, WithoutPanicTheHealthyServerTakesEverything) {
  ASSERT_NO_FATAL_FAILURE(
      start("    retries: {attempts: 0}\n    panic_threshold: 0\n"
            "    outlier_detection: {consecutive_failures: 2, max_ejection_percent: 100}\n"));
  origins_[0]->setSick(true);
  origins_[1]->setSick(true);
  ASSERT_TRUE(eventually([&] {
    sendMany(gourmet_->port(), 3);
    return gourmet_->stderrLines("ejected for 30s").size() >= 2;
  })) << gourmet_->stderrText();
  EXPECT_EQ(sendMany(gourmet_->port(), 30).ok, 30);
}

TEST_F(HealthTest, NoHealthyServerAnswers503AtOnce) {
  ASSERT_NO_FATAL_FAILURE(
      start("    retries: {attempts: 0}\n"
            "    outlier_detection: {consecutive_failures: 1, max_ejection_percent: 100}\n"));
  for (auto& origin : origins_) origin->kill();
  ASSERT_TRUE(eventually([&] {
    sendMany(gourmet_->port(), 3);
    return gourmet_->stderrLines("ejected for 30s").size() >= 3;
  })) << gourmet_->stderrText();
  std::string error;
  auto response =
      roundTrip(gourmet_->port(),
                buildRequest("GET", "/", {{"Host", "x"}, {"Accept", "application/json"}}), &error);
  ASSERT_TRUE(response) << error;
  EXPECT_EQ(response->status, 503);
  EXPECT_NE(response->text().find("no_healthy_server"), std::string::npos) << response->text();
}

TEST(HealthToml, GourmetMaxFailSkipsAServerForAboutOneWindow) {
  SwitchableOrigin good("good"), sick("sick");
  sick.setSick(true);
  const std::string toml = fmt::format(R"toml([server]
address = "127.0.0.1"
port = 0
workers = 2
[[server.locations]]
location = "(.*)"
upstream = "api"
[upstreams.api]
[[upstreams.api.servers]]
path = "{}"
[[upstreams.api.servers]]
path = "{}"
max_fail = 2
fail_timeout = 30
)toml",
                                       good.address(), sick.address());
  GourmetProcess gourmet(toml, {}, "gourmet.toml");
  ASSERT_TRUE(gourmet.ready()) << gourmet.describe();
  sendMany(gourmet.port(), 10);
  ASSERT_TRUE(gourmet.waitForStderr("ejected for 30s: 2 failures within fail_timeout", 5s))
      << gourmet.stderrText();
  const size_t seen = sick.requests();
  EXPECT_EQ(sendMany(gourmet.port(), 20).ok, 20);
  EXPECT_EQ(sick.requests(), seen);
}

}  // namespace
}  // namespace gourmet::testing
