#include "core/http_head.h"

#include <gtest/gtest.h>
#include <llhttp.h>

#include <cctype>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gourmet::core {
namespace {

// Feeds raw bytes to a real llhttp parser wired to a MessageHead exactly as
// ClientConnection and UpstreamConnection wire theirs, so the tests exercise
// the glue as production runs it (fragmented spans included).
class HeadParser {
 public:
  explicit HeadParser(llhttp_type_t type, HeadLimits limits = {}) : head_(limits) {
    llhttp_settings_init(&settings_);
    settings_.on_message_begin = [](llhttp_t* p) {
      self(p)->head_.clear();
      return 0;
    };
    settings_.on_url = [](llhttp_t* p, const char* at, size_t len) {
      return self(p)->head_.appendTarget(at, len) ? 0 : -1;
    };
    settings_.on_status = [](llhttp_t* p, const char* at, size_t len) {
      return self(p)->head_.appendTarget(at, len) ? 0 : -1;
    };
    settings_.on_header_field = [](llhttp_t* p, const char* at, size_t len) {
      return self(p)->head_.appendName(at, len) ? 0 : -1;
    };
    settings_.on_header_field_complete = [](llhttp_t* p) {
      self(p)->head_.nameComplete();
      return 0;
    };
    settings_.on_header_value = [](llhttp_t* p, const char* at, size_t len) {
      return self(p)->head_.appendValue(at, len) ? 0 : -1;
    };
    settings_.on_header_value_complete = [](llhttp_t* p) {
      self(p)->head_.valueComplete();
      return 0;
    };
    settings_.on_headers_complete = [](llhttp_t* p) {
      ++self(p)->heads_complete_;
      return 0;
    };
    llhttp_init(&parser_, type, &settings_);
    parser_.data = this;
  }
  HeadParser(const HeadParser&) = delete;
  HeadParser& operator=(const HeadParser&) = delete;

  // Feeds `bytes` in pieces of at most `piece` bytes (each piece a separate
  // copy, as separate reads would be); stops at the first error.
  llhttp_errno_t feed(std::string_view bytes, size_t piece = std::string_view::npos) {
    while (!bytes.empty()) {
      std::string copy(bytes.substr(0, piece));
      bytes.remove_prefix(copy.size());
      llhttp_errno_t err = llhttp_execute(&parser_, copy.data(), copy.size());
      if (err != HPE_OK) return err;
    }
    return HPE_OK;
  }

  const MessageHead& head() const { return head_; }
  int headsComplete() const { return heads_complete_; }

 private:
  static HeadParser* self(llhttp_t* p) { return static_cast<HeadParser*>(p->data); }

  MessageHead head_;
  llhttp_settings_t settings_{};
  llhttp_t parser_{};
  int heads_complete_ = 0;
};

using Fields = std::vector<std::pair<std::string, std::string>>;

Fields fieldsOf(const MessageHead& head) {
  Fields fields;
  for (size_t i = 0; i < head.size(); ++i) {
    fields.emplace_back(std::string(head.name(i)), std::string(head.value(i)));
  }
  return fields;
}

constexpr std::string_view kRequest =
    "GET /search?q=gourmet&page=2 HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "User-Agent: unit-test/1.0\r\n"
    "Accept: text/html, application/json\r\n"
    "X-Empty:\r\n"
    "X-Spaces:   padded value \t \r\n"
    "Cookie: a=1\r\n"
    "cookie: b=2\r\n"
    "\r\n";

const Fields kRequestFields = {
    {"Host", "example.com"},
    {"User-Agent", "unit-test/1.0"},
    {"Accept", "text/html, application/json"},
    {"X-Empty", ""},
    {"X-Spaces", "padded value"},
    {"Cookie", "a=1"},
    {"cookie", "b=2"},
};

TEST(MessageHeadLlhttp, FillsTargetAndFieldsFromARequest) {
  HeadParser parser(HTTP_REQUEST);
  ASSERT_EQ(parser.feed(kRequest), HPE_OK);
  EXPECT_EQ(parser.headsComplete(), 1);
  EXPECT_EQ(parser.head().target(), "/search?q=gourmet&page=2");
  EXPECT_EQ(fieldsOf(parser.head()), kRequestFields);
  EXPECT_EQ(parser.head().limitError(), HeadLimitError::kNone);
}

TEST(MessageHeadLlhttp, EveryFragmentationGivesTheSameHead) {
  // Reads can split the head anywhere, names and values included.
  for (size_t piece = 1; piece <= 16; ++piece) {
    HeadParser parser(HTTP_REQUEST);
    ASSERT_EQ(parser.feed(kRequest, piece), HPE_OK) << "piece " << piece;
    EXPECT_EQ(parser.head().target(), "/search?q=gourmet&page=2") << "piece " << piece;
    EXPECT_EQ(fieldsOf(parser.head()), kRequestFields) << "piece " << piece;
  }
}

TEST(MessageHeadLlhttp, EmptyAndWhitespaceOnlyValuesAreEmpty) {
  HeadParser parser(HTTP_REQUEST);
  ASSERT_EQ(parser.feed("GET / HTTP/1.1\r\n"
                        "A:\r\n"
                        "B: \r\n"
                        "C: \t \r\n"
                        "D: d\r\n"
                        "\r\n",
                        3),
            HPE_OK);
  EXPECT_EQ(fieldsOf(parser.head()), (Fields{{"A", ""}, {"B", ""}, {"C", ""}, {"D", "d"}}));
}

TEST(MessageHeadLlhttp, InnerWhitespaceIsKeptOuterWhitespaceIsNot) {
  HeadParser parser(HTTP_REQUEST);
  ASSERT_EQ(parser.feed("GET / HTTP/1.1\r\nX-List: \t a ,  b\t\t \r\n\r\n"), HPE_OK);
  EXPECT_EQ(fieldsOf(parser.head()), (Fields{{"X-List", "a ,  b"}}));
}

TEST(MessageHeadLlhttp, ResponseReasonPhraseIsTheTarget) {
  HeadParser parser(HTTP_RESPONSE);
  ASSERT_EQ(parser.feed("HTTP/1.1 404 Not Found\r\n"
                        "Content-Length: 0\r\n"
                        "Set-Cookie: a=1\r\n"
                        "Set-Cookie: b=2\r\n"
                        "\r\n",
                        5),
            HPE_OK);
  EXPECT_EQ(parser.head().target(), "Not Found");
  EXPECT_EQ(fieldsOf(parser.head()),
            (Fields{{"Content-Length", "0"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}}));
}

TEST(MessageHeadLlhttp, NextMessageOnTheConnectionStartsAFreshHead) {
  HeadParser parser(HTTP_REQUEST);
  ASSERT_EQ(parser.feed("GET /first HTTP/1.1\r\nHost: a\r\nX-One: 1\r\n\r\n"), HPE_OK);
  ASSERT_EQ(parser.feed("GET /second HTTP/1.1\r\nHost: b\r\n\r\n"), HPE_OK);
  EXPECT_EQ(parser.headsComplete(), 2);
  EXPECT_EQ(parser.head().target(), "/second");
  EXPECT_EQ(fieldsOf(parser.head()), (Fields{{"Host", "b"}}));
}

TEST(MessageHeadLookup, FindAndCountIgnoreCase) {
  HeadParser parser(HTTP_REQUEST);
  ASSERT_EQ(parser.feed(kRequest), HPE_OK);
  const MessageHead& head = parser.head();
  EXPECT_EQ(head.find("host"), "example.com");
  EXPECT_EQ(head.find("HOST"), "example.com");
  EXPECT_EQ(head.find("COOKIE"), "a=1");  // the first of two
  EXPECT_EQ(head.count("Cookie"), 2u);
  EXPECT_EQ(head.count("x-empty"), 1u);
  EXPECT_EQ(head.find("x-empty"), "");  // present, empty: not nullopt
  EXPECT_EQ(head.find("X-Missing"), std::nullopt);
  EXPECT_EQ(head.count("X-Missing"), 0u);
  EXPECT_EQ(head.find("Hos"), std::nullopt);  // no prefix matches
  EXPECT_EQ(head.find("Hostt"), std::nullopt);
}

TEST(MessageHeadLookup, ConnectionHasMatchesWholeTokensInEveryConnectionHeader) {
  HeadParser parser(HTTP_REQUEST);
  ASSERT_EQ(parser.feed("GET / HTTP/1.1\r\n"
                        "Host: h\r\n"
                        "Connection: close, X-Foo\r\n"
                        "X-Foo: 1\r\n"
                        "connection: ,\tX-Bar ,, x-baz\r\n"
                        "\r\n"),
            HPE_OK);
  const MessageHead& head = parser.head();
  EXPECT_TRUE(head.connectionHas("close"));
  EXPECT_TRUE(head.connectionHas("CLOSE"));
  EXPECT_TRUE(head.connectionHas("x-foo"));
  EXPECT_TRUE(head.connectionHas("X-Bar"));
  EXPECT_TRUE(head.connectionHas("X-BAZ"));
  EXPECT_FALSE(head.connectionHas("clos"));
  EXPECT_FALSE(head.connectionHas("X-Fo"));
  EXPECT_FALSE(head.connectionHas("close, X-Foo"));
  EXPECT_FALSE(head.connectionHas("keep-alive"));
  EXPECT_FALSE(head.connectionHas("Host"));  // a header, not a Connection token
}

TEST(MessageHeadLookup, ConnectionHasIsFalseWithoutConnectionHeader) {
  HeadParser parser(HTTP_REQUEST);
  ASSERT_EQ(parser.feed("GET / HTTP/1.1\r\nHost: close\r\n\r\n"), HPE_OK);
  EXPECT_FALSE(parser.head().connectionHas("close"));
}

TEST(HeaderNames, EveryKnownNameInAnyCaseAndNothingElse) {
  const std::vector<std::pair<std::string_view, HeaderName>> known = {
      {"host", HeaderName::kHost},
      {"connection", HeaderName::kConnection},
      {"keep-alive", HeaderName::kKeepAlive},
      {"proxy-connection", HeaderName::kProxyConnection},
      {"te", HeaderName::kTe},
      {"trailer", HeaderName::kTrailer},
      {"upgrade", HeaderName::kUpgrade},
      {"transfer-encoding", HeaderName::kTransferEncoding},
      {"content-length", HeaderName::kContentLength},
      {"expect", HeaderName::kExpect},
      {"accept", HeaderName::kAccept},
      {"cookie", HeaderName::kCookie},
      {"x-forwarded-for", HeaderName::kXForwardedFor},
      {"x-forwarded-proto", HeaderName::kXForwardedProto},
      {"x-forwarded-host", HeaderName::kXForwardedHost},
      {"via", HeaderName::kVia},
  };
  EXPECT_EQ(known.size() + 1, kHeaderNames);
  for (const auto& [lower, kind] : known) {
    std::string upper(lower), mixed(lower);
    for (size_t i = 0; i < upper.size(); ++i) {
      upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
      if (i % 2 == 0) mixed[i] = upper[i];
    }
    EXPECT_EQ(classifyHeaderName(lower), kind) << lower;
    EXPECT_EQ(classifyHeaderName(upper), kind) << upper;
    EXPECT_EQ(classifyHeaderName(mixed), kind) << mixed;
    // One byte off, or a byte more or less: another name.
    std::string off(lower);
    off.back() = static_cast<char>(off.back() == 'x' ? 'y' : 'x');
    EXPECT_EQ(classifyHeaderName(off), HeaderName::kOther) << off;
    EXPECT_EQ(classifyHeaderName(std::string(lower) + "s"), HeaderName::kOther) << lower;
    EXPECT_EQ(classifyHeaderName(lower.substr(1)), HeaderName::kOther) << lower;
  }
  for (std::string_view other :
       {"", "x", "hosts", "accepts", "Accept-Encoding", "Set-Cookie", "Content-Type",
        "X-Forwarded-Port", "Forwarded", "content_length", "tf", "acceqt", "bookie", "expecT-CT"}) {
    EXPECT_EQ(classifyHeaderName(other), HeaderName::kOther) << other;
  }
}

TEST(MessageHeadClassified, EachFieldIsClassifiedWhenItsNameIsComplete) {
  // Every fragmentation, names split anywhere, gives the same kinds.
  const std::string request =
      "GET / HTTP/1.1\r\n"
      "User-Agent: t\r\n"
      "HOST: h\r\n"
      "connection: close\r\n"
      "Content-Length: 0\r\n"
      "X-Forwarded-For: 1.2.3.4\r\n"
      "x-forwarded-for: 5.6.7.8\r\n"
      "\r\n";
  for (size_t piece = 1; piece <= 16; ++piece) {
    HeadParser parser(HTTP_REQUEST);
    ASSERT_EQ(parser.feed(request, piece), HPE_OK);
    const MessageHead& head = parser.head();
    ASSERT_EQ(head.size(), 6u);
    EXPECT_EQ(head.kind(0), HeaderName::kOther);
    EXPECT_EQ(head.kind(1), HeaderName::kHost);
    EXPECT_EQ(head.kind(2), HeaderName::kConnection);
    EXPECT_EQ(head.kind(3), HeaderName::kContentLength);
    EXPECT_EQ(head.kind(4), HeaderName::kXForwardedFor);
    EXPECT_EQ(head.kind(5), HeaderName::kXForwardedFor);
    EXPECT_EQ(head.first(HeaderName::kHost), 1u);
    EXPECT_EQ(head.first(HeaderName::kXForwardedFor), 4u);
    EXPECT_EQ(head.count(HeaderName::kXForwardedFor), 2u);
    EXPECT_EQ(head.first(HeaderName::kExpect), head.size());
    EXPECT_EQ(head.count(HeaderName::kExpect), 0u);
    EXPECT_EQ(head.count(HeaderName::kOther), 0u);  // not in the table
  }
}

TEST(MessageHeadClassified, LookupsByKindAndByStringAgree) {
  HeadParser parser(HTTP_REQUEST);
  ASSERT_EQ(parser.feed(kRequest), HPE_OK);
  const MessageHead& head = parser.head();
  EXPECT_EQ(head.find(HeaderName::kHost), "example.com");
  EXPECT_EQ(head.find(HeaderName::kAccept), "text/html, application/json");
  EXPECT_EQ(head.find(HeaderName::kCookie), "a=1");
  EXPECT_EQ(head.count(HeaderName::kCookie), 2u);
  EXPECT_EQ(head.find(HeaderName::kExpect), std::nullopt);
  std::vector<std::string_view> cookies;
  head.forEach(HeaderName::kCookie, [&](size_t i) { cookies.push_back(head.value(i)); });
  EXPECT_EQ(cookies, (std::vector<std::string_view>{"a=1", "b=2"}));
  // By string, a known name reads the table and any other name is compared
  // with the unclassified fields only.
  EXPECT_EQ(head.find("cOOKIE"), "a=1");
  EXPECT_EQ(head.find("user-agent"), "unit-test/1.0");
  EXPECT_EQ(head.count("X-SPACES"), 1u);
}

TEST(MessageHeadClassified, ANewMessageForgetsTheLastOnesTable) {
  HeadParser parser(HTTP_REQUEST);
  ASSERT_EQ(parser.feed("GET /1 HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                        "Content-Length: 0\r\n\r\n"),
            HPE_OK);
  EXPECT_EQ(parser.head().count(HeaderName::kExpect), 1u);
  ASSERT_EQ(parser.feed("GET /2 HTTP/1.1\r\nX: y\r\nHost: b\r\n\r\n"), HPE_OK);
  const MessageHead& head = parser.head();
  EXPECT_EQ(head.count(HeaderName::kExpect), 0u);
  EXPECT_EQ(head.find("expect"), std::nullopt);
  EXPECT_EQ(head.first(HeaderName::kHost), 1u);
  EXPECT_EQ(head.count(HeaderName::kHost), 1u);
  EXPECT_EQ(head.find(HeaderName::kHost), "b");
}

TEST(MessageHeadLimits, TargetAtTheLimitPassesOneMoreByteIs414) {
  HeadLimits limits;
  limits.max_target = 10;
  {
    HeadParser parser(HTTP_REQUEST, limits);
    ASSERT_EQ(parser.feed("GET /123456789 HTTP/1.1\r\nHost: h\r\n\r\n"), HPE_OK);
    EXPECT_EQ(parser.head().target(), "/123456789");
    EXPECT_EQ(parser.head().limitError(), HeadLimitError::kNone);
  }
  for (size_t piece : {size_t{1}, size_t{3}, std::string_view::npos}) {
    HeadParser parser(HTTP_REQUEST, limits);
    EXPECT_EQ(parser.feed("GET /1234567890 HTTP/1.1\r\nHost: h\r\n\r\n", piece), HPE_USER)
        << "piece " << piece;
    EXPECT_EQ(parser.head().limitError(), HeadLimitError::kTargetTooLong) << "piece " << piece;
  }
}

TEST(MessageHeadLimits, HeaderBytesCountNamesAndValuesNotTheTarget) {
  HeadLimits limits;
  limits.max_header_bytes = 20;
  limits.max_target = 100;
  const std::string long_target = "/" + std::string(50, 'x');
  {
    // "Abcd" + "0123456789012345" = 20 bytes: exactly at the limit.
    HeadParser parser(HTTP_REQUEST, limits);
    ASSERT_EQ(parser.feed("GET " + long_target + " HTTP/1.1\r\nAbcd: 0123456789012345\r\n\r\n"),
              HPE_OK);
    EXPECT_EQ(parser.head().limitError(), HeadLimitError::kNone);
    EXPECT_EQ(parser.head().find("abcd"), "0123456789012345");
  }
  for (size_t piece : {size_t{1}, size_t{4}, std::string_view::npos}) {
    HeadParser parser(HTTP_REQUEST, limits);
    EXPECT_EQ(parser.feed("GET / HTTP/1.1\r\nAbcd: 01234567890123456\r\n\r\n", piece), HPE_USER)
        << "piece " << piece;
    EXPECT_EQ(parser.head().limitError(), HeadLimitError::kHeadersTooLarge) << "piece " << piece;
  }
  {
    // Spread over several fields, and over a name.
    HeadParser parser(HTTP_REQUEST, limits);
    EXPECT_EQ(parser.feed("GET / HTTP/1.1\r\nA: 123456789\r\nB: 12345678\r\nCC: 1\r\n\r\n"),
              HPE_USER);
    EXPECT_EQ(parser.head().limitError(), HeadLimitError::kHeadersTooLarge);
  }
}

TEST(MessageHeadLimits, HeaderCountAtTheLimitPassesOneMoreIs431) {
  HeadLimits limits;
  limits.max_headers = 3;
  {
    HeadParser parser(HTTP_REQUEST, limits);
    ASSERT_EQ(parser.feed("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), HPE_OK);
    EXPECT_EQ(parser.head().size(), 3u);
    EXPECT_EQ(parser.head().limitError(), HeadLimitError::kNone);
  }
  {
    HeadParser parser(HTTP_REQUEST, limits);
    EXPECT_EQ(parser.feed("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 2), HPE_USER);
    EXPECT_EQ(parser.head().limitError(), HeadLimitError::kHeadersTooLarge);
    EXPECT_EQ(parser.head().size(), 3u);
  }
}

TEST(MessageHeadDirect, FragmentedAppendsJoinIntoOneField) {
  MessageHead head;
  EXPECT_TRUE(head.appendTarget("/a", 2));
  EXPECT_TRUE(head.appendTarget("/b?c", 4));
  EXPECT_TRUE(head.appendName("X-", 2));
  EXPECT_TRUE(head.appendName("Foo", 3));
  head.nameComplete();
  EXPECT_TRUE(head.appendValue("ba", 2));
  EXPECT_TRUE(head.appendValue("r  ", 3));
  head.valueComplete();
  EXPECT_TRUE(head.appendName("Y", 1));
  head.nameComplete();
  head.valueComplete();  // empty value: no appendValue call at all
  EXPECT_EQ(head.target(), "/a/b?c");
  EXPECT_EQ(fieldsOf(head), (Fields{{"X-Foo", "bar"}, {"Y", ""}}));
}

TEST(MessageHeadDirect, ValueWithoutANameIsIgnored) {
  MessageHead head;
  EXPECT_TRUE(head.appendValue("stray", 5));
  head.valueComplete();
  EXPECT_EQ(head.size(), 0u);
}

TEST(MessageHeadDirect, ClearResetsEverythingIncludingTheLimitError) {
  HeadLimits limits;
  limits.max_headers = 1;
  MessageHead head(limits);
  EXPECT_TRUE(head.appendTarget("/x", 2));
  EXPECT_TRUE(head.appendName("A", 1));
  head.nameComplete();
  EXPECT_TRUE(head.appendValue("1", 1));
  head.valueComplete();
  EXPECT_FALSE(head.appendName("B", 1));
  EXPECT_EQ(head.limitError(), HeadLimitError::kHeadersTooLarge);

  head.clear();
  EXPECT_EQ(head.target(), "");
  EXPECT_EQ(head.size(), 0u);
  EXPECT_EQ(head.limitError(), HeadLimitError::kNone);
  EXPECT_EQ(head.find("a"), std::nullopt);

  // And it is usable again with the same limits.
  EXPECT_TRUE(head.appendTarget("/y", 2));
  EXPECT_TRUE(head.appendName("C", 1));
  head.nameComplete();
  EXPECT_TRUE(head.appendValue("3", 1));
  head.valueComplete();
  EXPECT_EQ(head.target(), "/y");
  EXPECT_EQ(fieldsOf(head), (Fields{{"C", "3"}}));
}

TEST(EqualsIgnoreCase, FoldsOnlyAsciiLetters) {
  EXPECT_TRUE(equalsIgnoreCase("Content-Length", "content-LENGTH"));
  EXPECT_TRUE(equalsIgnoreCase("", ""));
  EXPECT_FALSE(equalsIgnoreCase("Host", "Hos"));
  EXPECT_FALSE(equalsIgnoreCase("a-b", "a_b"));
  EXPECT_FALSE(equalsIgnoreCase("@", "`"));  // 0x40 vs 0x60: not letters
  EXPECT_FALSE(equalsIgnoreCase("[", "{"));
}

TEST(ForEachToken, SplitsOnCommasAndTrimsSpacesAndTabs) {
  std::vector<std::string> tokens;
  forEachToken(" a,b ,\tc\t, , ,d e,", [&](std::string_view t) { tokens.emplace_back(t); });
  EXPECT_EQ(tokens, (std::vector<std::string>{"a", "b", "c", "d e"}));
  tokens.clear();
  forEachToken("", [&](std::string_view t) { tokens.emplace_back(t); });
  forEachToken(" , ", [&](std::string_view t) { tokens.emplace_back(t); });
  EXPECT_TRUE(tokens.empty());
}

}  // namespace
}  // namespace gourmet::core
