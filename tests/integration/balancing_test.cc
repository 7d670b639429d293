// Weighted balancing as seen from outside: shares follow weights across
// workers and keep-alive connections, and weight 0 drains a server.

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

class BalancingTest : public ProxyTest {
 protected:
  // Origins that answer with their own name, behind one upstream whose
  // servers have `weights`.
  void startWeighted(const std::vector<int>& weights) {
    UpstreamSpec upstream;
    for (size_t i = 0; i < weights.size(); ++i) {
      const std::string name = "origin" + std::to_string(i);
      origins_.push_back(std::make_unique<TestOrigin>(
          [name](const Request&) { return Reply::text(200, "OK", name); }));
      upstream.servers.push_back({origins_.back()->address(), weights[i]});
    }
    ConfigSpec spec;
    spec.upstreams = {upstream};
    startGourmet(spec.yaml());
  }

  // Sends `per_connection` sequential requests on each of `connections`
  // parallel keep-alive connections; returns responses per body.
  std::map<std::string, int> spread(int connections, int per_connection) {
    std::map<std::string, int> counts;
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int c = 0; c < connections; ++c) {
      threads.emplace_back([&] {
        RawClient client(port());
        std::map<std::string, int> local;
        for (int i = 0; i < per_connection; ++i) {
          auto r = client.send(getRequest("/lb")) ? client.readFinalResponse() : std::nullopt;
          ++local[r ? (r->status == 200 ? r->text() : std::to_string(r->status))
                    : "error: " + client.error()];
          if (!r) break;
        }
        std::lock_guard lock(mu);
        for (const auto& [k, v] : local) counts[k] += v;
      });
    }
    for (auto& t : threads) t.join();
    return counts;
  }

  void TearDown() override {
    ProxyTest::TearDown();
    for (auto& o : origins_) {
      o->stop();
      for (const auto& e : o->protocolErrors()) ADD_FAILURE() << "origin saw invalid HTTP: " << e;
    }
  }

  std::vector<std::unique_ptr<TestOrigin>> origins_;
};

void expectShares(const std::map<std::string, int>& counts, const std::vector<int>& expected) {
  int total = 0;
  for (const auto& [name, n] : counts) total += n;
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::string name = "origin" + std::to_string(i);
    const auto it = counts.find(name);
    const int got = it == counts.end() ? 0 : it->second;
    EXPECT_NEAR(got, expected[i], expected[i] * 0.02) << name << " of " << total;
  }
  for (const auto& [name, n] : counts) {
    EXPECT_EQ(name.rfind("origin", 0), 0u) << n << " responses were '" << name << "'";
  }
}

TEST_F(BalancingTest, SharesFollowWeightsAcrossWorkersAndConnections) {
  ASSERT_NO_FATAL_FAILURE(startWeighted({3, 2, 1}));
  const auto counts = spread(/*connections=*/8, /*per_connection=*/750);
  expectShares(counts, {3000, 2000, 1000});
  EXPECT_NEAR(static_cast<double>(origins_[0]->requestCount()), 3000, 60);
}

TEST_F(BalancingTest, BalancesPerRequestNotPerConnection) {
  // One keep-alive connection still spreads its requests over every server.
  ASSERT_NO_FATAL_FAILURE(startWeighted({3, 2, 1}));
  expectShares(spread(/*connections=*/1, /*per_connection=*/600), {300, 200, 100});
}

TEST_F(BalancingTest, ZeroWeightServerGetsNothing) {
  ASSERT_NO_FATAL_FAILURE(startWeighted({1, 0, 2}));
  const auto counts = spread(/*connections=*/4, /*per_connection=*/75);
  EXPECT_EQ(origins_[1]->requestCount(), 0u);
  EXPECT_EQ(counts.count("origin1"), 0u);
  expectShares(counts, {100, 0, 200});
}

TEST_F(BalancingTest, AllWeightsZeroGives503NoHealthyServer) {
  ASSERT_NO_FATAL_FAILURE(startWeighted({0, 0}));
  const auto r = send(buildRequest("GET", "/", {{"Host", "a"}, {"Accept", "application/json"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->text().find("\"no_healthy_server\""), std::string::npos) << r->text();
  for (const auto& o : origins_) EXPECT_EQ(o->connectionsAccepted(), 0u);
}

}  // namespace
}  // namespace gourmet::testing
