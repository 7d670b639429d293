#include "core/hash_key.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace gourmet::core {
namespace {

MessageHead headWith(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  MessageHead head;
  for (auto [name, value] : fields) {
    head.appendName(name.data(), name.size());
    head.nameComplete();
    head.appendValue(value.data(), value.size());
    head.valueComplete();
  }
  return head;
}

TEST(HashKeySource, ParsesEveryForm) {
  EXPECT_EQ(HashKeySource::parse("")->kind, HashKeySource::Kind::kNone);
  EXPECT_EQ(HashKeySource::parse("client_ip")->kind, HashKeySource::Kind::kClientIp);
  EXPECT_EQ(HashKeySource::parse("path")->kind, HashKeySource::Kind::kPath);
  auto header = HashKeySource::parse("header:X-User");
  ASSERT_TRUE(header);
  EXPECT_EQ(header->kind, HashKeySource::Kind::kHeader);
  EXPECT_EQ(header->name, "X-User");
  auto cookie = HashKeySource::parse("cookie:session");
  ASSERT_TRUE(cookie);
  EXPECT_EQ(cookie->kind, HashKeySource::Kind::kCookie);
  EXPECT_EQ(cookie->name, "session");
}

TEST(HashKeySource, RejectsOtherForms) {
  for (std::string_view bad : {"ip", "header:", "cookie:", "Path"}) {
    auto parsed = HashKeySource::parse(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().message,
              fmt::format("hash_on '{}' must be client_ip, path, header:NAME or cookie:NAME", bad));
  }
}

TEST(HashKeyOf, TakesEachSource) {
  MessageHead head = headWith({{"X-User", "alice"}, {"Cookie", "a=1; session=s42 ;b=2"}});
  EXPECT_EQ(hashKeyOf(*HashKeySource::parse("client_ip"), head, "10.0.0.1", "/p"), "10.0.0.1");
  EXPECT_EQ(hashKeyOf(*HashKeySource::parse("path"), head, "10.0.0.1", "/p"), "/p");
  EXPECT_EQ(hashKeyOf(*HashKeySource::parse("header:x-user"), head, "", ""), "alice");
  EXPECT_EQ(hashKeyOf(*HashKeySource::parse("cookie:session"), head, "", ""), "s42");
  EXPECT_EQ(hashKeyOf(*HashKeySource::parse("cookie:b"), head, "", ""), "2");
}

TEST(HashKeyOf, KnownHeaderNamesAndEveryCookieHeader) {
  MessageHead head = headWith({{"host", "shop.example"},
                               {"Cookie", "a=1"},
                               {"X-Other", "x"},
                               {"COOKIE", "session=s7"},
                               {"cookie", "session=later"}});
  auto host = HashKeySource::parse("header:Host");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->header, HeaderName::kHost);
  EXPECT_EQ(hashKeyOf(*host, head, "", ""), "shop.example");
  EXPECT_EQ(HashKeySource::parse("header:X-User")->header, HeaderName::kOther);
  EXPECT_EQ(hashKeyOf(*HashKeySource::parse("header:x-other"), head, "", ""), "x");
  // The first Cookie header that carries the cookie.
  EXPECT_EQ(hashKeyOf(*HashKeySource::parse("cookie:session"), head, "", ""), "s7");
}

TEST(HashKeyOf, MissingHeaderOrCookieHasNoKey) {
  MessageHead head = headWith({{"Cookie", "sessionid=1"}});
  EXPECT_FALSE(hashKeyOf(*HashKeySource::parse("header:X-User"), head, "", ""));
  EXPECT_FALSE(hashKeyOf(*HashKeySource::parse("cookie:session"), head, "", ""));
  EXPECT_FALSE(hashKeyOf(*HashKeySource::parse(""), head, "1.2.3.4", "/"));
}

}  // namespace
}  // namespace gourmet::core
