// Graceful shutdown seen from outside: SIGTERM/SIGINT stop listening at once,
// let requests in flight finish, close idle keep-alive connections and exit
// 0; server.drain_timeout bounds the wait; a second signal stops at once.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

constexpr uint64_t kSlowBody = 256 * 1024;

class DrainTest : public ProxyTest {
 protected:
  // /slow answers (a large body) only once the test opens the gate; /hang
  // never answers within a test; anything else echoes its target.
  void startDraining(std::optional<std::string> drain_timeout = std::nullopt) {
    start(
        [this](const Request& r) {
          if (r.target == "/hang") {
            gate_.wait(10s);
            return Reply::text(200, "OK", "late");
          }
          if (r.target != "/slow") return echoTarget(r);
          gate_.wait(10s);
          Reply reply;
          reply.generated_body = kSlowBody;
          return reply;
        },
        [drain_timeout](const std::string& origin) {
          ConfigSpec spec;
          spec.upstreams = {UpstreamSpec{.servers = {{origin, 1}}, .response_timeout = "20s"}};
          spec.drain_timeout = drain_timeout;
          return spec.yaml();
        });
  }

  void TearDown() override {
    gate_.open();  // lets the origin's handlers finish before it stops
    ProxyTest::TearDown();
  }

  // Sends `target` and waits until the origin holds it.
  void sendInFlight(RawClient& client, const std::string& target) {
    const size_t before = origin_->requestCount();
    ASSERT_TRUE(client.send(getRequest(target))) << client.error();
    ASSERT_TRUE(origin_->waitForRequests(before + 1, 5s));
  }

  // Exited on its own within `timeout` with status 0.
  void expectCleanExit(Millis timeout) {
    const auto status = gourmet_->waitForExit(timeout);
    ASSERT_TRUE(status) << "still running " << timeout.count() << " ms later";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << "wait status " << *status << "\n"
        << gourmet_->describe();
  }

  Gate gate_;
};

TEST_F(DrainTest, SlowRequestInFlightCompletesWhileNewConnectionsAreRefused) {
  ASSERT_NO_FATAL_FAILURE(startDraining());
  RawClient slow(port());
  ASSERT_NO_FATAL_FAILURE(sendInFlight(slow, "/slow"));
  gourmet_->signal(SIGTERM);
  EXPECT_TRUE(eventually([&] { return connectionRefused(port()); }, 3s))
      << "the listener is still open after SIGTERM";
  EXPECT_EQ(countListeningSockets(port()), 0);
  EXPECT_FALSE(gourmet_->waitForExit(0ms)) << "exited with a request in flight";

  gate_.open();
  const auto r = slow.readFinalResponse();
  ASSERT_TRUE(r) << slow.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), kSlowBody);
  EXPECT_EQ(r->body.hash(), patternDigest(kSlowBody).hash());
  EXPECT_TRUE(hasToken(r->headers, "connection", "close"))
      << "a response while draining should announce the close";
  EXPECT_TRUE(slow.waitForClose(3s)) << slow.error();
  expectCleanExit(5s);
}

TEST_F(DrainTest, IdleKeepAliveConnectionIsClosedAtSigterm) {
  ASSERT_NO_FATAL_FAILURE(startDraining());
  RawClient idle(port());
  ASSERT_TRUE(idle.send(getRequest("/first")));
  const auto r = idle.readFinalResponse();
  ASSERT_TRUE(r) << idle.error();
  EXPECT_FALSE(hasToken(r->headers, "connection", "close"));
  gourmet_->signal(SIGTERM);
  EXPECT_TRUE(idle.waitForClose(3s)) << idle.error();
  expectCleanExit(5s);
}

TEST_F(DrainTest, SigintDrainsLikeSigterm) {
  ASSERT_NO_FATAL_FAILURE(startDraining());
  RawClient slow(port());
  ASSERT_NO_FATAL_FAILURE(sendInFlight(slow, "/slow"));
  gourmet_->signal(SIGINT);
  ASSERT_TRUE(gourmet_->waitForStderr("SIGINT: draining", 3s)) << gourmet_->describe();
  gate_.open();
  const auto r = slow.readFinalResponse();
  ASSERT_TRUE(r) << slow.error();
  EXPECT_EQ(r->body.size(), kSlowBody);
  expectCleanExit(5s);
}

TEST_F(DrainTest, DrainTimeoutBoundsTheWaitForAnOriginThatNeverAnswers) {
  ASSERT_NO_FATAL_FAILURE(startDraining("300ms"));
  RawClient stuck(port());
  ASSERT_NO_FATAL_FAILURE(sendInFlight(stuck, "/hang"));
  const auto signalled = Clock::now();
  gourmet_->signal(SIGTERM);
  ASSERT_NO_FATAL_FAILURE(expectCleanExit(3s));
  const auto took = std::chrono::duration_cast<Millis>(Clock::now() - signalled);
  EXPECT_GE(took.count(), 250) << "did not wait for the request in flight";
  EXPECT_LT(took.count(), 3000);
  // What is left is closed: the client is not left hanging.
  stuck.setIdleTimeout(2s);
  const auto r = stuck.readFinalResponse();
  EXPECT_FALSE(r && r->status == 200) << "the origin never answered, yet got 200";
}

TEST_F(DrainTest, SecondSigtermStopsAtOnce) {
  ASSERT_NO_FATAL_FAILURE(startDraining());  // drain_timeout: the default 15 s
  RawClient stuck(port());
  ASSERT_NO_FATAL_FAILURE(sendInFlight(stuck, "/hang"));
  gourmet_->signal(SIGTERM);
  ASSERT_TRUE(gourmet_->waitForStderr("SIGTERM: draining", 3s)) << gourmet_->describe();
  EXPECT_FALSE(gourmet_->waitForExit(0ms));
  gourmet_->signal(SIGTERM);
  const auto status = gourmet_->waitForExit(2s);
  ASSERT_TRUE(status) << "still draining after the second SIGTERM\n" << gourmet_->describe();
  EXPECT_TRUE(WIFEXITED(*status)) << "wait status " << *status;
  EXPECT_TRUE(gourmet_->waitForStderr("SIGTERM: stopping now", 2s));
}

}  // namespace
}  // namespace gourmet::testing
