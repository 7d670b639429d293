#include "core/route_prefilter.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <string>
#include <vector>

#include "core/route_table.h"
#include "core/router.h"

namespace gourmet::core {
namespace {

RoutePrefix prefixOf(const std::string& pattern) {
  RE2 compiled(pattern, RE2::Quiet);
  EXPECT_TRUE(compiled.ok()) << pattern << ": " << compiled.error();
  return requiredPrefix(pattern, compiled);
}

std::string literal(const std::string& pattern) { return prefixOf(pattern).literal; }

TEST(RequiredPrefix, AnchoredLiterals) {
  EXPECT_EQ(literal("^/api/v2/"), "/api/v2/");
  EXPECT_EQ(literal("\\A/x/y"), "/x/y");
  EXPECT_EQ(literal("^/r0042/(.*)"), "/r0042/");
  EXPECT_EQ(literal("^/a\\.b/"), "/a.b/");
  EXPECT_EQ(literal("^shop\\.example/api/"), "shop.example/api/");
  EXPECT_EQ(literal("(?s)^/x."), "/x");
  EXPECT_FALSE(prefixOf("^/api/").caseless);
}

TEST(RequiredPrefix, LongLiteralsAreCutAtTheLimit) {
  const std::string long_literal = "/" + std::string(70, 'a');
  EXPECT_EQ(literal("^" + long_literal + "b"), long_literal.substr(0, RoutePrefilter::kMaxPrefix));
  EXPECT_EQ(literal("^" + long_literal.substr(0, 47) + "b"), long_literal.substr(0, 47) + "b");
}

TEST(RequiredPrefix, StopsWhereTheLiteralBecomesOptional) {
  EXPECT_EQ(literal("^/ab?c"), "/a");
  EXPECT_EQ(literal("^/ab*c"), "/a");
  EXPECT_EQ(literal("^/ab{0,2}c"), "/a");
  EXPECT_EQ(literal("^/(api|apx)/"), "/ap");
  EXPECT_EQ(literal("^/a+b").substr(0, 2), "/a");
  EXPECT_EQ(literal("^/[ab]"), "/");
  EXPECT_EQ(literal("^.*\\.php"), "");
}

TEST(RequiredPrefix, NothingForPatternsThatNeedNotMatchAtTheStart) {
  EXPECT_EQ(literal("/api/"), "");  // unanchored
  EXPECT_EQ(literal("\\.css$"), "");
  EXPECT_EQ(literal("^/api|/admin"), "");  // the second alternative is unanchored
  EXPECT_EQ(literal("^/a(b|c)|x"), "");
  EXPECT_EQ(literal("^/a[|]b"), "/a|b");  // '|' in a class is a literal
  EXPECT_EQ(literal("^/a\\|b"), "/a|b");
  EXPECT_EQ(literal("(?m)^/api/"), "");   // ^ after any newline
  EXPECT_EQ(literal("(?i:^/api/)"), "");  // a group, not a flag
  EXPECT_EQ(literal("(^/api/)"), "");
  EXPECT_EQ(literal("\\Q^/a|b\\E"), "");
  EXPECT_EQ(literal("x^/api/"), "");
}

TEST(RequiredPrefix, CaselessPrefixesAreLowercaseAndStopBeforeKAndS) {
  EXPECT_EQ(prefixOf("(?i)^/API/V2/").literal, "/api/v2/");
  EXPECT_TRUE(prefixOf("(?i)^/API/V2/").caseless);
  EXPECT_EQ(prefixOf("(?iU)^/Media/").literal, "/media/");
  EXPECT_EQ(literal("(?i)^/docs/"), "/doc");  // s folds with U+017F
  EXPECT_EQ(literal("(?i)^/bank/"), "/ban");  // k folds with U+212A
  EXPECT_EQ(literal("(?i)^/caf\xC3\xA9/"), "/caf");
  // A flag group after the anchor is the pattern's business: case-sensitive
  // up to it, and RE2's range knows where folding starts.
  EXPECT_FALSE(prefixOf("^/api(?i)/x").caseless);
  EXPECT_EQ(literal("^/api(?i)/x"), "/api/");
}

TEST(RequiredPrefix, OnlyKAndSHaveNonAsciiCaseFolds) {
  // The caseless prefix compares ASCII case only; that is exact for every
  // ASCII letter but k and s, which the prefix therefore leaves out. Prove
  // no other letter folds to a non-ASCII code point in this RE2.
  RE2 others("(?i)[a-jl-rt-z]");
  ASSERT_TRUE(others.ok());
  std::string utf8;
  for (char32_t cp = 0x80; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    utf8.clear();
    if (cp < 0x800) {
      utf8 += static_cast<char>(0xC0 | (cp >> 6));
    } else if (cp < 0x10000) {
      utf8 += static_cast<char>(0xE0 | (cp >> 12));
      utf8 += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    } else {
      utf8 += static_cast<char>(0xF0 | (cp >> 18));
      utf8 += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      utf8 += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    }
    utf8 += static_cast<char>(0x80 | (cp & 0x3F));
    ASSERT_FALSE(RE2::FullMatch(utf8, others)) << "U+" << std::hex << static_cast<uint32_t>(cp);
  }
  EXPECT_TRUE(RE2::FullMatch("\xE2\x84\xAA", "(?i)k"));  // the two this test knows of
  EXPECT_TRUE(RE2::FullMatch("\xC5\xBF", "(?i)s"));
}

// The router with its prefilter must pick exactly what trying every
// location in order would pick: differential test against a plain loop.
struct Reference {
  std::vector<LocationConfig> locations;
  int match(std::string_view host, std::string_view path) const {
    for (size_t i = 0; i < locations.size(); ++i) {
      std::string subject(path);
      if (locations[i].match == MatchTarget::kHostAndPath) subject = std::string(host) + subject;
      if (RE2::PartialMatch(subject, RE2(locations[i].pattern, RE2::Quiet))) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }
};

TEST(RoutePrefilter, PicksWhatTryingEveryLocationPicks) {
  const std::vector<std::string> patterns = {
      "^/api/v2/",
      "^/api/",
      "(?i)^/API/V1/",
      "^/api|/admin",
      "\\.css$",
      "^/static/(.*)",
      "(?i)^/Static/",
      "^/a(b|c)d",
      "^/ab?c",
      "(?m)^/m",
      "^/r\\d+/",
      "^/r1/",
      "(?i)^/kS",
      "^$",
      "^/$",
      "^/x[|]y",
      "admin",
      "^/\xC3\xA9t\xC3\xA9/",
      "(?s)^/n.",
      "^/" + std::string(59, 'a') + "b",
      "^/",
  };
  const std::vector<std::string> hosts = {"h", "shop.example", "API.example"};
  const std::vector<std::string> paths = {
      "",
      "/",
      "/api",
      "/api/",
      "/api/v2/x",
      "/API/v1/x",
      "/api/V1/x",
      "/x/admin",
      "/admin",
      "/a.css",
      "/static/a.css",
      "/STATIC/x",
      "/abd",
      "/acd",
      "/ac",
      "/abc",
      "/m",
      "/x\n/m",
      "/r12/",
      "/r1/",
      "/r/",
      "/ks",
      "/Ks",
      "/\xE2\x84\xAA\xC5\xBF",
      "/x|y",
      "/\xC3\xA9t\xC3\xA9/",
      "/n\n",
      "/q",
      "/" + std::string(60, 'a') + "b",
      "/" + std::string(60, 'a') + "c",
  };
  // Every rotation of the pattern list, on both subjects, so each pattern
  // is seen before and after each other one.
  for (MatchTarget target : {MatchTarget::kPath, MatchTarget::kHostAndPath}) {
    for (size_t shift = 0; shift < patterns.size(); ++shift) {
      Reference reference;
      std::vector<Route> routes;
      for (size_t i = 0; i < patterns.size(); ++i) {
        LocationConfig config;
        config.pattern = patterns[(i + shift) % patterns.size()];
        // Every third location matches host+path, whatever `target` is.
        config.match = i % 3 == 0 ? MatchTarget::kHostAndPath : target;
        auto route = RouteTable::compile(config, static_cast<uint32_t>(i));
        ASSERT_TRUE(route) << config.pattern;
        routes.push_back(std::move(*route));
        reference.locations.push_back(config);
      }
      RouteTable table(std::move(routes));
      Router router(table, nullptr);
      std::string forwarded, scratch;
      for (const std::string& host : hosts) {
        for (const std::string& path : paths) {
          const Route* found = router.match(host, path, forwarded, scratch);
          int got = found == nullptr ? -1 : static_cast<int>(found->cluster);
          EXPECT_EQ(got, reference.match(host, path))
              << "host '" << host << "' path '" << path << "' shift " << shift;
        }
      }
    }
  }
}

}  // namespace
}  // namespace gourmet::core
