// `balancer: hash` seen from outside: the same key reaches the same origin
// from any gourmet process running the same config, whatever that process's
// reload history (a fleet behind one address must agree on where a session
// lives), and requests without a key spread over the servers instead of all
// landing on one.

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/integration/http_client.h"
#include "tests/integration/test_origin.h"

namespace gourmet::testing {
namespace {

constexpr size_t kOrigins = 5;

std::string hashConfig(const std::vector<std::string>& servers) {
  std::string yaml =
      "server:\n  address: 127.0.0.1\n  port: 0\n  workers: 2\n  locations:\n"
      "    - path: \"^/\"\n      upstream: backend\n"
      "upstreams:\n  backend:\n    balancer: hash\n    hash_on: cookie:session\n"
      "    connect_timeout: 500ms\n    servers:\n";
  for (const auto& server : servers) yaml += "      - path: " + server + "\n";
  return yaml;
}

class HashIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (size_t i = 0; i < kOrigins; ++i) {
      const std::string name = "origin-" + std::to_string(i);
      origins_.push_back(std::make_unique<TestOrigin>(
          [name](const Request&) { return Reply::text(200, "OK", name); }));
      addresses_.push_back(origins_.back()->address());
    }
  }

  // The origin that answered `cookie` (empty: no Cookie header).
  static std::string originFor(uint16_t port, const std::string& cookie) {
    std::string request = "GET / HTTP/1.1\r\nHost: h\r\n";
    if (!cookie.empty()) request += "Cookie: session=" + cookie + "\r\n";
    request += "Connection: close\r\n\r\n";
    std::string error;
    auto r = roundTrip(port, request, &error);
    if (!r) return "<" + error + ">";
    return r->text();
  }

  std::vector<std::unique_ptr<TestOrigin>> origins_;
  std::vector<std::string> addresses_;
};

TEST_F(HashIdentityTest, SameKeySameOriginAcrossProcessesWithDifferentReloadHistories) {
  // One process starts with the final config; the other first knew two
  // other servers (so it numbers the final ones differently), then reloads.
  GourmetProcess straight(hashConfig(addresses_));
  ASSERT_TRUE(straight.ready()) << straight.describe();
  RefusingPort gone_a, gone_b;
  GourmetProcess reloaded(hashConfig({gone_a.address(), gone_b.address()}));
  ASSERT_TRUE(reloaded.ready()) << reloaded.describe();
  reloaded.rewriteConfig(hashConfig({addresses_.rbegin(), addresses_.rend()}));  // another order
  const auto outcome = reloaded.reload();
  ASSERT_TRUE(outcome && outcome->find("reload: version 2") != std::string::npos)
      << (outcome ? *outcome : "no reload outcome") << "\n"
      << reloaded.describe();

  std::set<std::string> used;
  for (int i = 0; i < 40; ++i) {
    const std::string key = "user-" + std::to_string(i);
    const std::string there = originFor(straight.port(), key);
    EXPECT_EQ(originFor(reloaded.port(), key), there) << "key " << key;
    EXPECT_EQ(originFor(straight.port(), key), there) << "key " << key << " is not sticky";
    used.insert(there);
  }
  EXPECT_GE(used.size(), 3u) << "40 keys over 5 servers should reach most of them";
}

TEST_F(HashIdentityTest, RequestsWithoutAKeySpreadOverTheServers) {
  GourmetProcess gourmet(hashConfig(addresses_));
  ASSERT_TRUE(gourmet.ready()) << gourmet.describe();
  std::set<std::string> used;
  // 60 weighted-random picks over 5 equal servers all landing on one has
  // probability 5^-59: this is deterministic in practice.
  for (int i = 0; i < 60; ++i) used.insert(originFor(gourmet.port(), ""));
  EXPECT_GE(used.size(), 2u) << "every keyless request went to " << *used.begin();
  for (const auto& name : used) EXPECT_EQ(name.rfind("origin-", 0), 0u) << name;
}

}  // namespace
}  // namespace gourmet::testing
