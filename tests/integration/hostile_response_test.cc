// Hostile clients, part 3: the other side. An origin that answers with
// something two parsers could read differently gets its client a 502 and
// its connection dropped, never reused; an origin that stalls mid-body gets
// its client's connection cut, so a truncated body never looks complete.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

using namespace std::string_literals;

constexpr Millis kResponseTimeout{400};
constexpr Millis kOriginHold{5000};  // far longer than any wait below

std::string responseConfig(const std::string& origin_address) {
  return fmt::format(R"yaml(server:
  address: 127.0.0.1
  port: 0
  workers: 1
  locations:
    - path: "^/"
      upstream: backend
upstreams:
  backend:
    connect_timeout: 1s
    response_timeout: {}ms
    servers:
      - path: "{}"
)yaml",
                     kResponseTimeout.count(), origin_address);
}

struct BadResponse {
  const char* name;
  std::string bytes;
};

class HostileResponseTest : public ProxyTest, public ::testing::WithParamInterface<BadResponse> {
 protected:
  // /bad gets the parameter's bytes on a connection the origin then holds
  // open without reading; anything else gets the echo.
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start(
        [bytes = GetParam().bytes](const Request& request) {
          if (request.target != "/bad") return echoTarget(request);
          Reply reply;
          reply.raw = bytes;
          reply.hold_after_raw = kOriginHold;
          return reply;
        },
        responseConfig));
  }
};

TEST_P(HostileResponseTest, Is502AndTheUpstreamConnectionIsNotReused) {
  RawClient client(port(), 3s);
  ASSERT_TRUE(client.send(getRequest("/bad")));
  const auto bad = client.readFinalResponse();
  ASSERT_TRUE(bad) << client.error();
  EXPECT_EQ(bad->status, 502) << bad->text();
  EXPECT_NE(bad->text().find("upstream_invalid_response"), std::string::npos) << bad->text();

  // Reusing the held connection would leave this request unanswered (the
  // origin is not reading it) until the response timeout: a 504, not a 200.
  const auto after = send(getRequest("/after"));
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_EQ(after->text(), "/after");
  EXPECT_EQ(origin_->connectionsAccepted(), 2u);
}

INSTANTIATE_TEST_SUITE_P(
    HostileResponses, HostileResponseTest,
    ::testing::Values(
        BadResponse{"ObsFold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok"s},
        BadResponse{"BareLf", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok"s},
        BadResponse{"BareCr", "HTTP/1.1 200 OK\rContent-Length: 2\r\n\r\nok"s},
        BadResponse{"SpaceBeforeColon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok"s},
        BadResponse{"TwoContentLengths",
                    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!"s},
        BadResponse{"NegativeContentLength", "HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok"s},
        BadResponse{"NulInValue", "HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 2\r\n\r\nok"s},
        BadResponse{"TwoDigitStatus", "HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok"s},
        BadResponse{"FourDigitStatus", "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok"s},
        BadResponse{"NotHttp", "ICY 200 OK\r\nContent-Length: 2\r\n\r\nok"s},
        BadResponse{
            "SwitchingProtocolsUnasked",
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"s}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- An origin that stops half way through a body ----

class StalledBodyTest : public ProxyTest {
 protected:
  void startWith(std::string head_and_some_body) {
    ASSERT_NO_FATAL_FAILURE(start(
        [bytes = std::move(head_and_some_body)](const Request&) {
          Reply reply;
          reply.raw = bytes;
          reply.hold_after_raw = kOriginHold;
          return reply;
        },
        responseConfig));
  }

  // The client gets the head and the bytes sent so far, then the connection
  // is cut after about the response timeout, long before the origin lets go;
  // the body never completes.
  void expectCut(uint64_t bytes_before_stall) {
    RawClient client(port(), 3s);
    ASSERT_TRUE(client.send(getRequest("/stall")));
    BodyDigest body;
    const auto began = Clock::now();
    const auto head = client.readHeadAndPartOfBody(bytes_before_stall, body);
    ASSERT_TRUE(head) << client.error();
    EXPECT_EQ(head->status, 200);
    EXPECT_FALSE(client.readRestOfBody(*head, bytes_before_stall, body))
        << "a stalled body must not be completed";
    EXPECT_LT(Clock::now() - began, kOriginHold / 2) << "cut by the proxy, not by the origin";
  }
};

TEST_F(StalledBodyTest, ContentLengthBodyIdleCutsTheClient) {
  ASSERT_NO_FATAL_FAILURE(startWith("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"));
  expectCut(10);
}

TEST_F(StalledBodyTest, ChunkedBodyIdleCutsTheClientWithoutTheLastChunk) {
  ASSERT_NO_FATAL_FAILURE(
      startWith("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n"));
  expectCut(10);
}

// ---- What one client leaves behind is never another's ----

// A client that hangs up in the middle of a large download leaves bytes the
// proxy had queued for it; the next client (same worker, so the same pooled
// request state) must get its own response and nothing else.
TEST_F(StalledBodyTest, AClientLeavingMidDownloadLeavesNothingForTheNext) {
  ASSERT_NO_FATAL_FAILURE(start(
      [](const Request& request) {
        if (request.target != "/big") return echoTarget(request);
        Reply reply;
        reply.generated_body = 64ull << 20;
        return reply;
      },
      responseConfig));
  for (int i = 0; i < 3; ++i) {
    {
      RawClient leaving(port(), 3s);
      ASSERT_TRUE(leaving.send(getRequest("/big")));
      BodyDigest part;
      ASSERT_TRUE(leaving.readHeadAndPartOfBody(1 << 20, part)) << leaving.error();
      // Reading nothing more, until every buffer on the way is full and the
      // proxy holds queued bytes for this client: the origin stops sending.
      ASSERT_TRUE(origin_->waitForSendingToStall(300ms, 20s));
    }  // closed with part of the body still queued in the proxy
    const auto next = send(getRequest("/next"));
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 200);
    EXPECT_EQ(next->text(), "/next");
  }
}

}  // namespace
}  // namespace gourmet::testing
