// Retries, the retry budget and circuit breaking, through the real binary:
// a failure the proxy can hide is hidden (another server answers), one it
// must not hide is not (a body that reached a server, retries off), retries
// stay within their budget when every server fails, and beyond the circuit
// limits requests fail fast with 503 upstream_overflow.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/integration/http_client.h"
#include "tests/integration/test_origin.h"

namespace gourmet::testing {
namespace {

// Quick retries, so that tests do not wait on backoff.
constexpr std::string_view kFastBackoff = "  backoff: {base: 1ms, max: 4ms}\n";

std::string retries(std::string_view body) {
  return "retries:\n" + std::string(body) + std::string(kFastBackoff);
}

Reply resetWithoutAnswer(const Request&) {
  Reply r;
  r.close_without_response = true;
  return r;
}

// Sockets of this process or any other still connecting (SYN_SENT) to
// 127.0.0.1:port, from /proc/net/tcp.
int connectingTo(uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  int count = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    const size_t colon = remote.find(':');
    if (colon == std::string::npos || state != "02") continue;
    if (std::stoul(remote.substr(colon + 1), nullptr, 16) == port) ++count;
  }
  return count;
}

class RetryTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (gourmet_ && HasFailure()) std::cerr << gourmet_->describe() << "\n";
    gourmet_.reset();
    for (auto& origin : origins_) {
      origin->stop();
      for (const auto& e : origin->protocolErrors())
        ADD_FAILURE() << "origin saw invalid HTTP: " << e;
    }
  }

  TestOrigin& addOrigin(Handler handler = echoTarget) {
    origins_.push_back(std::make_unique<TestOrigin>(std::move(handler)));
    return *origins_.back();
  }

  // gourmet with one upstream over `servers` and `extra` YAML for it.
  void startWith(std::vector<std::string> servers, const std::string& extra, int workers = 1,
                 std::string connect_timeout = "500ms") {
    ConfigSpec spec;
    spec.workers = workers;
    UpstreamSpec upstream;
    upstream.connect_timeout = std::move(connect_timeout);
    upstream.extra = extra;
    for (auto& s : servers) upstream.servers.push_back({std::move(s), 1});
    spec.upstreams = {upstream};
    gourmet_ = std::make_unique<GourmetProcess>(spec.yaml());
    ASSERT_TRUE(gourmet_->ready()) << gourmet_->describe();
  }

  std::optional<Response> get(const std::string& target = "/x", HeaderList extra = {}) {
    HeaderList headers = {{"Host", "a"}, {"Accept", "application/json"}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    std::string error;
    auto r = roundTrip(gourmet_->port(), buildRequest("GET", target, headers), &error);
    if (!r) ADD_FAILURE() << "no response: " << error;
    return r;
  }

  // The failure counters of every worker, summed, from SIGUSR2's lines
  // ("..., retries 3 (1 over budget), overflow 0, panic picks 0").
  struct Counters {
    uint64_t retries = 0, over_budget = 0, overflow = 0;
  };
  std::optional<Counters> counters(int workers) {
    const size_t before = gourmet_->stderrLines(": open ").size();
    gourmet_->signal(SIGUSR2);
    if (!gourmet_->waitForStderrLines(": open ", before + workers, 5s)) return std::nullopt;
    const auto lines = gourmet_->stderrLines(": open ");
    Counters sum;
    for (size_t i = before; i < lines.size(); ++i) {
      const size_t at = lines[i].find(", retries ");
      if (at == std::string::npos) continue;
      unsigned long long r = 0, b = 0, o = 0;
      if (std::sscanf(lines[i].c_str() + at, ", retries %llu (%llu over budget), overflow %llu", &r,
                      &b, &o) != 3) {
        ADD_FAILURE() << "unparsable stats line: " << lines[i];
        return std::nullopt;
      }
      sum.retries += r;
      sum.over_budget += b;
      sum.overflow += o;
    }
    return sum;
  }

  size_t totalRequests() const {
    size_t n = 0;
    for (const auto& origin : origins_) n += origin->requestCount();
    return n;
  }

  std::vector<std::unique_ptr<TestOrigin>> origins_;
  std::unique_ptr<GourmetProcess> gourmet_;
};

TEST_F(RetryTest, ConnectFailureIsRetriedOnTheOtherServerInvisibly) {
  RefusingPort refusing;
  TestOrigin& origin = addOrigin();
  ASSERT_NO_FATAL_FAILURE(
      startWith({refusing.address(), origin.address()}, retries("  attempts: 1\n"), 2));
  for (int i = 0; i < 20; ++i) {
    const auto r = get("/n" + std::to_string(i));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->text();
  }
  EXPECT_EQ(origin.requestCount(), 20u);
  const auto seen = counters(2);
  ASSERT_TRUE(seen);
  EXPECT_GE(seen->retries, 1u) << "round robin must have picked the refusing port";
}

TEST_F(RetryTest, RetriesOffShowTheConnectFailure) {
  RefusingPort refusing;
  TestOrigin& origin = addOrigin();
  ASSERT_NO_FATAL_FAILURE(
      startWith({refusing.address(), origin.address()}, retries("  attempts: 0\n")));
  int refused = 0, ok = 0;
  for (int i = 0; i < 10; ++i) {
    const auto r = get();
    ASSERT_TRUE(r);
    if (r->status == 502) {
      EXPECT_NE(r->text().find("upstream_connect_refused"), std::string::npos) << r->text();
      ++refused;
    } else {
      EXPECT_EQ(r->status, 200);
      ++ok;
    }
  }
  EXPECT_GE(refused, 1);
  EXPECT_EQ(origin.requestCount(), static_cast<size_t>(ok));
}

// The connect failed, so the head and the body forwarded so far are still in
// the failed connection's queue: they move to the next server whole.
TEST_F(RetryTest, PostAfterAConnectFailureIsRetriedWithItsWholeBody) {
  RefusingPort refusing;
  TestOrigin& origin = addOrigin();
  ASSERT_NO_FATAL_FAILURE(
      startWith({refusing.address(), origin.address()}, retries("  attempts: 1\n")));
  constexpr uint64_t kBody = 300 * 1024;  // more than one read, above the high watermark
  for (int i = 0; i < 4; ++i) {
    RawClient client(gourmet_->port());
    ASSERT_TRUE(client.connected());
    ASSERT_TRUE(client.send(fmt::format(
        "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        kBody)));
    ASSERT_TRUE(client.sendPattern(0, kBody));
    const auto r = client.readFinalResponse();
    ASSERT_TRUE(r) << client.error();
    EXPECT_EQ(r->status, 200) << r->text();
  }
  const auto requests = origin.requests();
  ASSERT_EQ(requests.size(), 4u);
  const BodyDigest expected = patternDigest(kBody);
  for (const auto& request : requests) {
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.body.size(), kBody);
    EXPECT_EQ(request.body.hash(), expected.hash());
  }
  const auto seen = counters(1);
  ASSERT_TRUE(seen);
  // One worker, round robin over two: after the first request every pick
  // lands on the refusing port first.
  EXPECT_GE(seen->retries, 3u);
}

TEST_F(RetryTest, PostWhoseBodyReachedTheServerIsNotRetried) {
  addOrigin(resetWithoutAnswer);
  addOrigin(resetWithoutAnswer);
  ASSERT_NO_FATAL_FAILURE(startWith({origins_[0]->address(), origins_[1]->address()},
                                    retries("  attempts: 2\n  on: [connect_failure, reset]\n")));
  std::string error;
  const auto post = roundTrip(
      gourmet_->port(),
      buildRequest("POST", "/order", {{"Host", "a"}, {"Accept", "application/json"}}, "item=1"),
      &error);
  ASSERT_TRUE(post) << error;
  EXPECT_EQ(post->status, 502);
  EXPECT_NE(post->text().find("upstream_reset"), std::string::npos) << post->text();
  EXPECT_EQ(totalRequests(), 1u) << "a POST that reached a server must not be sent again";

  // The same failure on a GET is retried (so the POST was spared by rule,
  // not by accident): once on each server, then no untried server is left.
  const auto r = get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(totalRequests(), 3u);
  EXPECT_GE(origins_[0]->requestCount(), 1u);
  EXPECT_GE(origins_[1]->requestCount(), 1u);
}

TEST_F(RetryTest, GetResetBeforeTheHeadIsRetriedOnTheOtherServer) {
  TestOrigin& resetting = addOrigin(resetWithoutAnswer);
  TestOrigin& good = addOrigin();
  ASSERT_NO_FATAL_FAILURE(startWith({resetting.address(), good.address()},
                                    retries("  attempts: 1\n  on: [reset]\n"), 2));
  for (int i = 0; i < 10; ++i) {
    const auto r = get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->text();
  }
  EXPECT_GE(resetting.requestCount(), 1u);
  EXPECT_EQ(good.requestCount(), 10u);
}

TEST_F(RetryTest, Status503IsRetriedOnTheOtherServerWhenAsked) {
  TestOrigin& unavailable =
      addOrigin([](const Request&) { return Reply::text(503, "Service Unavailable", "busy\n"); });
  TestOrigin& good = addOrigin();
  ASSERT_NO_FATAL_FAILURE(startWith({unavailable.address(), good.address()},
                                    retries("  attempts: 1\n  on: [503]\n"), 2));
  for (int i = 0; i < 10; ++i) {
    const auto r = get("/s" + std::to_string(i));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->text();
    EXPECT_EQ(r->text(), "/s" + std::to_string(i)) << "the 503's body must not leak into it";
  }
  EXPECT_GE(unavailable.requestCount(), 1u);
  EXPECT_EQ(good.requestCount(), 10u);
}

TEST_F(RetryTest, Status503IsPassedOnWhenNotInOn) {
  TestOrigin& unavailable =
      addOrigin([](const Request&) { return Reply::text(503, "Service Unavailable", "busy\n"); });
  ASSERT_NO_FATAL_FAILURE(
      startWith({unavailable.address()}, retries("  attempts: 1\n  on: [connect_failure]\n")));
  const auto r = get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->text(), "busy\n");
  EXPECT_EQ(unavailable.requestCount(), 1u);
}

// Every server answers 503. A request's first try fails at once; its retry
// is held by the origin until the test lets go. So retries in flight only
// grow, and the budget (20% of at most 20 requests in flight, at least 2) is
// all that stops them: without it every one of the 20 requests would hold a
// retry.
TEST_F(RetryTest, BudgetCapsRetriesUnderATotalOutage) {
  struct Shared {
    std::mutex mu;
    std::map<std::string, int> seen;  // X-Id -> tries
    std::atomic<int> held{0};
    Gate release;
  };
  auto shared = std::make_shared<Shared>();
  const Handler handler = [shared](const Request& request) {
    const std::string id = request.header("X-Id").value_or("");
    int tries = 0;
    {
      std::lock_guard lock(shared->mu);
      tries = ++shared->seen[id];
    }
    if (tries > 1) {
      ++shared->held;
      shared->release.wait(10s);
    }
    return Reply::text(503, "Service Unavailable", "down\n");
  };
  for (int i = 0; i < 3; ++i) addOrigin(handler);
  ASSERT_NO_FATAL_FAILURE(startWith(
      {origins_[0]->address(), origins_[1]->address(), origins_[2]->address()},
      retries("  attempts: 1\n  on: [503]\n  budget_percent: 20\n  min_retries: 2\n"), 2));

  constexpr int kRequests = 20;
  std::atomic<int> answered{0};
  std::vector<std::optional<Response>> responses(kRequests);
  std::vector<std::thread> clients;
  for (int i = 0; i < kRequests; ++i) {
    clients.emplace_back([&, i] {
      responses[i] = roundTrip(
          gourmet_->port(), buildRequest("GET", "/", {{"Host", "a"}, {"X-Id", std::to_string(i)}}));
      ++answered;
    });
  }
  // Settled: every request is either answered or holds a retry at an origin.
  const bool settled =
      eventually([&] { return answered.load() + shared->held.load() == kRequests; }, 8s);
  const int held = shared->held.load();
  shared->release.open();
  for (auto& t : clients) t.join();
  ASSERT_TRUE(settled) << "answered " << answered.load() << ", held " << held;
  EXPECT_GE(held, 1);
  EXPECT_LE(held, 4) << "retries in flight beyond max(min_retries, 20% of requests)";
  for (const auto& r : responses) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
  }
  EXPECT_EQ(totalRequests(), static_cast<size_t>(kRequests + held));
  const auto seen = counters(2);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->retries, static_cast<uint64_t>(held));
  EXPECT_EQ(seen->over_budget, static_cast<uint64_t>(kRequests - held));
}

TEST_F(RetryTest, MaxRequestsOverflowsFastWith503) {
  auto gate = std::make_shared<Gate>();
  TestOrigin& slow = addOrigin([gate](const Request& request) {
    gate->wait(10s);
    return echoTarget(request);
  });
  ASSERT_NO_FATAL_FAILURE(startWith({slow.address()}, "max_requests: 2\n", 2, "500ms"));
  std::vector<std::optional<Response>> held(2);
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back([&, i] { held[i] = roundTrip(gourmet_->port(), getRequest("/held")); });
  }
  const bool both_at_origin = slow.waitForRequests(2, 5s);
  const auto began = Clock::now();
  const auto extra = both_at_origin ? get() : std::nullopt;
  const auto elapsed = Clock::now() - began;
  gate->open();
  for (auto& t : clients) t.join();
  ASSERT_TRUE(both_at_origin);
  ASSERT_TRUE(extra);
  EXPECT_EQ(extra->status, 503);
  EXPECT_NE(extra->text().find("upstream_overflow"), std::string::npos) << extra->text();
  EXPECT_LT(elapsed, 500ms);
  for (const auto& r : held) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(slow.requestCount(), 2u);
  // The slots are given back.
  const auto after = get();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

TEST_F(RetryTest, MaxPendingOverflowsFastWhileAConnectHangs) {
  BlackholePort blackhole;
  if (!blackhole.ok()) GTEST_SKIP() << "could not fill the accept queue";
  ASSERT_NO_FATAL_FAILURE(
      startWith({blackhole.address()}, "max_pending: 1\n" + retries("  attempts: 0\n"), 1, "3s"));
  const int fillers = connectingTo(blackhole.port());
  std::optional<Response> first;
  std::thread waiting([&] { first = roundTrip(gourmet_->port(), getRequest("/first")); });
  const bool pending = eventually([&] { return connectingTo(blackhole.port()) > fillers; });
  const auto began = Clock::now();
  const auto second = pending ? get() : std::nullopt;
  const auto elapsed = Clock::now() - began;
  waiting.join();
  ASSERT_TRUE(pending) << "gourmet's connect never showed up in SYN_SENT";
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 503);
  EXPECT_NE(second->text().find("upstream_overflow"), std::string::npos) << second->text();
  EXPECT_LT(elapsed, 1s);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 504);  // its own connect timed out
}

TEST_F(RetryTest, NoEligibleServerIs503NoHealthyServerAtOnce) {
  TestOrigin& drained = addOrigin();
  ConfigSpec spec;
  spec.workers = 1;
  spec.upstreams = {UpstreamSpec{.servers = {{drained.address(), 0}}}};
  gourmet_ = std::make_unique<GourmetProcess>(spec.yaml());
  ASSERT_TRUE(gourmet_->ready()) << gourmet_->describe();
  const auto began = Clock::now();
  const auto r = get();
  const auto elapsed = Clock::now() - began;
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->text().find("\"no_healthy_server\""), std::string::npos) << r->text();
  EXPECT_LT(elapsed, 100ms);
  EXPECT_EQ(drained.connectionsAccepted(), 0u);
}

}  // namespace
}  // namespace gourmet::testing
