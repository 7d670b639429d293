// Connection management on both sides: HTTP/1.0 and 1.1 persistence
// (RFC 9112 §9.3), pooled reuse towards the origin, pipelining in order, and
// many concurrent keep-alive clients.

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

using ConnectionTest = ProxyTest;

TEST_F(ConnectionTest, Http10WithoutKeepAliveIsClosedAfterResponse) {
  ASSERT_NO_FATAL_FAILURE(start());
  RawClient client(port());
  ASSERT_TRUE(client.send(buildRequest("GET", "/ten", {{"Host", "a"}}, "", "HTTP/1.0")));
  const auto r = client.readFinalResponse();
  ASSERT_TRUE(r) << client.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->text(), "/ten");
  EXPECT_NE(r->framing, Framing::kChunked);
  if (r->framing != Framing::kUntilClose) {
    EXPECT_TRUE(client.waitForClose()) << client.error();
  }
}

TEST_F(ConnectionTest, Http10KeepAliveKeepsConnectionWithContentLength) {
  ASSERT_NO_FATAL_FAILURE(start());
  RawClient client(port());
  for (const char* target : {"/one", "/two", "/three"}) {
    ASSERT_TRUE(client.send(buildRequest(
        "GET", target, {{"Host", "a"}, {"Connection", "keep-alive"}}, "", "HTTP/1.0")));
    const auto r = client.readFinalResponse();
    ASSERT_TRUE(r) << target << ": " << client.error();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->text(), target);
    EXPECT_EQ(r->framing, Framing::kContentLength) << target;
    EXPECT_TRUE(hasToken(r->headers, "connection", "keep-alive")) << target;
  }
}

TEST_F(ConnectionTest, KeepAliveReusesClientAndOriginConnections) {
  ASSERT_NO_FATAL_FAILURE(start());
  constexpr int kRequests = 20;
  RawClient client(port());
  for (int i = 0; i < kRequests; ++i) {
    const std::string target = "/ka" + std::to_string(i);
    ASSERT_TRUE(client.send(getRequest(target))) << client.error();
    const auto r = client.readFinalResponse();
    ASSERT_TRUE(r) << target << ": " << client.error();
    EXPECT_EQ(r->text(), target);
    EXPECT_FALSE(hasToken(r->headers, "connection", "close"));
  }
  EXPECT_EQ(origin_->requestCount(), static_cast<size_t>(kRequests));
  // Sequential requests from one client land on one worker, whose pool hands
  // back the same idle upstream connection.
  EXPECT_LE(origin_->connectionsAccepted(), 2u);
}

TEST_F(ConnectionTest, PipelinedRequestsAreAnsweredInOrder) {
  ASSERT_NO_FATAL_FAILURE(start([](const Request& req) {
    // Earlier requests answer more slowly, so an out-of-order proxy is caught.
    Reply r = echoTarget(req);
    r.delay = Millis(req.target == "/p0" ? 100 : 0);
    return r;
  }));
  std::vector<std::string> requests;
  for (int i = 0; i < 10; ++i) requests.push_back(getRequest("/p" + std::to_string(i)));
  RawClient client(port());
  const auto responses = pipeline(client, requests);
  ASSERT_EQ(responses.size(), requests.size()) << client.error();
  for (size_t i = 0; i < responses.size(); ++i) {
    EXPECT_EQ(responses[i].status, 200);
    EXPECT_EQ(responses[i].text(), "/p" + std::to_string(i));
  }
}

TEST_F(ConnectionTest, PipelinedBodiesStayApart) {
  ASSERT_NO_FATAL_FAILURE(start([](const Request& req) {
    return Reply::text(200, "OK", req.method + " " + req.target + " " + req.body.text());
  }));
  const std::vector<std::string> requests = {
      buildRequest("POST", "/a", {{"Host", "h"}}, "first body"),
      buildRequest("POST", "/b", {{"Host", "h"}, {"Transfer-Encoding", "chunked"}}) +
          encodeChunked("second, chunked", 4),
      getRequest("/c", "h"), buildRequest("PUT", "/d", {{"Host", "h"}}, std::string(70'000, 'd')),
      getRequest("/e", "h")};
  RawClient client(port());
  const auto responses = pipeline(client, requests);
  ASSERT_EQ(responses.size(), requests.size()) << client.error();
  EXPECT_EQ(responses[0].text(), "POST /a first body");
  EXPECT_EQ(responses[1].text(), "POST /b second, chunked");
  EXPECT_EQ(responses[2].text(), "GET /c ");
  EXPECT_EQ(responses[3].text(), "PUT /d " + std::string(70'000, 'd'));
  EXPECT_EQ(responses[4].text(), "GET /e ");
}

TEST_F(ConnectionTest, PipelineSurvivesCloseDelimitedAndBodilessResponses) {
  // Each origin response ends differently; the client's pipeline must not
  // notice: the proxy re-frames what it must and keeps the order.
  ASSERT_NO_FATAL_FAILURE(start([](const Request& req) {
    Reply r = echoTarget(req);
    if (req.target == "/eof") r.framing = Reply::Framing::kUntilClose;
    if (req.target == "/chunked") r.framing = Reply::Framing::kChunked;
    if (req.target == "/204") r = Reply::text(204, "No Content", "");
    return r;
  }));
  const std::vector<std::string> targets = {"/eof", "/204", "/chunked", "/head", "/last"};
  std::vector<std::string> requests;
  for (const auto& t : targets) {
    requests.push_back(buildRequest(t == "/head" ? "HEAD" : "GET", t, {{"Host", "a"}}));
  }
  RawClient client(port());
  ASSERT_TRUE(client.send(fmt::format("{}", fmt::join(requests, ""))));
  for (const auto& t : targets) {
    const auto r = client.readFinalResponse(/*to_head=*/t == "/head");
    ASSERT_TRUE(r) << t << ": " << client.error();
    EXPECT_NE(r->framing, Framing::kUntilClose) << t << " ended the pipelined connection";
    EXPECT_EQ(r->text(), t == "/204" || t == "/head" ? "" : t);
  }
}

TEST_F(ConnectionTest, ManyConcurrentKeepAliveClientsAllSucceed) {
  ASSERT_NO_FATAL_FAILURE(start());
  constexpr int kClients = 200;
  constexpr int kRequestsEach = 5;
  std::atomic<int> ok{0};
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      RawClient client(port(), 15s);
      for (int i = 0; i < kRequestsEach; ++i) {
        const std::string target = fmt::format("/c{}/r{}", c, i);
        auto r = client.send(getRequest(target)) ? client.readFinalResponse() : std::nullopt;
        if (!r || r->status != 200 || r->text() != target) {
          failures[c] = fmt::format(
              "client {} request {}: {}", c, i,
              r ? fmt::format("status {} body '{}'", r->status, r->text()) : client.error());
          return;
        }
        ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequestsEach);
  int shown = 0;
  for (const auto& f : failures) {
    if (!f.empty() && shown++ < 5) ADD_FAILURE() << f;
  }
  EXPECT_EQ(origin_->requestCount(), static_cast<size_t>(kClients * kRequestsEach));
}

}  // namespace
}  // namespace gourmet::testing
