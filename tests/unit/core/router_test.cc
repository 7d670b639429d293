#include "core/router.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gourmet::core {
namespace {

LocationConfig location(std::string pattern, std::optional<std::string> rewrite = std::nullopt) {
  LocationConfig config;
  config.pattern = std::move(pattern);
  config.pattern_pos = {"gourmet.yaml", 12, 14};
  config.upstream = "backend";
  config.rewrite = std::move(rewrite);
  config.rewrite_pos = {"gourmet.yaml", 13, 14};
  return config;
}

// Gourmet's TOML flavour: host+path subject, "/" + last capture group.
LocationConfig gourmetLocation(std::string pattern) {
  LocationConfig config = location(std::move(pattern));
  config.match = MatchTarget::kHostAndPath;
  config.rewrite_to_last_group = true;
  return config;
}

// Compiles `locations` in order; route i points at cluster i.
Router routerOf(const std::vector<LocationConfig>& locations) {
  std::vector<Route> routes;
  for (size_t i = 0; i < locations.size(); ++i) {
    auto route = Router::compile(locations[i], static_cast<uint32_t>(i));
    EXPECT_TRUE(route) << locations[i].pattern << ": " << route.error().message;
    if (route) routes.push_back(std::move(*route));
  }
  return Router(std::move(routes));
}

struct Match {
  int cluster = -1;  // -1: no route
  std::string forwarded;
  bool operator==(const Match&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Match& m) {
  return os << "{cluster " << m.cluster << ", forwarded '" << m.forwarded << "'}";
}

Match route(const Router& router, std::string_view host, std::string_view path) {
  std::string forwarded = "(untouched)";
  std::string scratch;
  const Route* found = router.match(host, path, forwarded, scratch);
  if (found == nullptr) return {};
  return {static_cast<int>(found->cluster), forwarded};
}

std::string compileError(const LocationConfig& config) {
  auto route = Router::compile(config, 0);
  return route ? "(no error)" : route.error().message;
}

TEST(Router, FirstMatchInConfigOrderWins) {
  Router router = routerOf({location("^/api/v1/"), location("^/api/"), location("/")});
  ASSERT_EQ(router.size(), 3u);
  EXPECT_EQ(route(router, "h", "/api/v1/users"), (Match{0, "/api/v1/users"}));
  EXPECT_EQ(route(router, "h", "/api/v2/users"), (Match{1, "/api/v2/users"}));
  EXPECT_EQ(route(router, "h", "/static/app.js"), (Match{2, "/static/app.js"}));
}

TEST(Router, LaterRouteIsNotTriedOnceAnEarlierOneMatches) {
  // The broad route comes first and shadows the specific one.
  Router router = routerOf({location("/"), location("^/api/")});
  EXPECT_EQ(route(router, "h", "/api/x"), (Match{0, "/api/x"}));
}

TEST(Router, RegexesAreUnanchored) {
  Router router = routerOf({location("images"), location("\\.css$")});
  EXPECT_EQ(route(router, "h", "/static/images/logo.png"), (Match{0, "/static/images/logo.png"}));
  EXPECT_EQ(route(router, "h", "/theme/site.css"), (Match{1, "/theme/site.css"}));
  EXPECT_EQ(route(router, "h", "/theme/site.css.map"), Match{});
}

TEST(Router, NoMatchIsNullptr) {
  Router router = routerOf({location("^/api/"), location("^/admin$")});
  EXPECT_EQ(route(router, "h", "/apis"), Match{});
  EXPECT_EQ(route(router, "h", "/admin/"), Match{});
  EXPECT_EQ(route(router, "h", ""), Match{});
  EXPECT_EQ(route(Router(), "h", "/"), Match{});
}

TEST(Router, KPathRoutesIgnoreTheHost) {
  Router router = routerOf({location("^example\\.com/"), location("^/")});
  EXPECT_EQ(route(router, "example.com", "/x"), (Match{1, "/x"}));
}

TEST(Router, RewriteWithCaptureGroup) {
  Router router = routerOf({location("^/api/(.*)$", "/v2/\\1")});
  EXPECT_EQ(route(router, "h", "/api/users/7"), (Match{0, "/v2/users/7"}));
  EXPECT_EQ(route(router, "h", "/api/"), (Match{0, "/v2/"}));
}

TEST(Router, RewriteReplacesOnlyTheMatchedPart) {
  Router router = routerOf({location("/old/", "/new/")});
  EXPECT_EQ(route(router, "h", "/a/old/b/old/c"), (Match{0, "/a/new/b/old/c"}));
}

TEST(Router, RewriteResultGetsALeadingSlash) {
  Router router = routerOf({location("^/legacy/(.*)", "\\1"), location("^/gone$", "")});
  EXPECT_EQ(route(router, "h", "/legacy/shop/cart"), (Match{0, "/shop/cart"}));
  EXPECT_EQ(route(router, "h", "/legacy/"), (Match{0, "/"}));
  EXPECT_EQ(route(router, "h", "/gone"), (Match{1, "/"}));
}

TEST(Router, QueryIsTheCallersBusiness) {
  // The caller passes the path without its query and appends the query itself;
  // a rewrite never sees or produces one.
  Router router = routerOf({location("^/search(.*)", "/find\\1")});
  EXPECT_EQ(route(router, "h", "/search/books"), (Match{0, "/find/books"}));
}

TEST(Router, HostAndPathWithLastGroup) {
  Router router = routerOf({gourmetLocation("^shop\\.example/api/(.*)"),
                            gourmetLocation("^(www\\.)?blog\\.example/(.*)")});
  EXPECT_EQ(route(router, "shop.example", "/api/users/7"), (Match{0, "/users/7"}));
  // The last group, not the first.
  EXPECT_EQ(route(router, "www.blog.example", "/2024/post"), (Match{1, "/2024/post"}));
  EXPECT_EQ(route(router, "blog.example", "/about"), (Match{1, "/about"}));
  EXPECT_EQ(route(router, "other.example", "/api/users/7"), Match{});
}

TEST(Router, LastGroupWithoutAGroupIsTheWholeMatch) {
  Router router = routerOf({gourmetLocation("api/v[0-9]+")});
  EXPECT_EQ(route(router, "h.example", "/x/api/v12/y"), (Match{0, "/api/v12"}));
}

TEST(Router, LastGroupThatDidNotParticipateIsEmpty) {
  Router router = routerOf({gourmetLocation("^h/a(/b)?")});
  EXPECT_EQ(route(router, "h", "/a"), (Match{0, "/"}));
  EXPECT_EQ(route(router, "h", "/a/b"), (Match{0, "//b"}));  // literally "/" + "/b"
}

TEST(Router, LastGroupOnPathOnlyRoute) {
  LocationConfig config = location("^/svc/(.*)");
  config.rewrite_to_last_group = true;
  Router router = routerOf({config});
  EXPECT_EQ(route(router, "ignored.example", "/svc/a/b"), (Match{0, "/a/b"}));
}

TEST(Router, HostAndPathWithoutRewriteForwardsThePathOnly) {
  LocationConfig config = location("^shop\\.example/");
  config.match = MatchTarget::kHostAndPath;
  Router router = routerOf({config, location("^/")});
  EXPECT_EQ(route(router, "shop.example", "/cart"), (Match{0, "/cart"}));
  EXPECT_EQ(route(router, "blog.example", "/cart"), (Match{1, "/cart"}));
}

TEST(Router, CompileKeepsTheLocationsSettings) {
  LocationConfig config = gourmetLocation("^a");
  auto route = Router::compile(config, 7);
  ASSERT_TRUE(route) << route.error().message;
  EXPECT_EQ(route->cluster, 7u);
  EXPECT_EQ(route->match, MatchTarget::kHostAndPath);
  EXPECT_TRUE(route->rewrite_to_last_group);
  EXPECT_EQ(route->rewrite, std::nullopt);
  EXPECT_EQ(route->pattern->pattern(), "^a");

  auto with_rewrite = Router::compile(location("^/(a)", "/b/\\1"), 2);
  ASSERT_TRUE(with_rewrite) << with_rewrite.error().message;
  EXPECT_EQ(with_rewrite->rewrite, "/b/\\1");
  EXPECT_EQ(with_rewrite->match, MatchTarget::kPath);
  EXPECT_FALSE(with_rewrite->rewrite_to_last_group);
}

TEST(Router, BadRegexIsAnErrorAtThePatternsPosition) {
  EXPECT_EQ(compileError(location("^/api/(")),
            "gourmet.yaml:12:14: invalid regex '^/api/(': missing ): ^/api/(");
  EXPECT_EQ(compileError(location("*")),
            "gourmet.yaml:12:14: invalid regex '*': no argument for repetition operator: *");
}

TEST(Router, BadRewriteIsAnErrorAtTheRewritesPosition) {
  EXPECT_EQ(compileError(location("^/(a)", "/\\2")),
            "gourmet.yaml:13:14: invalid rewrite '/\\2': Rewrite schema requests 2 matches, but "
            "the regexp only has 1 parenthesized subexpressions.");
  EXPECT_EQ(compileError(location("^/a", "/\\x")),
            "gourmet.yaml:13:14: invalid rewrite '/\\x': Rewrite schema error: '\\' must be "
            "followed by a digit or '\\'.");
}

TEST(Router, ErrorWithoutALinePositionNamesTheFile) {
  LocationConfig config = location("(");
  config.pattern_pos = {"gourmet.toml", 0, 0};
  EXPECT_EQ(compileError(config), "gourmet.toml: invalid regex '(': missing ): (");
}

}  // namespace
}  // namespace gourmet::core
