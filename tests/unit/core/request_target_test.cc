#include "core/request_target.h"

#include <gtest/gtest.h>

namespace gourmet::core {
namespace {

TEST(RequestTarget, OriginFormKeepsHostAndSplitsQuery) {
  RequestTarget t;
  ASSERT_TRUE(parseRequestTarget("/a/b?x=1&y", "example.com", t));
  EXPECT_EQ(t.host, "example.com");
  EXPECT_EQ(t.path, "/a/b");
  EXPECT_EQ(t.query, "?x=1&y");
}

TEST(RequestTarget, AbsoluteFormAuthorityReplacesHost) {
  RequestTarget t;
  ASSERT_TRUE(parseRequestTarget("http://Origin.example:8080/p?q", "ignored", t));
  EXPECT_EQ(t.host, "Origin.example:8080");
  EXPECT_EQ(t.path, "/p");
  EXPECT_EQ(t.query, "?q");
  ASSERT_TRUE(parseRequestTarget("HTTPS://h.example", "x", t));
  EXPECT_EQ(t.host, "h.example");
  EXPECT_EQ(t.path, "/");
  ASSERT_TRUE(parseRequestTarget("http://h.example?q=1", "x", t));
  EXPECT_EQ(t.path, "/");
  EXPECT_EQ(t.query, "?q=1");
}

TEST(RequestTarget, AsteriskForm) {
  RequestTarget t;
  ASSERT_TRUE(parseRequestTarget("*", "h", t));
  EXPECT_EQ(t.path, "*");
}

TEST(RequestTarget, RefusesOtherForms) {
  RequestTarget t;
  for (std::string_view bad :
       {"", "foo", "example.com:443", "http://", "http://user@h/", "ftp://h/"}) {
    EXPECT_FALSE(parseRequestTarget(bad, "h", t)) << bad;
  }
}

TEST(ValidHost, AcceptsNamesAddressesAndPorts) {
  for (std::string_view ok : {"example.com", "a-b.example:8080", "127.0.0.1", "[::1]:80", ""}) {
    EXPECT_TRUE(validHost(ok)) << ok;
  }
  using namespace std::string_view_literals;
  for (std::string_view bad : {"a b"sv, "a/b"sv, "a@b"sv, "a\tb"sv, "a\0b"sv, "a\"b"sv}) {
    EXPECT_FALSE(validHost(bad)) << bad;
  }
}

}  // namespace
}  // namespace gourmet::core
