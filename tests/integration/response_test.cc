// What the client receives: the origin's status, reason, headers and body
// pass through; hop-by-hop headers do not; bodies are framed correctly for
// the client's protocol version (RFC 9112 §6), and 100-continue works.

#include <gtest/gtest.h>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

using ResponseTest = ProxyTest;

// Big enough to span many reads and chunks, small enough to be quick.
constexpr uint64_t kSize = 300'000;

struct StatusCase {
  int status;
  std::string reason;
  std::string body;
};

// Readable test names in failure output instead of a byte dump.
void PrintTo(const StatusCase& c, std::ostream* os) { *os << c.status << " " << c.reason; }

class StatusPassThroughTest : public ProxyTest, public ::testing::WithParamInterface<StatusCase> {};

TEST_P(StatusPassThroughTest, StatusReasonAndBodyPassThrough) {
  const StatusCase c = GetParam();
  ASSERT_NO_FATAL_FAILURE(
      start([c](const Request&) { return Reply::text(c.status, c.reason, c.body); }));
  const auto r = send(getRequest("/status"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, c.status);
  EXPECT_EQ(r->reason, c.reason);
  EXPECT_EQ(r->text(), c.body);
  EXPECT_EQ(r->header("content-type"), "text/plain");
}

INSTANTIATE_TEST_SUITE_P(
    Statuses, StatusPassThroughTest,
    ::testing::Values(StatusCase{201, "Created", "made it"},
                      StatusCase{404, "Not Found", "no such page"},
                      StatusCase{418, "I'm a teapot", "short and stout"},
                      StatusCase{500, "Internal Server Error", "<h1>origin broke</h1>"},
                      StatusCase{503, "Service Unavailable", "origin's own 503 page"},
                      StatusCase{299, "Made Up Reason", "custom"}),
    [](const auto& info) { return std::to_string(info.param.status); });

TEST_F(ResponseTest, EndToEndHeadersPassThroughUnchanged) {
  const HeaderList sent = {{"Set-Cookie", "a=1; Path=/; HttpOnly"},
                           {"Content-Type", "application/x-custom; charset=utf-8"},
                           {"Set-Cookie", "b=2; Expires=Wed, 21 Oct 2015 07:28:00 GMT"},
                           {"X-Dup", "1"},
                           {"ETag", "\"v1\""},
                           {"Set-Cookie", "c=3"},
                           {"X-Dup", "2"},
                           {"Cache-Control", "no-cache, no-store"}};
  ASSERT_NO_FATAL_FAILURE(start([sent](const Request&) {
    Reply r;
    r.headers = sent;
    r.body = "ok";
    return r;
  }));
  const auto r = send(getRequest("/cookies"));
  ASSERT_TRUE(r);
  HeaderList seen;
  for (const auto& h : r->headers) {
    for (const char* name : {"set-cookie", "content-type", "x-dup", "etag", "cache-control"}) {
      if (equalsIgnoreCase(h.name, name)) seen.push_back(h);
    }
  }
  ASSERT_EQ(seen.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_TRUE(equalsIgnoreCase(seen[i].name, sent[i].name)) << seen[i].name;
    EXPECT_EQ(seen[i].value, sent[i].value) << sent[i].name;
  }
}

TEST_F(ResponseTest, HopByHopResponseHeadersAreRemoved) {
  ASSERT_NO_FATAL_FAILURE(start([](const Request&) {
    Reply r;
    r.headers = {{"Connection", "X-Internal"},
                 {"X-Internal", "secret"},
                 {"Keep-Alive", "timeout=7, max=1234"},
                 {"Proxy-Connection", "keep-alive"},
                 {"Upgrade", "example/1"},
                 {"X-Public", "yes"}};
    r.body = "ok";
    return r;
  }));
  const auto r = send(getRequest("/"));
  ASSERT_TRUE(r);
  EXPECT_EQ(countHeaders(r->headers, "x-internal"), 0u);
  EXPECT_EQ(countHeaders(r->headers, "proxy-connection"), 0u);
  EXPECT_EQ(countHeaders(r->headers, "upgrade"), 0u);
  EXPECT_FALSE(hasToken(r->headers, "connection", "x-internal"));
  for (const auto& v : findHeaders(r->headers, "keep-alive")) {
    EXPECT_NE(v, "timeout=7, max=1234") << "origin's Keep-Alive reached the client";
  }
  EXPECT_EQ(r->header("x-public"), "yes");
}

TEST_F(ResponseTest, HeadResponseHasNoBody) {
  ASSERT_NO_FATAL_FAILURE(start([](const Request&) {
    Reply r;
    r.body = std::string(5000, 'x');  // announced in Content-Length, not sent
    return r;
  }));
  RawClient client(port());
  ASSERT_TRUE(client.send(buildRequest("HEAD", "/h", {{"Host", "a"}})));
  const auto head = client.readFinalResponse(/*to_head=*/true);
  ASSERT_TRUE(head) << client.error();
  EXPECT_EQ(head->status, 200);
  // Any stray body byte would corrupt the next response on this connection.
  ASSERT_TRUE(client.send(getRequest("/after")));
  const auto next = client.readFinalResponse();
  ASSERT_TRUE(next) << client.error();
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->text().size(), 5000u);
  EXPECT_EQ(origin_->requests().at(0).method, "HEAD");
}

TEST_F(ResponseTest, NoContentAndNotModifiedHaveNoBody) {
  ASSERT_NO_FATAL_FAILURE(start([](const Request& req) {
    if (req.target == "/204") return Reply::text(204, "No Content", "");
    if (req.target == "/304") {
      Reply r = Reply::text(304, "Not Modified", "");
      r.headers = {{"ETag", "\"v1\""}};
      return r;
    }
    return Reply::text(200, "OK", "after");
  }));
  RawClient client(port());
  const std::vector<std::pair<std::string, int>> cases = {
      {"/204", 204}, {"/304", 304}, {"/after", 200}};
  for (const auto& [target, status] : cases) {
    ASSERT_TRUE(client.send(getRequest(target))) << target;
    const auto r = client.readFinalResponse();
    ASSERT_TRUE(r) << target << ": " << client.error();
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(countHeaders(r->headers, "transfer-encoding"), 0u) << target;
    if (status == 204) {
      EXPECT_EQ(countHeaders(r->headers, "content-length"), 0u);
    } else if (status == 304) {
      EXPECT_EQ(r->header("etag"), "\"v1\"");
    } else {
      EXPECT_EQ(r->text(), "after");
    }
  }
}

// Framing headers on a HEAD or 304 response describe the representation,
// not this message (RFC 9112 §6.3): the message ends with its head, and a
// proxy that waits for the announced body stalls the connection.
Reply bodilessWithFraming(const Request& req) {
  Reply r;
  if (req.method == "HEAD") {
    r.framing = Reply::Framing::kChunked;
    r.body = "never sent";
  } else if (req.target == "/304") {
    r = Reply::text(304, "Not Modified", "");
    r.headers = {{"Content-Length", "1234"}, {"ETag", "\"v2\""}};
  } else {
    r.body = "after";
  }
  return r;
}

TEST_F(ResponseTest, HeadAnsweredWithChunkedHeadersEndsAtItsHead) {
  ASSERT_NO_FATAL_FAILURE(start(bodilessWithFraming));
  RawClient client(port());
  ASSERT_TRUE(client.send(buildRequest("HEAD", "/", {{"Host", "a"}})));
  const auto head = client.readFinalResponse(/*to_head=*/true);
  ASSERT_TRUE(head) << client.error();
  EXPECT_EQ(head->status, 200);
  ASSERT_TRUE(client.send(getRequest("/after")));
  const auto after = client.readFinalResponse();
  ASSERT_TRUE(after) << client.error();
  EXPECT_EQ(after->text(), "after");
}

TEST_F(ResponseTest, NotModifiedWithContentLengthEndsAtItsHead) {
  ASSERT_NO_FATAL_FAILURE(start(bodilessWithFraming));
  RawClient client(port());
  ASSERT_TRUE(client.send(getRequest("/304")));
  const auto not_modified = client.readFinalResponse();
  ASSERT_TRUE(not_modified) << client.error();
  EXPECT_EQ(not_modified->status, 304);
  EXPECT_EQ(not_modified->header("etag"), "\"v2\"");
  ASSERT_TRUE(client.send(getRequest("/after")));
  const auto after = client.readFinalResponse();
  ASSERT_TRUE(after) << client.error();
  EXPECT_EQ(after->text(), "after");
}

TEST_F(ResponseTest, ChunkedResponseArrivesByteIdentical) {
  ASSERT_NO_FATAL_FAILURE(start([](const Request&) {
    Reply r;
    r.framing = Reply::Framing::kChunked;
    r.chunk_size = 1000;
    r.generated_body = kSize;
    return r;
  }));
  RawClient client(port());
  for (int i = 0; i < 2; ++i) {  // twice: the framing must leave the connection usable
    ASSERT_TRUE(client.send(getRequest("/chunked")));
    const auto r = client.readFinalResponse();
    ASSERT_TRUE(r) << client.error();
    EXPECT_TRUE(r->framing == Framing::kChunked || r->framing == Framing::kContentLength)
        << framingName(r->framing);
    EXPECT_EQ(r->body.size(), kSize);
    EXPECT_EQ(r->body.hash(), patternDigest(kSize).hash());
  }
}

TEST_F(ResponseTest, CloseDelimitedResponseIsChunkedForHttp11) {
  ASSERT_NO_FATAL_FAILURE(start([](const Request&) {
    Reply r;
    r.framing = Reply::Framing::kUntilClose;
    r.generated_body = kSize;
    return r;
  }));
  RawClient client(port());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(client.send(getRequest("/eof")));
    const auto r = client.readFinalResponse();
    ASSERT_TRUE(r) << client.error();
    EXPECT_EQ(r->framing, Framing::kChunked) << framingName(r->framing);
    EXPECT_EQ(r->body.size(), kSize);
    EXPECT_EQ(r->body.hash(), patternDigest(kSize).hash());
    if (r->framing == Framing::kUntilClose) break;  // the connection is gone
  }
}

TEST_F(ResponseTest, Http10ClientNeverGetsChunked) {
  ASSERT_NO_FATAL_FAILURE(start([](const Request&) {
    Reply r;
    r.framing = Reply::Framing::kChunked;
    r.generated_body = kSize;
    return r;
  }));
  RawClient client(port());
  ASSERT_TRUE(client.send(buildRequest("GET", "/", {{"Host", "a"}}, "", "HTTP/1.0")));
  const auto r = client.readFinalResponse();
  ASSERT_TRUE(r) << client.error();
  EXPECT_NE(r->framing, Framing::kChunked);
  EXPECT_EQ(r->body.size(), kSize);
  EXPECT_EQ(r->body.hash(), patternDigest(kSize).hash());
}

TEST_F(ResponseTest, ExpectContinueGetsInterimResponseThenBodyIsForwarded) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string body = "hello world";
  RawClient client(port());
  ASSERT_TRUE(client.send(buildRequest("POST", "/expect",
                                       {{"Host", "a"},
                                        {"Expect", "100-continue"},
                                        {"Content-Length", std::to_string(body.size())}})));
  // The client waits for permission before it sends the body.
  const auto interim = client.readResponse();
  ASSERT_TRUE(interim) << client.error();
  EXPECT_EQ(interim->version, "HTTP/1.1");
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(client.send(body));
  const auto r = client.readFinalResponse();
  ASSERT_TRUE(r) << client.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(onlyRequest().body.text(), body);
}

}  // namespace
}  // namespace gourmet::testing
