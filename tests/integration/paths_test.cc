// What routing sees of a path (issue #10, "Paths"): the path normalised as
// RFC 3986 section 5.2.4 and nginx do, so a location cannot be stepped out
// of with dot segments; the target the origin gets is the client's unless a
// rewrite applies (to the normalised path). And what X-Forwarded-* say.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/integration/proxy_fixture.h"

namespace gourmet::testing {
namespace {

// `yaml` with `lines` (each "  key: value\n") added to its server section.
std::string withServerSettings(std::string yaml, std::string_view lines) {
  const size_t at = yaml.find("  locations:\n");
  if (at != std::string::npos) yaml.insert(at, lines);
  return yaml;
}

LocationSpec location(std::string path, std::string upstream,
                      std::optional<std::string> rewrite = std::nullopt) {
  LocationSpec l;
  l.path = std::move(path);
  l.upstream = std::move(upstream);
  l.rewrite = std::move(rewrite);
  return l;
}

class PathsTest : public ProxyTest {
 protected:
  // Origins "static" and "admin" answering with their name and the target
  // they received; `locations` route to them.
  void startTwo(std::vector<LocationSpec> locations, std::string_view server_settings = "") {
    origin_ = std::make_unique<TestOrigin>(
        [](const Request& r) { return Reply::text(200, "OK", "static " + r.target); });
    admin_ = std::make_unique<TestOrigin>(
        [](const Request& r) { return Reply::text(200, "OK", "admin " + r.target); });
    ConfigSpec spec;
    spec.locations = std::move(locations);
    spec.upstreams = {UpstreamSpec{.name = "static", .servers = {{origin_->address(), 1}}},
                      UpstreamSpec{.name = "admin", .servers = {{admin_->address(), 1}}}};
    startGourmet(withServerSettings(spec.yaml(), server_settings));
  }

  // "STATUS BODY" for a GET of `target`.
  std::string get(const std::string& target) {
    const auto r = send(getRequest(target));
    return r ? std::to_string(r->status) + (r->status == 200 ? " " + r->text() : "") : "none";
  }

  void TearDown() override {
    ProxyTest::TearDown();
    if (!admin_) return;
    admin_->stop();
    for (const auto& e : admin_->protocolErrors())
      ADD_FAILURE() << "origin saw invalid HTTP: " << e;
  }

  std::unique_ptr<TestOrigin> admin_;
};

// The escape the issue names: `^/public/(.*)` rewritten to `/static/\1`
// used to take `/public/../admin` and send `/static/../admin`, which the
// origin resolves to `/admin`.
TEST_F(PathsTest, DotSegmentsCannotEscapeARewrite) {
  ASSERT_NO_FATAL_FAILURE(startTwo({location("^/public/(.*)", "static", "/static/\\1")}));
  EXPECT_EQ(get("/public/../admin"), "404");
  EXPECT_EQ(get("/public/%2e%2e/admin"), "404");
  EXPECT_EQ(get("/public/%2E%2E/admin"), "404");
  EXPECT_EQ(get("/public/./../admin"), "404");
  EXPECT_EQ(get("/public/a/../../admin"), "404");
  EXPECT_EQ(origin_->requestCount(), 0u) << "the rewrite's origin was reached";
  // What stays inside /public/ is still rewritten, from the normalised path.
  EXPECT_EQ(get("/public/a/../b"), "200 static /static/b");
  EXPECT_EQ(get("/public/%41bc?q=/../x"), "200 static /static/Abc?q=/../x");
}

TEST_F(PathsTest, AnEscapedPathRoutesByWhatItNormalisesTo) {
  // `/public/../admin` is `/admin`: the admin location takes it, and without
  // a rewrite its origin gets the target exactly as the client sent it.
  ASSERT_NO_FATAL_FAILURE(
      startTwo({location("^/public/(.*)", "static", "/static/\\1"), location("^/admin", "admin")}));
  EXPECT_EQ(get("/public/../admin"), "200 admin /public/../admin");
  EXPECT_EQ(get("/public/%2e%2e/admin/x"), "200 admin /public/%2e%2e/admin/x");
  EXPECT_EQ(origin_->requestCount(), 0u);
}

// Gourmet's TOML rules (`match: gourmet`: the regex sees Host + path, the
// forwarded path is "/" + the last group) take the normalised path too.
TEST_F(PathsTest, HostAndPathLocationsSeeTheNormalisedPath) {
  origin_ = std::make_unique<TestOrigin>(
      [](const Request& r) { return Reply::text(200, "OK", "static " + r.target); });
  ConfigSpec spec;
  spec.locations = {location("^test\\.local/public/(.*)", "static")};
  spec.upstreams = {UpstreamSpec{.name = "static", .servers = {{origin_->address(), 1}}}};
  std::string yaml = spec.yaml();
  const std::string line = "      upstream: static\n";
  ASSERT_NE(yaml.find(line), std::string::npos) << yaml;
  yaml.insert(yaml.find(line) + line.size(), "      match: gourmet\n");
  ASSERT_NO_FATAL_FAILURE(startGourmet(yaml));
  EXPECT_EQ(get("/public/a/./b"), "200 static /a/b");
  EXPECT_EQ(get("/public//a/%62"), "200 static /a/b");
  EXPECT_EQ(get("/public/../admin"), "404");
  EXPECT_EQ(get("/public/%2e%2e/admin"), "404");
  EXPECT_EQ(origin_->requestCount(), 2u);
}

TEST_F(PathsTest, ClimbingAboveTheRootIsABadRequestTarget) {
  TempDir logs;
  const std::string log_path = (logs.path() / "access.log").string();
  ASSERT_NO_FATAL_FAILURE(startTwo({location("^/", "static")}, "  access_log: " + log_path + "\n"));
  const std::vector<std::string> targets = {"/../x", "/%2e%2e/x", "/a/../../x", "/%2E./x",
                                            "http://test.local/../x"};
  for (const std::string& target : targets) {
    const auto r = send(getRequest(target));
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 400) << target;
  }
  EXPECT_EQ(origin_->requestCount(), 0u);
  // The access log names the reason, for the request that caused it.
  std::vector<std::string> lines;
  const bool logged = eventually([&] {
    std::ifstream in(log_path);
    lines.clear();
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines.size() >= targets.size();
  });
  ASSERT_TRUE(logged) << lines.size() << " access log lines";
  // Two workers write their own buffers: lines from different connections
  // may come in either order.
  for (const std::string& target : targets) {
    const std::string wanted = "\"GET " + target + " HTTP/1.1\" 400 ";
    const auto line = std::find_if(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.find(wanted) != std::string::npos;
    });
    ASSERT_NE(line, lines.end()) << "no line for " << target;
    EXPECT_TRUE(line->ends_with(" bad_request_target")) << *line;
  }
}

TEST_F(PathsTest, BrokenEscapesAreABadRequestTarget) {
  ASSERT_NO_FATAL_FAILURE(startTwo({location("^/", "static")}));
  for (const char* target : {"/%zz", "/a%4", "/%%341"}) EXPECT_EQ(get(target), "400") << target;
  EXPECT_EQ(origin_->requestCount(), 0u);
}

TEST_F(PathsTest, MergedSlashesRouteAndTheOriginalTargetIsForwarded) {
  ASSERT_NO_FATAL_FAILURE(startTwo({location("^/a/b$", "admin"), location("^/", "static")}));
  EXPECT_EQ(get("//a//b"), "200 admin //a//b");
  EXPECT_EQ(get("/a/./b"), "200 admin /a/./b");
  EXPECT_EQ(get("/a/%62"), "200 admin /a/%62");
}

TEST_F(PathsTest, WithoutMergeSlashesEmptySegmentsCount) {
  ASSERT_NO_FATAL_FAILURE(startTwo({location("^/a/b$", "admin"), location("^/", "static")},
                                   "  merge_slashes: false\n"));
  EXPECT_EQ(get("//a//b"), "200 static //a//b");
  EXPECT_EQ(get("/a/./b"), "200 admin /a/./b");
}

TEST_F(PathsTest, EncodedSlashesDoNotSplitSegments) {
  ASSERT_NO_FATAL_FAILURE(
      startTwo({location("^/a/", "admin"), location("^/files/(.*)", "static", "/\\1"),
                location("^/", "static")}));
  EXPECT_EQ(get("/a%2Fb"), "200 static /a%2Fb");
  EXPECT_EQ(get("/a%2fb/c"), "200 static /a%2fb/c");
  // "x%2Fy" is one segment, so ".." removes all of it.
  EXPECT_EQ(get("/files/x%2Fy/../z"), "200 static /z");
  EXPECT_EQ(get("/files/x%2Fy"), "200 static /x%2Fy");
}

TEST_F(PathsTest, XForwardedForAppendByDefault) {
  ASSERT_NO_FATAL_FAILURE(startTwo({location("^/", "static")}));
  ASSERT_TRUE(send(buildRequest("GET", "/", {{"Host", "a"}, {"X-Forwarded-For", "203.0.113.9"}})));
  const auto req = onlyRequest();
  EXPECT_EQ(joinedHeader(req.headers, "x-forwarded-for"), "203.0.113.9, 127.0.0.1");
  EXPECT_EQ(findHeaders(req.headers, "x-forwarded-proto"), std::vector<std::string>{"http"});
}

TEST_F(PathsTest, XForwardedForReplaceSendsOnlyTheClientAddress) {
  ASSERT_NO_FATAL_FAILURE(startTwo({location("^/", "static")}, "  x_forwarded_for: replace\n"));
  ASSERT_TRUE(send(buildRequest("GET", "/1", {{"Host", "a"}, {"X-Forwarded-For", "203.0.113.9"}})));
  ASSERT_TRUE(send(buildRequest(
      "GET", "/2",
      {{"Host", "a"}, {"X-Forwarded-For", "10.0.0.1"}, {"x-forwarded-for", "1.1.1.1"}})));
  ASSERT_TRUE(send(buildRequest("GET", "/3", {{"Host", "a"}, {"X-Forwarded-Proto", "https"}})));
  const auto seen = origin_->requests();
  ASSERT_EQ(seen.size(), 3u);
  for (const Request& req : seen) {
    EXPECT_EQ(findHeaders(req.headers, "x-forwarded-for"), std::vector<std::string>{"127.0.0.1"})
        << req.target;
    EXPECT_EQ(findHeaders(req.headers, "x-forwarded-proto"), std::vector<std::string>{"http"})
        << req.target;
  }
}

}  // namespace
}  // namespace gourmet::testing
