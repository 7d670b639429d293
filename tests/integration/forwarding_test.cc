// What the origin receives: RFC 9110 §7.6 intermediary rules for the request
// (hop-by-hop headers gone, forwarding headers added, everything else
// untouched, bodies intact) and location routing with rewrites.

#include <gtest/gtest.h>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

using ForwardingTest = ProxyTest;

// The headers named `names`, in order, as the origin saw them.
HeaderList only(const HeaderList& headers, const std::vector<std::string>& names) {
  HeaderList out;
  for (const auto& h : headers) {
    for (const auto& n : names) {
      if (equalsIgnoreCase(h.name, n)) out.push_back({toLower(h.name), h.value});
    }
  }
  return out;
}

TEST_F(ForwardingTest, MethodTargetAndBodyPassThrough) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string target = "/a%20b/c;p=1?x=1&y=%2F&z";
  struct Case {
    std::string method;
    std::string body;
  };
  const std::vector<Case> cases = {{"GET", ""},          {"POST", "name=gourmet&x=1"},
                                   {"PUT", "{\"a\":1}"}, {"PATCH", "patch body"},
                                   {"DELETE", ""},       {"OPTIONS", ""}};
  for (const auto& c : cases) {
    const auto r = send(buildRequest(c.method, target, {{"Host", "test.local"}}, c.body));
    ASSERT_TRUE(r) << c.method;
    EXPECT_EQ(r->status, 200) << c.method;
  }
  const auto seen = origin_->requests();
  ASSERT_EQ(seen.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(seen[i].method, cases[i].method);
    EXPECT_EQ(seen[i].target, target) << cases[i].method;
    EXPECT_EQ(seen[i].body.text(), cases[i].body) << cases[i].method;
  }
}

TEST_F(ForwardingTest, HostIsPreservedExactly) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(send(buildRequest("GET", "/", {{"Host", "Example.COM:8080"}})));
  const auto req = onlyRequest();
  EXPECT_EQ(findHeaders(req.headers, "host"), std::vector<std::string>{"Example.COM:8080"});
}

TEST_F(ForwardingTest, AbsoluteFormTargetIsSentInOriginForm) {
  // RFC 9112 §3.2.2: the authority of an absolute-form target replaces Host;
  // an origin server is sent only the path and query (§3.2.1).
  ASSERT_NO_FATAL_FAILURE(start());
  const auto r =
      send(buildRequest("GET", "http://Example.COM:8080/abs?q=1", {{"Host", "ignored.example"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const auto req = onlyRequest();
  EXPECT_EQ(req.target, "/abs?q=1");
  EXPECT_EQ(findHeaders(req.headers, "host"), std::vector<std::string>{"Example.COM:8080"});
}

TEST_F(ForwardingTest, HopByHopHeadersAreRemoved) {
  ASSERT_NO_FATAL_FAILURE(start());
  const auto r = send(buildRequest("GET", "/hop",
                                   {{"Host", "test.local"},
                                    {"Connection", "keep-alive, X-Secret"},
                                    {"Connection", "X-Other-Secret"},
                                    {"Keep-Alive", "timeout=5, max=100"},
                                    {"Proxy-Connection", "keep-alive"},
                                    {"TE", "trailers"},
                                    {"Trailer", "X-Checksum"},
                                    {"Upgrade", "example/1"},
                                    {"X-Secret", "s1"},
                                    {"X-Other-Secret", "s2"},
                                    {"X-Kept", "yes"}}));
  ASSERT_TRUE(r);
  const auto req = onlyRequest();
  for (const char* name : {"keep-alive", "proxy-connection", "te", "trailer", "upgrade", "x-secret",
                           "x-other-secret"}) {
    EXPECT_EQ(countHeaders(req.headers, name), 0u) << name << " reached the origin";
  }
  // The proxy may send its own Connection header, but not the client's tokens.
  for (const auto& token : headerTokens(req.headers, "connection")) {
    EXPECT_TRUE(token == "keep-alive" || token == "close") << "Connection token " << token;
  }
  EXPECT_EQ(findHeader(req.headers, "x-kept"), "yes");
}

TEST_F(ForwardingTest, ConnectionCloseNamesHeadersToDropAndClosesAfterwards) {
  ASSERT_NO_FATAL_FAILURE(start());
  RawClient client(port());
  ASSERT_TRUE(client.send(buildRequest(
      "GET", "/", {{"Host", "a"}, {"Connection", "close, X-Secret"}, {"X-Secret", "hide me"}})));
  const auto r = client.readFinalResponse();
  ASSERT_TRUE(r) << client.error();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(client.waitForClose()) << client.error();
  EXPECT_EQ(countHeaders(onlyRequest().headers, "x-secret"), 0u);
}

TEST_F(ForwardingTest, XForwardedForGetsClientAddressAppended) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(send(buildRequest("GET", "/1", {{"Host", "a"}, {"X-Forwarded-For", "1.2.3.4"}})));
  ASSERT_TRUE(send(buildRequest(
      "GET", "/2",
      {{"Host", "a"}, {"X-Forwarded-For", "1.1.1.1"}, {"X-Forwarded-For", "2.2.2.2"}})));
  ASSERT_TRUE(send(buildRequest("GET", "/3", {{"Host", "a"}})));
  const auto seen = origin_->requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(joinedHeader(seen[0].headers, "x-forwarded-for"), "1.2.3.4, 127.0.0.1");
  EXPECT_EQ(joinedHeader(seen[1].headers, "x-forwarded-for"), "1.1.1.1, 2.2.2.2, 127.0.0.1");
  EXPECT_EQ(joinedHeader(seen[2].headers, "x-forwarded-for"), "127.0.0.1");
}

TEST_F(ForwardingTest, XForwardedProtoAndHostAreSet) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(send(buildRequest("GET", "/", {{"Host", "shop.example:81"}})));
  const auto req = onlyRequest();
  EXPECT_EQ(findHeaders(req.headers, "x-forwarded-proto"), std::vector<std::string>{"http"});
  EXPECT_EQ(findHeaders(req.headers, "x-forwarded-host"),
            std::vector<std::string>{"shop.example:81"});
}

TEST_F(ForwardingTest, ClientCannotSpoofXForwardedProtoOrHost) {
  // An edge proxy states what it saw; it does not relay a client's claim.
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(send(buildRequest("GET", "/",
                                {{"Host", "real.example"},
                                 {"X-Forwarded-Proto", "https"},
                                 {"X-Forwarded-Host", "evil.example"}})));
  const auto req = onlyRequest();
  EXPECT_EQ(joinedHeader(req.headers, "x-forwarded-proto"), "http");
  EXPECT_EQ(joinedHeader(req.headers, "x-forwarded-host"), "real.example");
}

TEST_F(ForwardingTest, ViaIsAppendedWithClientVersion) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(send(buildRequest("GET", "/11", {{"Host", "a"}})));
  ASSERT_TRUE(send(buildRequest("GET", "/chain", {{"Host", "a"}, {"Via", "1.0 fred"}})));
  ASSERT_TRUE(send(buildRequest("GET", "/10", {{"Host", "a"}}, "", "HTTP/1.0")));
  const auto seen = origin_->requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(joinedHeader(seen[0].headers, "via"), "1.1 gourmet");
  EXPECT_EQ(joinedHeader(seen[1].headers, "via"), "1.0 fred, 1.1 gourmet");
  EXPECT_EQ(joinedHeader(seen[2].headers, "via"), "1.0 gourmet");
}

TEST_F(ForwardingTest, OtherHeadersKeepOrderAndDuplicates) {
  ASSERT_NO_FATAL_FAILURE(start());
  const HeaderList sent = {{"Host", "a"},
                           {"X-A", "1"},
                           {"Cookie", "c=1"},
                           {"X-B", "two, words"},
                           {"X-A", "3"},
                           {"Cookie", "d=2"},
                           {"User-Agent", "gourmet-test/1.0 (x; y)"},
                           {"Accept", "*/*"},
                           {"X-Empty", ""}};
  ASSERT_TRUE(send(buildRequest("GET", "/", sent)));
  const std::vector<std::string> names = {"x-a",        "cookie", "x-b",
                                          "user-agent", "accept", "x-empty"};
  EXPECT_EQ(only(onlyRequest().headers, names), only(sent, names));
}

TEST_F(ForwardingTest, ContentLengthUploadArrivesIntact) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string body = patternBytes(7, 3 * 1024 * 1024 + 17);
  ASSERT_TRUE(send(buildRequest("POST", "/upload", {{"Host", "a"}}, body)));
  const auto req = onlyRequest();
  EXPECT_EQ(req.body.size(), body.size());
  EXPECT_EQ(req.body.hash(), digestOf(body).hash());
}

TEST_F(ForwardingTest, ChunkedUploadArrivesIntactAndReframed) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string body = patternBytes(3, 300'001);
  // Odd chunk sizes, a chunk extension and a trailer section, all of which the
  // proxy must parse rather than pass through blindly.
  std::string chunked = "1;ext=\"v\"\r\n" + body.substr(0, 1) + "\r\n";
  chunked += encodeChunked(body.substr(1), 4093);
  ASSERT_TRUE(
      send(buildRequest("POST", "/upload", {{"Host", "a"}, {"Transfer-Encoding", "chunked"}}) +
           chunked));
  const auto req = onlyRequest();
  EXPECT_EQ(req.body.size(), body.size());
  EXPECT_EQ(req.body.hash(), digestOf(body).hash());
  const size_t te = countHeaders(req.headers, "transfer-encoding");
  const size_t cl = countHeaders(req.headers, "content-length");
  EXPECT_TRUE((te == 1 && cl == 0) || (te == 0 && cl == 1)) << "TE x" << te << ", CL x" << cl;
}

TEST_F(ForwardingTest, RewriteReplacesPathAndKeepsQuery) {
  ASSERT_NO_FATAL_FAILURE(start(echoTarget, [](const std::string& origin) {
    ConfigSpec spec;
    LocationSpec api;
    api.path = "^/api/(.*)";
    api.rewrite = "/\\1";
    spec.locations = {api};
    spec.upstreams = {UpstreamSpec{.servers = {{origin, 1}}}};
    return spec.yaml();
  }));
  const auto r = send(getRequest("/api/x?q=1"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(onlyRequest().target, "/x?q=1");
}

LocationSpec route(std::string path, std::string upstream) {
  LocationSpec l;
  l.path = std::move(path);
  l.upstream = std::move(upstream);
  return l;
}

class RoutingTest : public ProxyTest {
 protected:
  // Two origins that answer with their own name; `locations` route to them.
  void startTwo(std::vector<LocationSpec> locations) {
    origin_ =
        std::make_unique<TestOrigin>([](const Request&) { return Reply::text(200, "OK", "a"); });
    other_ =
        std::make_unique<TestOrigin>([](const Request&) { return Reply::text(200, "OK", "b"); });
    ConfigSpec spec;
    spec.locations = std::move(locations);
    spec.upstreams = {UpstreamSpec{.name = "a", .servers = {{origin_->address(), 1}}},
                      UpstreamSpec{.name = "b", .servers = {{other_->address(), 1}}}};
    startGourmet(spec.yaml());
  }

  std::string servedBy(const std::string& target) {
    const auto r = send(getRequest(target));
    return r && r->status == 200 ? r->text() : (r ? std::to_string(r->status) : "none");
  }

  void TearDown() override {
    ProxyTest::TearDown();
    if (!other_) return;
    other_->stop();
    for (const auto& e : other_->protocolErrors())
      ADD_FAILURE() << "origin saw invalid HTTP: " << e;
  }

  std::unique_ptr<TestOrigin> other_;
};

TEST_F(RoutingTest, FirstMatchingLocationWins) {
  ASSERT_NO_FATAL_FAILURE(startTwo({route("^/a", "a"), route("^/ab", "b"), route("^/", "b")}));
  EXPECT_EQ(servedBy("/abc"), "a");
  EXPECT_EQ(servedBy("/a"), "a");
  EXPECT_EQ(servedBy("/b"), "b");
  EXPECT_EQ(servedBy("/"), "b");
}

TEST_F(RoutingTest, LocationsMatchThePathWithoutQuery) {
  ASSERT_NO_FATAL_FAILURE(
      startTwo({route("^/search$", "a"), route("q=special", "a"), route("^/", "b")}));
  EXPECT_EQ(servedBy("/search?q=1"), "a");
  EXPECT_EQ(servedBy("/other?q=special"), "b");
  EXPECT_EQ(servedBy("/search/more"), "b");
}

}  // namespace
}  // namespace gourmet::testing
