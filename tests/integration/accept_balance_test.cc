// server.accept_balance seen from outside, with 2 workers: least_loaded
// keeps the workers' loads (open connections plus requests in flight) level
// whatever the kernel's SO_REUSEPORT hash does, steers new connections away
// from a worker that is already busy, and loses nothing under a burst of
// short connections or a drain. Per-worker counts come from the lines
// SIGUSR2 logs.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <thread>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

struct WorkerLine {
  unsigned open = 0, busy = 0, connections = 0, handed_in = 0, handed_out = 0;
  unsigned long requests = 0;
  unsigned load() const { return open + busy; }
};

class AcceptBalanceTest : public ProxyTest {
 protected:
  // /hold answers once the test opens the gate; anything else echoes.
  void startWith(const std::string& accept_balance) {
    start(
        [this](const Request& r) {
          if (r.target == "/hold") gate_.wait(10s);
          return echoTarget(r);
        },
        [accept_balance](const std::string& origin) { return configFor(origin, accept_balance); });
  }

  static std::string configFor(const std::string& origin, const std::string& accept_balance) {
    ConfigSpec spec;
    spec.workers = 2;
    spec.accept_balance = accept_balance;
    spec.upstreams = {UpstreamSpec{.servers = {{origin, 1}}, .response_timeout = "20s"}};
    return spec.yaml();
  }

  void TearDown() override {
    gate_.open();
    ProxyTest::TearDown();
  }

  // SIGUSR2, then the two lines it logs, by worker index.
  std::vector<WorkerLine> workerLines() {
    const size_t before = gourmet_->stderrLines(": open ").size();
    gourmet_->signal(SIGUSR2);
    EXPECT_TRUE(gourmet_->waitForStderrLines(": open ", before + 2, 5s));
    const auto lines = gourmet_->stderrLines(": open ");
    std::vector<WorkerLine> out(2);
    for (size_t i = before; i < lines.size() && i < before + 2; ++i) {
      const std::string& text = lines[i];
      const size_t at = text.find("worker ");
      unsigned index = 0;
      WorkerLine w;
      const int n = std::sscanf(text.c_str() + (at == std::string::npos ? 0 : at),
                                "worker %u: open %u, busy %u, connections %u (%u in, %u out), "
                                "requests %lu",
                                &index, &w.open, &w.busy, &w.connections, &w.handed_in,
                                &w.handed_out, &w.requests);
      EXPECT_EQ(n, 7) << text;
      if (n == 7 && index < 2) out[index] = w;
    }
    return out;
  }

  // A keep-alive connection that has had one answered request.
  std::unique_ptr<RawClient> idleClient() {
    auto client = std::make_unique<RawClient>(port());
    EXPECT_TRUE(client->send(getRequest("/hello"))) << client->error();
    const auto r = client->readFinalResponse();
    EXPECT_TRUE(r && r->status == 200) << client->error();
    return client;
  }

  // A connection whose request the origin holds until the gate opens.
  std::unique_ptr<RawClient> busyClient() {
    auto client = std::make_unique<RawClient>(port());
    const size_t before = origin_->requestCount();
    EXPECT_TRUE(client->send(getRequest("/hold"))) << client->error();
    EXPECT_TRUE(origin_->waitForRequests(before + 1, 5s));
    return client;
  }

  Gate gate_;
};

TEST_F(AcceptBalanceTest, LeastLoadedSplitsKeepAliveConnectionsEvenly) {
  ASSERT_NO_FATAL_FAILURE(startWith("least_loaded"));
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 40; ++i) clients.push_back(idleClient());
  const auto w = workerLines();
  EXPECT_EQ(w[0].open + w[1].open, 40u);
  // A connection is handed over once the accepting worker carries two more
  // (an eighth more at higher loads), so the counts stay within 2.
  const int diff = static_cast<int>(w[0].open) - static_cast<int>(w[1].open);
  EXPECT_LE(std::abs(diff), 2) << w[0].open << " and " << w[1].open;
  EXPECT_EQ(w[0].handed_out, w[1].handed_in);
  EXPECT_EQ(w[1].handed_out, w[0].handed_in);
  // Handed-over connections serve like any other.
  for (auto& client : clients) {
    ASSERT_TRUE(client->send(getRequest("/again"))) << client->error();
    const auto r = client->readFinalResponse();
    ASSERT_TRUE(r) << client->error();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->text(), "/again");
  }
  const auto after = workerLines();
  EXPECT_EQ(after[0].requests + after[1].requests, 80u);
}

// The kernel places some long requests unevenly; after a reload to
// least_loaded, new connections fill the less busy worker first.
TEST_F(AcceptBalanceTest, LeastLoadedSteersNewConnectionsAwayFromABusyWorker) {
  ASSERT_NO_FATAL_FAILURE(startWith("kernel"));
  std::vector<std::unique_ptr<RawClient>> busy;
  for (int i = 0; i < 12; ++i) busy.push_back(busyClient());
  const auto before = workerLines();
  ASSERT_EQ(before[0].busy + before[1].busy, 12u);
  ASSERT_EQ(before[0].handed_out + before[1].handed_out, 0u) << "kernel mode hands nothing over";

  gourmet_->rewriteConfig(configFor(origin_->address(), "least_loaded"));
  const auto outcome = gourmet_->reload();
  ASSERT_TRUE(outcome && outcome->find("reload: version") != std::string::npos)
      << outcome.value_or("no reload line");
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(idleClient());
  const auto after = workerLines();
  const int diff = static_cast<int>(after[0].load()) - static_cast<int>(after[1].load());
  EXPECT_LE(std::abs(diff), 4) << "loads " << after[0].load() << " and " << after[1].load();
  const int gained0 = static_cast<int>(after[0].open - before[0].open);
  const int gained1 = static_cast<int>(after[1].open - before[1].open);
  EXPECT_EQ(gained0 + gained1, 20);
  if (before[0].busy > before[1].busy) {
    EXPECT_LT(gained0, gained1);
  } else if (before[1].busy > before[0].busy) {
    EXPECT_LT(gained1, gained0);
  }

  gate_.open();
  for (auto& client : busy) {
    const auto r = client->readFinalResponse();
    ASSERT_TRUE(r) << client->error();
    EXPECT_EQ(r->status, 200);
  }
}

// Short connections from several threads at once: every request answered,
// the handoff counts add up, and SIGTERM still ends in a clean exit.
TEST_F(AcceptBalanceTest, LeastLoadedLosesNothingUnderABurstOrADrain) {
  ASSERT_NO_FATAL_FAILURE(startWith("least_loaded"));
  constexpr int kThreads = 4;
  constexpr int kEach = 100;
  std::atomic<int> ok{0};
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string error;
        const auto r = roundTrip(
            port(), "GET /short HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &error);
        if (r && r->status == 200 && r->text() == "/short") {
          ok.fetch_add(1);
        } else if (errors[t].empty()) {
          errors[t] = r ? fmt::format("status {}", r->status) : error;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors) EXPECT_EQ(error, "");
  EXPECT_EQ(ok.load(), kThreads * kEach);
  const auto w = workerLines();
  EXPECT_EQ(w[0].connections + w[1].connections, unsigned{kThreads * kEach});
  EXPECT_EQ(w[0].handed_out, w[1].handed_in);
  EXPECT_EQ(w[1].handed_out, w[0].handed_in);
  EXPECT_EQ(w[0].requests + w[1].requests, unsigned{kThreads * kEach});

  auto held = busyClient();
  const size_t lines_before_exit = gourmet_->stderrLines(": open 0,").size();
  gourmet_->signal(SIGTERM);
  EXPECT_TRUE(eventually([&] { return connectionRefused(port()); }, 3s));
  gate_.open();
  const auto r = held->readFinalResponse();
  ASSERT_TRUE(r) << held->error();
  EXPECT_EQ(r->status, 200);
  const auto status = gourmet_->waitForExit(5s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << gourmet_->describe();
  // Each worker reports on its way out.
  EXPECT_TRUE(gourmet_->waitForStderrLines(": open 0,", lines_before_exit + 2, 5s))
      << gourmet_->describe();
}

}  // namespace
}  // namespace gourmet::testing
