#pragma once

// What the "hostile clients" tests share: gourmet with small limits and short
// client timeouts in front of one TestOrigin, raw bytes in, and the two
// things every test asserts: what the client got, and what the origin got.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {

// Small on purpose: tests cross them with a few hundred bytes.
inline constexpr size_t kTestMaxTarget = 256;        // limits.max_request_line
inline constexpr size_t kTestMaxHeaderBytes = 1024;  // limits.max_header_bytes
inline constexpr size_t kTestMaxHeaders = 10;        // limits.max_headers
inline constexpr size_t kTestMaxBody = 1024;         // limits.max_body_size
inline constexpr size_t kTestMaxBigBody = 4096;      // ^/big/'s max_body_size
inline constexpr size_t kTestMaxConnections = 4;     // limits.max_connections
inline constexpr Millis kTestClientTimeout{500};     // header and body timeouts
inline constexpr Millis kTestIdleTimeout{800};       // client_idle_timeout

// One worker, so that max_connections (per worker) is the proxy's.
inline std::string hostileConfig(const std::string& origin_address) {
  return fmt::format(
      R"yaml(server:
  address: 127.0.0.1
  port: 0
  workers: 1
  client_header_timeout: {timeout}ms
  client_body_timeout: {timeout}ms
  client_idle_timeout: {idle}ms
  limits:
    max_request_line: {target}
    max_header_bytes: {header_bytes}
    max_headers: {headers}
    max_body_size: {body}
    max_connections: {connections}
  locations:
    - path: "^/big/"
      upstream: backend
      max_body_size: {big_body}
    - path: "^/"
      upstream: backend
upstreams:
  backend:
    connect_timeout: 1s
    response_timeout: 2s
    servers:
      - path: "{origin}"
)yaml",
      fmt::arg("timeout", kTestClientTimeout.count()), fmt::arg("idle", kTestIdleTimeout.count()),
      fmt::arg("target", kTestMaxTarget), fmt::arg("header_bytes", kTestMaxHeaderBytes),
      fmt::arg("headers", kTestMaxHeaders), fmt::arg("body", kTestMaxBody),
      fmt::arg("connections", kTestMaxConnections), fmt::arg("big_body", kTestMaxBigBody),
      fmt::arg("origin", origin_address));
}

class HostileTest : public ProxyTest {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(start(echoTarget, hostileConfig)); }

  // Sends `bytes` on a fresh connection in one write; expects a final
  // response with one of `statuses` and then the connection closed.
  void expectRejected(std::string_view bytes, const std::set<int>& statuses) {
    RawClient client(port(), 2s);
    ASSERT_TRUE(client.send(bytes)) << client.error();
    const auto r = client.readFinalResponse();
    ASSERT_TRUE(r) << "no response: " << client.error();
    EXPECT_TRUE(statuses.contains(r->status))
        << "got " << r->status << " " << r->reason << ": " << r->text();
    EXPECT_TRUE(hasToken(r->headers, "connection", "close")) << "announced, not just done";
    EXPECT_TRUE(client.waitForClose(1s)) << client.error();  // at once, in fact
  }

  // The origin received nothing from the requests so far: a well-formed
  // request sent now on a fresh connection is the only one it has seen. With
  // `nor_a_connection`, it has not even been connected to before (the
  // rejection happened before the proxy picked a server).
  void expectOriginUntouched(bool nor_a_connection = true) {
    const auto r = send(getRequest("/after"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << "the proxy must still work";
    EXPECT_EQ(r->text(), "/after");
    const auto requests = origin_->requests();
    std::string seen;
    for (const Request& q : requests) seen += fmt::format(" [{} {}]", q.method, q.target);
    ASSERT_EQ(requests.size(), 1u) << "the origin received:" << seen;
    EXPECT_EQ(requests.front().target, "/after");
    if (nor_a_connection) {
      EXPECT_EQ(origin_->connectionsAccepted(), 1u);
    }
  }

  // For tests in which the proxy rightly cut a request body short on its way
  // to the origin: the origin's parser complains about the cut body and
  // nothing else. Stops the origin.
  void excuseCutBodies() {
    origin_->stop();
    for (const auto& e : origin_->protocolErrors()) {
      EXPECT_NE(e.find("request body:"), std::string::npos) << "origin saw invalid HTTP: " << e;
    }
    EXPECT_EQ(origin_->requestCount(), 0u) << "the origin must never see a complete request";
    origin_.reset();
  }
};

}  // namespace gourmet::testing
