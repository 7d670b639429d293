// Responses the proxy generates itself: each failure has its status and a
// machine-readable reason, as HTML or as JSON when the client asks; bad
// requests never reach the origin; a stale pooled connection is retried.

#include <gtest/gtest.h>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

// The value of "key" in a flat JSON object: a string's contents or a
// number's digits; nullopt when absent. Enough for the error body.
std::optional<std::string> jsonField(const std::string& json, const std::string& key) {
  size_t at = json.find("\"" + key + "\"");
  if (at == std::string::npos) return std::nullopt;
  at = json.find_first_not_of(" \t\r\n", at + key.size() + 2);
  if (at == std::string::npos || json[at] != ':') return std::nullopt;
  at = json.find_first_not_of(" \t\r\n", at + 1);
  if (at == std::string::npos) return std::nullopt;
  if (json[at] == '"') {
    const size_t end = json.find('"', at + 1);
    if (end == std::string::npos) return std::nullopt;
    return json.substr(at + 1, end - at - 1);
  }
  const size_t end = json.find_first_of(",} \t\r\n", at);
  return json.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::string reasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
  }
  return "";
}

class ErrorsTest : public ProxyTest {
 protected:
  // gourmet in front of one server at `address` with the given timeouts.
  void startAt(const std::string& address, std::string connect_timeout = "500ms",
               std::string response_timeout = "1s") {
    ConfigSpec spec;
    spec.upstreams = {UpstreamSpec{.servers = {{address, 1}},
                                   .connect_timeout = std::move(connect_timeout),
                                   .response_timeout = std::move(response_timeout)}};
    startGourmet(spec.yaml());
  }

  std::optional<Response> get(bool json, Millis* elapsed = nullptr) {
    HeaderList headers = {{"Host", "a"}};
    if (json) headers.push_back({"Accept", "application/json"});
    const auto began = Clock::now();
    auto r = send(buildRequest("GET", "/x", headers));
    if (elapsed) *elapsed = std::chrono::duration_cast<Millis>(Clock::now() - began);
    return r;
  }

  // The HTML page and the JSON document both name the status and `reason`
  // (or, when `reason` ends in '_', any reason with that prefix).
  void expectError(int status, const std::string& reason) {
    const auto html = get(false);
    ASSERT_TRUE(html);
    EXPECT_EQ(html->status, status);
    EXPECT_NE(html->header("content-type").value_or("").find("text/html"), std::string::npos);
    EXPECT_NE(html->text().find(std::to_string(status)), std::string::npos) << html->text();
    EXPECT_NE(html->text().find(reason), std::string::npos) << html->text();
    EXPECT_LT(html->body.size(), 8192u) << "an error page should be small";

    const auto json = get(true);
    ASSERT_TRUE(json);
    EXPECT_EQ(json->status, status);
    EXPECT_NE(json->header("content-type").value_or("").find("application/json"),
              std::string::npos);
    EXPECT_EQ(jsonField(json->text(), "status"), std::to_string(status)) << json->text();
    EXPECT_EQ(jsonField(json->text(), "error"), reasonPhrase(status)) << json->text();
    const auto got = jsonField(json->text(), "reason").value_or("<none>");
    if (reason.back() == '_') {
      EXPECT_EQ(got.rfind(reason, 0), 0u) << json->text();
    } else {
      EXPECT_EQ(got, reason) << json->text();
    }
  }
};

TEST_F(ErrorsTest, NoMatchingLocationIs404NoRoute) {
  origin_ = std::make_unique<TestOrigin>();
  ConfigSpec spec;
  spec.locations[0].path = "^/api/";
  spec.upstreams = {UpstreamSpec{.servers = {{origin_->address(), 1}}}};
  ASSERT_NO_FATAL_FAILURE(startGourmet(spec.yaml()));
  expectError(404, "no_route");
  EXPECT_EQ(origin_->connectionsAccepted(), 0u);
}

TEST_F(ErrorsTest, RefusedConnectionIs502AtOnce) {
  RefusingPort refusing;
  ASSERT_NE(refusing.port(), 0);
  ASSERT_NO_FATAL_FAILURE(startAt(refusing.address(), "3s"));
  Millis elapsed{};
  const auto r = get(false, &elapsed);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_LT(elapsed, 1000ms) << "a refused connect must not wait for the 3 s connect timeout";
  expectError(502, "upstream_connect_refused");
}

TEST_F(ErrorsTest, OriginClosingWithoutAnswerIs502) {
  origin_ = std::make_unique<TestOrigin>([](const Request&) {
    Reply r;
    r.close_without_response = true;
    return r;
  });
  ASSERT_NO_FATAL_FAILURE(startAt(origin_->address()));
  expectError(502, "upstream_");
}

TEST_F(ErrorsTest, GarbageFromOriginIs502InvalidResponse) {
  origin_ = std::make_unique<TestOrigin>([](const Request&) {
    Reply r;
    r.raw = "SSH-2.0-OpenSSH_9.2 this is not HTTP\r\n\r\n";
    return r;
  });
  ASSERT_NO_FATAL_FAILURE(startAt(origin_->address()));
  expectError(502, "upstream_invalid_response");
}

TEST_F(ErrorsTest, SlowOriginIs504ResponseTimeout) {
  origin_ = std::make_unique<TestOrigin>([](const Request& req) {
    Reply r = echoTarget(req);
    r.delay = 5s;  // the behaviour under test, interrupted when the origin stops
    return r;
  });
  ASSERT_NO_FATAL_FAILURE(startAt(origin_->address(), "500ms", "1s"));
  Millis elapsed{};
  const auto r = get(false, &elapsed);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 4000ms);
  expectError(504, "upstream_response_timeout");
}

TEST_F(ErrorsTest, UnansweredConnectIs504ConnectTimeout) {
  BlackholePort blackhole;
  ASSERT_TRUE(blackhole.ok()) << "could not fill the accept queue";
  ASSERT_NO_FATAL_FAILURE(startAt(blackhole.address(), "500ms", "5s"));
  Millis elapsed{};
  const auto r = get(false, &elapsed);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
  EXPECT_GE(elapsed, 400ms);
  EXPECT_LT(elapsed, 4000ms);
  expectError(504, "upstream_connect_timeout");
}

class MalformedRequestTest
    : public ProxyTest,
      public ::testing::WithParamInterface<std::pair<const char*, const char*>> {};

TEST_P(MalformedRequestTest, Is400ClosedAndNeverForwarded) {
  ASSERT_NO_FATAL_FAILURE(start());
  RawClient client(port());
  ASSERT_TRUE(client.send(GetParam().second));
  const auto r = client.readFinalResponse();
  ASSERT_TRUE(r) << client.error();
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(client.waitForClose()) << client.error();
  EXPECT_EQ(origin_->requestCount(), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Requests, MalformedRequestTest,
    ::testing::Values(
        std::pair{
            "ContentLengthAndChunked",
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"},
        std::pair{"Http11WithoutHost", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n"},
        std::pair{"TwoHostHeaders", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
        // RFC 9112 §5.1: whitespace before the colon MUST be answered with 400.
        std::pair{"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"}),
    [](const auto& info) { return std::string(info.param.first); });

TEST_F(ErrorsTest, StalePooledConnectionClosedAfterAnswerIsNeverA502) {
  origin_ = std::make_unique<TestOrigin>([](const Request& req) {
    Reply r = echoTarget(req);
    r.close_after_response = true;  // silently, as an origin's idle timeout would
    return r;
  });
  ASSERT_NO_FATAL_FAILURE(startAt(origin_->address()));
  RawClient client(port());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client.send(getRequest("/s" + std::to_string(i)))) << client.error();
    const auto r = client.readFinalResponse();
    ASSERT_TRUE(r) << "request " << i << ": " << client.error();
    EXPECT_EQ(r->status, 200) << "request " << i << ": " << r->text();
  }
}

TEST_F(ErrorsTest, ReusedConnectionClosedBeforeAnswerIsRetriedForGet) {
  // The origin drops every connection when the second request arrives on it:
  // the race in which a pooled connection dies just as the proxy reuses it.
  origin_ = std::make_unique<TestOrigin>([](const Request& req) {
    Reply r = echoTarget(req);
    r.close_without_response = req.index_on_connection > 0;
    return r;
  });
  ASSERT_NO_FATAL_FAILURE(startAt(origin_->address()));
  RawClient client(port());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client.send(getRequest("/r" + std::to_string(i)))) << client.error();
    const auto r = client.readFinalResponse();
    ASSERT_TRUE(r) << "request " << i << ": " << client.error();
    EXPECT_EQ(r->status, 200) << "request " << i << ": " << r->text();
    EXPECT_EQ(r->text(), "/r" + std::to_string(i));
  }
}

}  // namespace
}  // namespace gourmet::testing
