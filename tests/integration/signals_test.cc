// Signals at awkward moments: SIGTERM repeated while gourmet shuts down
// must still end in exit 0 (never a crash, never the signal's default
// action), and SIGHUP with an unchanged file still re-resolves server names.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

class SignalsTest : public ProxyTest {
 protected:
  void TearDown() override {
    gate_.open();
    ProxyTest::TearDown();
  }
  Gate gate_;
};

TEST_F(SignalsTest, SigtermRepeatedThroughoutADrainExitsZero) {
  // Two workers: the idle one finishes at the first SIGTERM while the other
  // drains a request in flight; then SIGTERM keeps coming, through the
  // drain, the abort and the shutdown that follows, until the process is
  // gone. Each one must find something that handles it.
  ASSERT_NO_FATAL_FAILURE(start(
      [this](const Request& r) {
        gate_.wait(10s);
        return echoTarget(r);
      },
      [](const std::string& origin) {
        ConfigSpec spec;
        spec.upstreams = {UpstreamSpec{.servers = {{origin, 1}}, .response_timeout = "20s"}};
        return spec.yaml();
      }));
  RawClient client(port());
  ASSERT_TRUE(client.send(getRequest("/held")));
  ASSERT_TRUE(origin_->waitForRequests(1, 5s));
  gourmet_->signal(SIGTERM);
  ASSERT_TRUE(gourmet_->waitForStderr("SIGTERM: draining", 3s)) << gourmet_->describe();
  // The idle worker has finished (its handles are closed) before the next one.
  ASSERT_TRUE(gourmet_->waitForStderr(": open 0,", 3s)) << gourmet_->describe();
  std::optional<int> status;
  const auto deadline = Clock::now() + 10s;
  while (!status && Clock::now() < deadline) {
    gourmet_->signal(SIGTERM);
    status = gourmet_->waitForExit(Millis(0));  // as often as we can: the window is short
  }
  ASSERT_TRUE(status) << "still running 10 s into repeated SIGTERMs\n" << gourmet_->describe();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << (WIFSIGNALED(*status) ? "killed by signal " + std::to_string(WTERMSIG(*status))
                               : "exit " + std::to_string(WEXITSTATUS(*status)))
      << "\n"
      << gourmet_->describe();
}

TEST_F(SignalsTest, SighupWithAnUnchangedFileReResolvesServerNames) {
  // `localhost` comes from /etc/hosts (nsswitch "files"), not from DNS.
  ASSERT_NO_FATAL_FAILURE(start(echoTarget, [](const std::string& origin) {
    const std::string port = origin.substr(origin.rfind(':') + 1);
    ConfigSpec spec;
    spec.upstreams = {UpstreamSpec{.servers = {{"localhost:" + port, 1}}}};
    return spec.yaml();
  }));
  const auto outcome = gourmet_->reload();
  ASSERT_TRUE(outcome) << gourmet_->describe();
  EXPECT_NE(outcome->find("configuration unchanged, still version 1 (server names re-resolved, "
                          "same addresses)"),
            std::string::npos)
      << *outcome;
  // And once more: a second SIGHUP is a second resolution, not a no-op.
  const auto second = gourmet_->reload();
  ASSERT_TRUE(second) << gourmet_->describe();
  EXPECT_NE(second->find("re-resolved"), std::string::npos) << *second;
}

TEST_F(SignalsTest, SighupsDuringAReloadCoalesceAndEveryOneEnds) {
  ASSERT_NO_FATAL_FAILURE(start());
  const size_t before = gourmet_->reloadOutcomes().size();
  for (int i = 0; i < 20; ++i) gourmet_->signal(SIGHUP);
  // At least one reload ran, every one ended, and the proxy still serves.
  ASSERT_TRUE(eventually([&] { return gourmet_->reloadOutcomes().size() > before; }, 5s))
      << gourmet_->describe();
  EXPECT_LE(gourmet_->reloadOutcomes().size() - before, 20u);
  auto r = send(getRequest("/after"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace gourmet::testing
