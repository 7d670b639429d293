#include "core/http_rewrite.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace gourmet::core {
namespace {

using FieldList = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// A head as the llhttp glue leaves it: target (or reason phrase), then fields
// in arrival order with their original spelling.
MessageHead headOf(std::string_view target, FieldList fields) {
  MessageHead head;
  EXPECT_TRUE(head.appendTarget(target.data(), target.size()));
  for (const auto& [name, value] : fields) {
    EXPECT_TRUE(head.appendName(name.data(), name.size()));
    head.nameComplete();
    if (!value.empty()) {
      EXPECT_TRUE(head.appendValue(value.data(), value.size()));
    }
    head.valueComplete();
  }
  return head;
}

UpstreamRequest getRequest() {
  return UpstreamRequest{
      .method = "GET",
      .path = "/api/items",
      .query = "?page=2&sort=asc",
      .host = "shop.example",
      .client_ip = "192.0.2.7",
      .proto = "http",
  };
}

std::string upstreamHead(const MessageHead& client, const UpstreamRequest& request) {
  std::string out = "stale bytes from the previous request";
  writeUpstreamRequestHead(client, request, out);
  return out;
}

std::string downstreamHead(const MessageHead& upstream, const DownstreamResponse& response) {
  std::string out = "stale bytes from the previous response";
  writeDownstreamResponseHead(upstream, response, out);
  return out;
}

// --- writeUpstreamRequestHead ---

TEST(UpstreamRequestHead, RequestLineHostFirstThenClientFieldsThenForwardingFields) {
  MessageHead client = headOf(
      "/ignored?x=1", {{"User-Agent", "curl/8.0"}, {"Host", "shop.example"}, {"Accept", "*/*"}});
  EXPECT_EQ(upstreamHead(client, getRequest()),
            "GET /api/items?page=2&sort=asc HTTP/1.1\r\n"
            "Host: shop.example\r\n"
            "User-Agent: curl/8.0\r\n"
            "Accept: */*\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: shop.example\r\n"
            "Via: 1.1 gourmet\r\n"
            "\r\n");
}

TEST(UpstreamRequestHead, UsesTheForwardedPathAndTheGivenHost) {
  // Rewritten path, no query, absolute-form authority instead of the Host header.
  MessageHead client = headOf("/old/a", {{"host", "client.example"}});
  UpstreamRequest request = getRequest();
  request.method = "DELETE";
  request.path = "/new/a";
  request.query = "";
  request.host = "authority.example:8080";
  EXPECT_EQ(upstreamHead(client, request),
            "DELETE /new/a HTTP/1.1\r\n"
            "Host: authority.example:8080\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: authority.example:8080\r\n"
            "Via: 1.1 gourmet\r\n"
            "\r\n");
}

TEST(UpstreamRequestHead, DropsHopByHopFieldsAndThoseNamedInConnection) {
  MessageHead client = headOf("/", {{"Host", "shop.example"},
                                    {"Connection", "keep-alive, X-Hop-One"},
                                    {"Keep-Alive", "timeout=5"},
                                    {"Proxy-Connection", "keep-alive"},
                                    {"TE", "trailers"},
                                    {"Trailer", "X-Checksum"},
                                    {"Upgrade", "h2c"},
                                    {"X-Hop-One", "1"},
                                    {"X-Kept", "k"},
                                    {"x-hop-two", "2"},
                                    {"CONNECTION", "X-HOP-TWO"}});
  EXPECT_EQ(upstreamHead(client, getRequest()),
            "GET /api/items?page=2&sort=asc HTTP/1.1\r\n"
            "Host: shop.example\r\n"
            "X-Kept: k\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: shop.example\r\n"
            "Via: 1.1 gourmet\r\n"
            "\r\n");
}

TEST(UpstreamRequestHead, ContentLengthComesFromTheParsedValue) {
  MessageHead client = headOf("/", {{"Host", "shop.example"},
                                    {"Content-Length", "0012"},
                                    {"Content-Type", "application/json"},
                                    {"Expect", "100-continue"}});
  UpstreamRequest request = getRequest();
  request.method = "POST";
  request.query = "";
  request.body = BodyFraming::kContentLength;
  request.content_length = 12;
  EXPECT_EQ(upstreamHead(client, request),
            "POST /api/items HTTP/1.1\r\n"
            "Host: shop.example\r\n"
            "Content-Type: application/json\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: shop.example\r\n"
            "Via: 1.1 gourmet\r\n"
            "Content-Length: 12\r\n"
            "\r\n");
}

TEST(UpstreamRequestHead, ContentLengthZeroIsStillSent) {
  MessageHead client = headOf("/", {{"Host", "shop.example"}, {"Content-Length", "0"}});
  UpstreamRequest request = getRequest();
  request.method = "PUT";
  request.query = "";
  request.body = BodyFraming::kContentLength;
  request.content_length = 0;
  EXPECT_EQ(upstreamHead(client, request),
            "PUT /api/items HTTP/1.1\r\n"
            "Host: shop.example\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: shop.example\r\n"
            "Via: 1.1 gourmet\r\n"
            "Content-Length: 0\r\n"
            "\r\n");
}

TEST(UpstreamRequestHead, ChunkedBodyIsAnnouncedOnceByGourmet) {
  MessageHead client = headOf("/", {{"Host", "shop.example"},
                                    {"Transfer-Encoding", "chunked"},
                                    {"Trailer", "X-Sum"},
                                    {"X-Id", "7"}});
  UpstreamRequest request = getRequest();
  request.method = "POST";
  request.query = "";
  request.body = BodyFraming::kChunked;
  EXPECT_EQ(upstreamHead(client, request),
            "POST /api/items HTTP/1.1\r\n"
            "Host: shop.example\r\n"
            "X-Id: 7\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: shop.example\r\n"
            "Via: 1.1 gourmet\r\n"
            "Transfer-Encoding: chunked\r\n"
            "\r\n");
}

TEST(UpstreamRequestHead, XForwardedForAppendsToEveryEarlierValue) {
  MessageHead client = headOf("/", {{"X-Forwarded-For", "203.0.113.1, 198.51.100.2"},
                                    {"Host", "shop.example"},
                                    {"x-forwarded-for", ""},
                                    {"X-FORWARDED-FOR", "198.51.100.3"}});
  EXPECT_EQ(upstreamHead(client, getRequest()),
            "GET /api/items?page=2&sort=asc HTTP/1.1\r\n"
            "Host: shop.example\r\n"
            "X-Forwarded-For: 203.0.113.1, 198.51.100.2, 198.51.100.3, 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: shop.example\r\n"
            "Via: 1.1 gourmet\r\n"
            "\r\n");
}

TEST(UpstreamRequestHead, XForwardedForReplaceDropsWhatTheClientSent) {
  MessageHead client = headOf("/", {{"X-Forwarded-For", "203.0.113.1, 198.51.100.2"},
                                    {"Host", "shop.example"},
                                    {"X-FORWARDED-FOR", "198.51.100.3"}});
  UpstreamRequest request = getRequest();
  request.replace_forwarded_for = true;
  EXPECT_EQ(upstreamHead(client, request),
            "GET /api/items?page=2&sort=asc HTTP/1.1\r\n"
            "Host: shop.example\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: shop.example\r\n"
            "Via: 1.1 gourmet\r\n"
            "\r\n");
}

TEST(UpstreamRequestHead, XForwardedProtoIsTheListenersScheme) {
  MessageHead client = headOf("/", {{"Host", "shop.example"}, {"X-Forwarded-Proto", "http"}});
  UpstreamRequest request = getRequest();
  request.proto = "https";
  EXPECT_EQ(upstreamHead(client, request),
            "GET /api/items?page=2&sort=asc HTTP/1.1\r\n"
            "Host: shop.example\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: https\r\n"
            "X-Forwarded-Host: shop.example\r\n"
            "Via: 1.1 gourmet\r\n"
            "\r\n");
}

TEST(UpstreamRequestHead, XForwardedProtoAndHostAreReplacedNotAppended) {
  MessageHead client = headOf("/", {{"Host", "shop.example"},
                                    {"X-Forwarded-Proto", "https"},
                                    {"X-Forwarded-Host", "spoofed.example"},
                                    {"x-forwarded-proto", "gopher"}});
  EXPECT_EQ(upstreamHead(client, getRequest()),
            "GET /api/items?page=2&sort=asc HTTP/1.1\r\n"
            "Host: shop.example\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: shop.example\r\n"
            "Via: 1.1 gourmet\r\n"
            "\r\n");
}

TEST(UpstreamRequestHead, NoXForwardedHostWithoutHost) {
  // An HTTP/1.0 client may send no Host; the upstream still gets an (empty) Host.
  MessageHead client = headOf("/", {{"Accept", "*/*"}});
  UpstreamRequest request = getRequest();
  request.host = "";
  request.client_http10 = true;
  EXPECT_EQ(upstreamHead(client, request),
            "GET /api/items?page=2&sort=asc HTTP/1.1\r\n"
            "Host: \r\n"
            "Accept: */*\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "Via: 1.0 gourmet\r\n"
            "\r\n");
}

TEST(UpstreamRequestHead, ViaAppendsWithTheClientsProtocolVersion) {
  MessageHead client =
      headOf("/", {{"Via", "1.1 cdn-edge"}, {"Host", "shop.example"}, {"via", "1.0 corp-proxy"}});
  UpstreamRequest request = getRequest();
  EXPECT_EQ(upstreamHead(client, request),
            "GET /api/items?page=2&sort=asc HTTP/1.1\r\n"
            "Host: shop.example\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: shop.example\r\n"
            "Via: 1.1 cdn-edge, 1.0 corp-proxy, 1.1 gourmet\r\n"
            "\r\n");
  request.client_http10 = true;
  EXPECT_EQ(upstreamHead(client, request),
            "GET /api/items?page=2&sort=asc HTTP/1.1\r\n"
            "Host: shop.example\r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: shop.example\r\n"
            "Via: 1.1 cdn-edge, 1.0 corp-proxy, 1.0 gourmet\r\n"
            "\r\n");
}

TEST(UpstreamRequestHead, OtherFieldsKeepOrderSpellingAndDuplicates) {
  MessageHead client = headOf("/", {{"Cookie", "a=1"},
                                    {"x-trace", "t1"},
                                    {"Host", "shop.example"},
                                    {"Cookie", "b=2"},
                                    {"X-Trace", "t2"},
                                    {"Authorization", "Bearer abc"},
                                    {"X-Empty", ""}});
  EXPECT_EQ(upstreamHead(client, getRequest()),
            "GET /api/items?page=2&sort=asc HTTP/1.1\r\n"
            "Host: shop.example\r\n"
            "Cookie: a=1\r\n"
            "x-trace: t1\r\n"
            "Cookie: b=2\r\n"
            "X-Trace: t2\r\n"
            "Authorization: Bearer abc\r\n"
            "X-Empty: \r\n"
            "X-Forwarded-For: 192.0.2.7\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: shop.example\r\n"
            "Via: 1.1 gourmet\r\n"
            "\r\n");
}

// --- writeDownstreamResponseHead ---

TEST(DownstreamResponseHead, StatusLineFieldsAndVia) {
  MessageHead upstream = headOf(
      "OK",
      {{"Content-Type", "text/plain"}, {"Content-Length", "5"}, {"Cache-Control", "max-age=60"}});
  DownstreamResponse response{
      .status = 200, .reason = "OK", .body = BodyFraming::kContentLength, .keep_alive = true};
  EXPECT_EQ(downstreamHead(upstream, response),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 5\r\n"
            "Cache-Control: max-age=60\r\n"
            "Via: 1.1 gourmet\r\n"
            "\r\n");
}

TEST(DownstreamResponseHead, KeepsTheUpstreamReasonPhrase) {
  MessageHead upstream = headOf("Not Here", {{"Content-Length", "0"}});
  DownstreamResponse response{
      .status = 404, .reason = "Not Here", .body = BodyFraming::kContentLength};
  EXPECT_EQ(downstreamHead(upstream, response),
            "HTTP/1.1 404 Not Here\r\n"
            "Content-Length: 0\r\n"
            "Via: 1.1 gourmet\r\n"
            "\r\n");
}

TEST(DownstreamResponseHead, DropsHopByHopFieldsAndThoseNamedInConnection) {
  MessageHead upstream = headOf("OK", {{"Connection", "keep-alive, X-Backend-Secret"},
                                       {"Keep-Alive", "timeout=5, max=100"},
                                       {"X-Backend-Secret", "s3cr3t"},
                                       {"Transfer-Encoding", "chunked"},
                                       {"Trailer", "X-Sum"},
                                       {"Upgrade", "h2c"},
                                       {"Proxy-Connection", "close"},
                                       {"TE", "trailers"},
                                       {"Content-Type", "text/html"}});
  DownstreamResponse response{.status = 200, .reason = "OK", .body = BodyFraming::kChunked};
  EXPECT_EQ(downstreamHead(upstream, response),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/html\r\n"
            "Via: 1.1 gourmet\r\n"
            "Transfer-Encoding: chunked\r\n"
            "\r\n");
}

TEST(DownstreamResponseHead, EverySetCookieIsPreservedInOrder) {
  MessageHead upstream = headOf("OK", {{"Set-Cookie", "a=1; Path=/"},
                                       {"Content-Length", "2"},
                                       {"set-cookie", "b=2, c=3; HttpOnly"},
                                       {"Set-Cookie", "d=4"}});
  DownstreamResponse response{.status = 200, .reason = "OK", .body = BodyFraming::kContentLength};
  EXPECT_EQ(downstreamHead(upstream, response),
            "HTTP/1.1 200 OK\r\n"
            "Set-Cookie: a=1; Path=/\r\n"
            "Content-Length: 2\r\n"
            "set-cookie: b=2, c=3; HttpOnly\r\n"
            "Set-Cookie: d=4\r\n"
            "Via: 1.1 gourmet\r\n"
            "\r\n");
}

TEST(DownstreamResponseHead, ContentLengthDroppedWhenRechunking) {
  MessageHead upstream = headOf("OK", {{"Content-Length", "10"}, {"X-A", "a"}});
  DownstreamResponse response{.status = 200, .reason = "OK", .body = BodyFraming::kChunked};
  EXPECT_EQ(downstreamHead(upstream, response),
            "HTTP/1.1 200 OK\r\n"
            "X-A: a\r\n"
            "Via: 1.1 gourmet\r\n"
            "Transfer-Encoding: chunked\r\n"
            "\r\n");
}

TEST(DownstreamResponseHead, UntilCloseForHttp10ClientHasNoFramingAndCloses) {
  MessageHead upstream =
      headOf("OK", {{"Transfer-Encoding", "chunked"}, {"Content-Length", "10"}, {"X-A", "a"}});
  DownstreamResponse response{.status = 200,
                              .reason = "OK",
                              .body = BodyFraming::kUntilClose,
                              .keep_alive = false,
                              .client_http10 = true};
  EXPECT_EQ(downstreamHead(upstream, response),
            "HTTP/1.1 200 OK\r\n"
            "X-A: a\r\n"
            "Via: 1.1 gourmet\r\n"
            "Connection: close\r\n"
            "\r\n");
}

TEST(DownstreamResponseHead, HeadResponseKeepsContentLength) {
  MessageHead upstream = headOf("OK", {{"Content-Length", "1234"}});
  DownstreamResponse response{.status = 200, .reason = "OK", .body = BodyFraming::kNone};
  EXPECT_EQ(downstreamHead(upstream, response),
            "HTTP/1.1 200 OK\r\n"
            "Content-Length: 1234\r\n"
            "Via: 1.1 gourmet\r\n"
            "\r\n");
}

TEST(DownstreamResponseHead, ConnectionFieldForHttp10AndClosingClients) {
  MessageHead upstream = headOf("No Content", {});
  DownstreamResponse response{.status = 204, .reason = "No Content", .body = BodyFraming::kNone};

  response.client_http10 = true;  // keep-alive must be spelled out for HTTP/1.0
  EXPECT_EQ(downstreamHead(upstream, response),
            "HTTP/1.1 204 No Content\r\nVia: 1.1 gourmet\r\nConnection: keep-alive\r\n\r\n");

  response.keep_alive = false;
  EXPECT_EQ(downstreamHead(upstream, response),
            "HTTP/1.1 204 No Content\r\nVia: 1.1 gourmet\r\nConnection: close\r\n\r\n");

  response.client_http10 = false;
  EXPECT_EQ(downstreamHead(upstream, response),
            "HTTP/1.1 204 No Content\r\nVia: 1.1 gourmet\r\nConnection: close\r\n\r\n");

  response.keep_alive = true;
  EXPECT_EQ(downstreamHead(upstream, response),
            "HTTP/1.1 204 No Content\r\nVia: 1.1 gourmet\r\n\r\n");
}

TEST(DownstreamResponseHead, ViaAppendsWithTheUpstreamsProtocolVersion) {
  MessageHead upstream = headOf("OK", {{"Via", "1.1 origin-cache"}, {"Content-Length", "0"}});
  DownstreamResponse response{
      .status = 200, .reason = "OK", .body = BodyFraming::kContentLength, .upstream_http10 = true};
  EXPECT_EQ(downstreamHead(upstream, response),
            "HTTP/1.1 200 OK\r\n"
            "Content-Length: 0\r\n"
            "Via: 1.1 origin-cache, 1.0 gourmet\r\n"
            "\r\n");
}

TEST(IsHopByHop, NamesTheFixedSetCaseInsensitively) {
  for (std::string_view name : {"Connection", "keep-alive", "PROXY-CONNECTION", "te", "Trailer",
                                "upgrade", "Transfer-Encoding"}) {
    EXPECT_TRUE(isHopByHop(name)) << name;
  }
  for (std::string_view name : {"Content-Length", "Proxy-Authenticate", "Proxy-Authorization",
                                "Trailers", "TE2", "Host", "Via", "Expect", ""}) {
    EXPECT_FALSE(isHopByHop(name)) << name;
  }
}

}  // namespace
}  // namespace gourmet::core
