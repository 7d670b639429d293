#include "core/router.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
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

// A worker's router with the table it reads (the snapshot owns it in gourmet).
struct CompiledRoutes {
  std::unique_ptr<RouteTable> table = std::make_unique<RouteTable>();
  Router router;
  size_t size() const { return router.size(); }
};

std::vector<Route> routesOf(const std::vector<LocationConfig>& locations) {
  std::vector<Route> routes;
  for (size_t i = 0; i < locations.size(); ++i) {
    auto route = RouteTable::compile(locations[i], static_cast<uint32_t>(i));
    EXPECT_TRUE(route) << locations[i].pattern << ": " << route.error().message;
    if (route) routes.push_back(std::move(*route));
  }
  return routes;
}

// Compiles `locations` in order; route i points at cluster i.
CompiledRoutes routerOf(const std::vector<LocationConfig>& locations,
                        const Router* previous = nullptr) {
  CompiledRoutes compiled;
  compiled.table = std::make_unique<RouteTable>(routesOf(locations));
  compiled.router = Router(*compiled.table, previous);
  return compiled;
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

Match route(const CompiledRoutes& compiled, std::string_view host, std::string_view path) {
  return route(compiled.router, host, path);
}

std::string compileError(const LocationConfig& config) {
  auto route = RouteTable::compile(config, 0);
  return route ? "(no error)" : route.error().message;
}

TEST(Router, FirstMatchInConfigOrderWins) {
  auto router = routerOf({location("^/api/v1/"), location("^/api/"), location("/")});
  ASSERT_EQ(router.size(), 3u);
  EXPECT_EQ(route(router, "h", "/api/v1/users"), (Match{0, "/api/v1/users"}));
  EXPECT_EQ(route(router, "h", "/api/v2/users"), (Match{1, "/api/v2/users"}));
  EXPECT_EQ(route(router, "h", "/static/app.js"), (Match{2, "/static/app.js"}));
}

TEST(Router, LaterRouteIsNotTriedOnceAnEarlierOneMatches) {
  // The broad route comes first and shadows the specific one.
  auto router = routerOf({location("/"), location("^/api/")});
  EXPECT_EQ(route(router, "h", "/api/x"), (Match{0, "/api/x"}));
}

TEST(Router, RegexesAreUnanchored) {
  auto router = routerOf({location("images"), location("\\.css$")});
  EXPECT_EQ(route(router, "h", "/static/images/logo.png"), (Match{0, "/static/images/logo.png"}));
  EXPECT_EQ(route(router, "h", "/theme/site.css"), (Match{1, "/theme/site.css"}));
  EXPECT_EQ(route(router, "h", "/theme/site.css.map"), Match{});
}

TEST(Router, NoMatchIsNullptr) {
  auto router = routerOf({location("^/api/"), location("^/admin$")});
  EXPECT_EQ(route(router, "h", "/apis"), Match{});
  EXPECT_EQ(route(router, "h", "/admin/"), Match{});
  EXPECT_EQ(route(router, "h", ""), Match{});
  EXPECT_EQ(route(Router(), "h", "/"), Match{});
}

TEST(Router, KPathRoutesIgnoreTheHost) {
  auto router = routerOf({location("^example\\.com/"), location("^/")});
  EXPECT_EQ(route(router, "example.com", "/x"), (Match{1, "/x"}));
}

TEST(Router, RewriteWithCaptureGroup) {
  auto router = routerOf({location("^/api/(.*)$", "/v2/\\1")});
  EXPECT_EQ(route(router, "h", "/api/users/7"), (Match{0, "/v2/users/7"}));
  EXPECT_EQ(route(router, "h", "/api/"), (Match{0, "/v2/"}));
}

TEST(Router, RewriteReplacesOnlyTheMatchedPart) {
  auto router = routerOf({location("/old/", "/new/")});
  EXPECT_EQ(route(router, "h", "/a/old/b/old/c"), (Match{0, "/a/new/b/old/c"}));
}

TEST(Router, RewriteResultGetsALeadingSlash) {
  auto router = routerOf({location("^/legacy/(.*)", "\\1"), location("^/gone$", "")});
  EXPECT_EQ(route(router, "h", "/legacy/shop/cart"), (Match{0, "/shop/cart"}));
  EXPECT_EQ(route(router, "h", "/legacy/"), (Match{0, "/"}));
  EXPECT_EQ(route(router, "h", "/gone"), (Match{1, "/"}));
}

TEST(Router, QueryIsTheCallersBusiness) {
  // The caller passes the path without its query and appends the query itself;
  // a rewrite never sees or produces one.
  auto router = routerOf({location("^/search(.*)", "/find\\1")});
  EXPECT_EQ(route(router, "h", "/search/books"), (Match{0, "/find/books"}));
}

TEST(Router, HostAndPathWithLastGroup) {
  auto router = routerOf({gourmetLocation("^shop\\.example/api/(.*)"),
                          gourmetLocation("^(www\\.)?blog\\.example/(.*)")});
  EXPECT_EQ(route(router, "shop.example", "/api/users/7"), (Match{0, "/users/7"}));
  // The last group, not the first.
  EXPECT_EQ(route(router, "www.blog.example", "/2024/post"), (Match{1, "/2024/post"}));
  EXPECT_EQ(route(router, "blog.example", "/about"), (Match{1, "/about"}));
  EXPECT_EQ(route(router, "other.example", "/api/users/7"), Match{});
}

TEST(Router, LastGroupWithoutAGroupIsTheWholeMatch) {
  auto router = routerOf({gourmetLocation("api/v[0-9]+")});
  EXPECT_EQ(route(router, "h.example", "/x/api/v12/y"), (Match{0, "/api/v12"}));
}

TEST(Router, LastGroupThatDidNotParticipateIsEmpty) {
  auto router = routerOf({gourmetLocation("^h/a(/b)?")});
  EXPECT_EQ(route(router, "h", "/a"), (Match{0, "/"}));
  EXPECT_EQ(route(router, "h", "/a/b"), (Match{0, "//b"}));  // literally "/" + "/b"
}

TEST(Router, LastGroupOnPathOnlyRoute) {
  LocationConfig config = location("^/svc/(.*)");
  config.rewrite_to_last_group = true;
  auto router = routerOf({config});
  EXPECT_EQ(route(router, "ignored.example", "/svc/a/b"), (Match{0, "/a/b"}));
}

TEST(Router, HostAndPathWithoutRewriteForwardsThePathOnly) {
  LocationConfig config = location("^shop\\.example/");
  config.match = MatchTarget::kHostAndPath;
  auto router = routerOf({config, location("^/")});
  EXPECT_EQ(route(router, "shop.example", "/cart"), (Match{0, "/cart"}));
  EXPECT_EQ(route(router, "blog.example", "/cart"), (Match{1, "/cart"}));
}

TEST(Router, CompileKeepsTheLocationsSettings) {
  LocationConfig config = gourmetLocation("^a");
  auto route = RouteTable::compile(config, 7);
  ASSERT_TRUE(route) << route.error().message;
  EXPECT_EQ(route->cluster, 7u);
  EXPECT_EQ(route->match, MatchTarget::kHostAndPath);
  EXPECT_TRUE(route->rewrite_to_last_group);
  EXPECT_EQ(route->rewrite, std::nullopt);
  EXPECT_EQ(route->pattern, "^a");

  auto with_rewrite = RouteTable::compile(location("^/(a)", "/b/\\1"), 2);
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

TEST(Router, FirstMatchWinsAcrossPrefilterBuckets) {
  // Unanchored (root), deep literal, caseless literal, shallow literal: the
  // prefilter puts them in different places; config order must still decide.
  auto router = routerOf({location("^/api/v2/admin"), location("admin"), location("(?i)^/API/"),
                          location("^/api/v2/"), location("^/")});
  EXPECT_EQ(route(router, "h", "/api/v2/admin/x"), (Match{0, "/api/v2/admin/x"}));
  EXPECT_EQ(route(router, "h", "/api/v2/x/admin"), (Match{1, "/api/v2/x/admin"}));
  EXPECT_EQ(route(router, "h", "/api/v2/x"), (Match{2, "/api/v2/x"}));  // (?i) comes before
  EXPECT_EQ(route(router, "h", "/Api/v2/x"), (Match{2, "/Api/v2/x"}));
  EXPECT_EQ(route(router, "h", "/apx"), (Match{4, "/apx"}));
  EXPECT_EQ(route(router, "h", "/ADMIN"), (Match{4, "/ADMIN"}));
}

TEST(Router, CaseInsensitivePrefixesIgnoreCase) {
  auto router = routerOf({location("(?i)^/Static/"), location("(?is)^/MEDIA/.")});
  EXPECT_EQ(route(router, "h", "/static/a.css"), (Match{0, "/static/a.css"}));
  EXPECT_EQ(route(router, "h", "/STATIC/a.css"), (Match{0, "/STATIC/a.css"}));
  EXPECT_EQ(route(router, "h", "/sTaTiC/a.css"), (Match{0, "/sTaTiC/a.css"}));
  EXPECT_EQ(route(router, "h", "/media/\n"), (Match{1, "/media/\n"}));
  EXPECT_EQ(route(router, "h", "/statics/a.css"), Match{});
}

TEST(Router, CaseInsensitiveKAndSMatchTheirUnicodeFolds) {
  // RE2 folds k with U+212A (Kelvin sign) and s with U+017F (long s): the
  // prefilter must not skip these routes for such paths.
  auto router = routerOf({location("(?i)^/kelvin"), location("(?i)^/ask")});
  EXPECT_EQ(route(router, "h",
                  "/\xE2\x84\xAA"
                  "elvin"),
            (Match{0,
                   "/\xE2\x84\xAA"
                   "elvin"}));
  EXPECT_EQ(route(router, "h", "/a\xC5\xBFk"), (Match{1, "/a\xC5\xBFk"}));
  EXPECT_EQ(route(router, "h", "/A\xC5\xBF\xE2\x84\xAA"), (Match{1, "/A\xC5\xBF\xE2\x84\xAA"}));
}

TEST(Router, HostAndPathRoutesBesidePathRoutes) {
  LocationConfig shop = location("^shop\\.example/api/");
  shop.match = MatchTarget::kHostAndPath;
  LocationConfig any_host_api = location("^[^/]*/api/");
  any_host_api.match = MatchTarget::kHostAndPath;
  auto router = routerOf({location("^/api/private/"), shop, any_host_api, location("^/")});
  EXPECT_EQ(route(router, "shop.example", "/api/private/x"), (Match{0, "/api/private/x"}));
  EXPECT_EQ(route(router, "shop.example", "/api/x"), (Match{1, "/api/x"}));
  EXPECT_EQ(route(router, "blog.example", "/api/x"), (Match{2, "/api/x"}));
  EXPECT_EQ(route(router, "shop.example", "/x"), (Match{3, "/x"}));
}

TEST(Router, RewriteCapturesOfACandidateAfterRejectedOnes) {
  auto router =
      routerOf({location("^/v1/(a+)$", "/one/\\1"), location("^/v1/(\\w+)/(\\d+)", "/\\2/\\1"),
                location("^/(v)(1)/", "/\\2\\1/\\0")});
  EXPECT_EQ(route(router, "h", "/v1/aaa"), (Match{0, "/one/aaa"}));
  EXPECT_EQ(route(router, "h", "/v1/user/42/tail"), (Match{1, "/42/user/tail"}));
  EXPECT_EQ(route(router, "h", "/v1/-/x"), (Match{2, "/1v//v1/-/x"}));
}

std::vector<LocationConfig> thousandLocations() {
  std::vector<LocationConfig> locations;
  for (int i = 0; i < 1000; ++i) {
    char pattern[32];
    std::snprintf(pattern, sizeof pattern, "^/r%04d/(.*)", i);
    locations.push_back(location(pattern, "/\\1"));
  }
  return locations;
}

TEST(Router, ThousandLocationsTheMatchingOneLast) {
  auto router = routerOf(thousandLocations());
  ASSERT_EQ(router.size(), 1000u);
  EXPECT_EQ(route(router, "h", "/r0999/x/y"), (Match{999, "/x/y"}));
  EXPECT_EQ(route(router, "h", "/r0000/"), (Match{0, "/"}));
  EXPECT_EQ(route(router, "h", "/r0500/z"), (Match{500, "/z"}));
  EXPECT_EQ(route(router, "h", "/r1000/z"), Match{});
  EXPECT_EQ(route(router, "h", "/r099/z"), Match{});

  std::vector<LocationConfig> locations = thousandLocations();
  locations.back() = location("\\.php$");  // the last one unanchored
  auto mixed = routerOf(locations);
  EXPECT_EQ(route(mixed, "h", "/r0998/index.php"), (Match{998, "/index.php"}));
  EXPECT_EQ(route(mixed, "h", "/x/index.php"), (Match{999, "/x/index.php"}));
}

TEST(Router, UnchangedPatternsAreNotCompiledAgain) {
  auto first = routerOf(thousandLocations());
  EXPECT_EQ(first.router.compiledCount(), 1000u);
  // Same locations, another snapshot (say, only a server changed).
  auto second = routerOf(thousandLocations(), &first.router);
  EXPECT_EQ(second.router.compiledCount(), 0u);
  EXPECT_EQ(route(second, "h", "/r0999/x"), (Match{999, "/x"}));

  // One location changed and one added: two compiles, and order still holds.
  std::vector<LocationConfig> locations = thousandLocations();
  locations[10] = location("^/changed/");
  locations.insert(locations.begin(), location("^/r0999/only-this$"));
  auto third = routerOf(locations, &second.router);
  EXPECT_EQ(third.router.compiledCount(), 2u);
  EXPECT_EQ(route(third, "h", "/r0999/only-this"), (Match{0, "/r0999/only-this"}));
  EXPECT_EQ(route(third, "h", "/r0999/x"), (Match{1000, "/x"}));
  EXPECT_EQ(route(third, "h", "/changed/x"), (Match{11, "/changed/x"}));
  EXPECT_EQ(route(third, "h", "/r0010/x"), Match{});
}

}  // namespace
}  // namespace gourmet::core
