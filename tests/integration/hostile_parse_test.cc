// Hostile clients, part 1: requests that are malformed or ambiguous on the
// wire (smuggling attempts, obfuscated framing, bad characters, bad versions
// and targets). Each is answered with an error and a closed connection, and
// the origin never hears of it; the legitimate look-alikes are forwarded,
// re-serialised.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

#include "tests/integration/hostile_fixture.h"

namespace gourmet::testing {
namespace {

using namespace std::string_literals;

struct Hostile {
  const char* name;
  std::string bytes;  // from s literals: some carry NUL bytes
  std::set<int> statuses = {400};
  // Rejected at the head, before a server is picked: the origin is not even
  // connected to. Body errors come after the head went upstream.
  bool head_stage = true;
};

class HostileRequestTest : public HostileTest, public ::testing::WithParamInterface<Hostile> {};

TEST_P(HostileRequestTest, IsRejectedClosedAndNeverForwarded) {
  ASSERT_NO_FATAL_FAILURE(expectRejected(GetParam().bytes, GetParam().statuses));
  expectOriginUntouched(GetParam().head_stage);
}

constexpr bool kBody = false;  // head_stage = false
const std::set<int> kVersionStatuses = {400, 505};

// Framing: the two readings of a request's length that smuggling relies on.
INSTANTIATE_TEST_SUITE_P(
    HostileFraming, HostileRequestTest,
    ::testing::Values(
        Hostile{"ContentLengthAndChunked",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"s},
        Hostile{"ChunkedAndContentLength",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                "Content-Length: 5\r\n\r\n0\r\n\r\n"s},
        Hostile{"TwoDifferentContentLengths",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
                "hello!"s},
        Hostile{"ContentLengthList",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\nab"s},
        Hostile{"NegativeContentLength",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"s},
        Hostile{"SignedContentLength",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello"s},
        Hostile{"ChunkedWithTrailingSpace",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked \r\n\r\n0\r\n\r\n"s},
        Hostile{"ChunkedWithTrailingTab",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n"s},
        Hostile{"ChunkedAfterVerticalTab",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \vchunked\r\n\r\n0\r\n\r\n"s},
        Hostile{"XChunked",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"s},
        Hostile{"ChunkedThenIdentity",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n"
                "0\r\n\r\n"s},
        Hostile{"Identity",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\nhello"s},
        Hostile{"DuplicatedTransferEncoding",
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"s}),
    [](const auto& info) { return std::string(info.param.name); });

// Chunk syntax. The head has gone upstream by the time the chunk is parsed.
std::string chunkedPost(std::string_view chunks) {
  return "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(chunks);
}

INSTANTIATE_TEST_SUITE_P(
    HostileChunks, HostileRequestTest,
    ::testing::Values(
        Hostile{"NonHexSize", chunkedPost("zz\r\nhello\r\n0\r\n\r\n"), {400}, kBody},
        Hostile{"OverflowingSize",
                chunkedPost("FFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n"),
                {400},
                kBody},
        Hostile{"NegativeSize", chunkedPost("-5\r\nhello\r\n0\r\n\r\n"), {400}, kBody},
        Hostile{"ExtensionWithBareCr", chunkedPost("5;a=b\rc\r\nhello\r\n0\r\n\r\n"), {400}, kBody},
        Hostile{"DataLongerThanSize", chunkedPost("5\r\nhelloXX\r\n0\r\n\r\n"), {400}, kBody}),
    [](const auto& info) { return std::string(info.param.name); });

// Line and field syntax.
INSTANTIATE_TEST_SUITE_P(
    HostileSyntax, HostileRequestTest,
    ::testing::Values(
        Hostile{"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost: a\r\nX-A : b\r\n\r\n"s},
        Hostile{"TabBeforeColon", "GET / HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n"s},
        Hostile{"ObsFold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n"s},
        Hostile{"ObsFoldWithTab", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n"s},
        Hostile{"BareLfAfterRequestLine", "GET / HTTP/1.1\nHost: a\r\n\r\n"s},
        Hostile{"BareLfAfterHeader", "GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n"s},
        Hostile{"BareLfEndingTheHead", "GET / HTTP/1.1\r\nHost: a\r\n\n"s},
        Hostile{"OnlyLf", "GET / HTTP/1.1\nHost: a\n\n"s},
        Hostile{"BareCrAfterRequestLine", "GET / HTTP/1.1\rHost: a\r\n\r\n"s},
        Hostile{"BareCrInRequestLine", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n"s},
        Hostile{"BareCrInHeaderValue", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n"s},
        Hostile{"NulInHeaderValue", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n"s},
        Hostile{"ControlCharInHeaderValue",
                "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01"
                "c\r\n\r\n"s},
        Hostile{"EscapeInHeaderValue", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x1b[0mc\r\n\r\n"s},
        Hostile{"DelInHeaderValue", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7f\r\n\r\n"s},
        Hostile{"ParenInMethod", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n"s},
        Hostile{"ControlCharInMethod", "GE\x01T / HTTP/1.1\r\nHost: a\r\n\r\n"s},
        Hostile{"NulInMethod", "GET\0 / HTTP/1.1\r\nHost: a\r\n\r\n"s},
        Hostile{"SpaceInTarget", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"s},
        Hostile{"ControlCharInTarget",
                "GET /a\x01"
                "b HTTP/1.1\r\nHost: a\r\n\r\n"s},
        Hostile{"NulInTarget", "GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"s},
        Hostile{"DelInTarget", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n"s},
        Hostile{"TabInTarget", "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"s},
        Hostile{"SpaceInHeaderName", "GET / HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n"s},
        Hostile{"SlashInHeaderName", "GET / HTTP/1.1\r\nHost: a\r\nX/A: b\r\n\r\n"s},
        Hostile{"QuoteInHeaderName", "GET / HTTP/1.1\r\nHost: a\r\nX\"A: b\r\n\r\n"s},
        Hostile{"ControlCharInHeaderName",
                "GET / HTTP/1.1\r\nHost: a\r\nX\x01"
                "A: b\r\n\r\n"s},
        Hostile{"EmptyHeaderName", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n"s},
        Hostile{"HeaderWithoutColon", "GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n"s}),
    [](const auto& info) { return std::string(info.param.name); });

// Versions, targets and Host.
INSTANTIATE_TEST_SUITE_P(
    HostileRequestLine, HostileRequestTest,
    ::testing::Values(Hostile{"Http09SimpleRequest", "GET /\r\n\r\n"s, kVersionStatuses},
                      Hostile{"Http09", "GET / HTTP/0.9\r\nHost: a\r\n\r\n"s, kVersionStatuses},
                      Hostile{"Http12", "GET / HTTP/1.2\r\nHost: a\r\n\r\n"s, kVersionStatuses},
                      Hostile{"Http20", "GET / HTTP/2.0\r\nHost: a\r\n\r\n"s, kVersionStatuses},
                      Hostile{"Http30", "GET / HTTP/3.0\r\nHost: a\r\n\r\n"s, kVersionStatuses},
                      Hostile{"LowercaseHttp", "GET / http/1.1\r\nHost: a\r\n\r\n"s},
                      Hostile{"TwoDigitMinor", "GET / HTTP/1.10\r\nHost: a\r\n\r\n"s},
                      Hostile{"RelativeTarget", "GET foo HTTP/1.1\r\nHost: a\r\n\r\n"s},
                      Hostile{"AuthorityFormWithGet",
                              "GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n"s},
                      Hostile{"AsteriskWithGet", "GET * HTTP/1.1\r\nHost: a\r\n\r\n"s},
                      Hostile{"AbsoluteFormNotHttp", "GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n"s},
                      Hostile{"MissingHost", "GET / HTTP/1.1\r\nX-A: b\r\n\r\n"s},
                      Hostile{"TwoHosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"s},
                      Hostile{"TwoEqualHosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"s},
                      Hostile{"HostWithSpace", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"s},
                      Hostile{"HostWithSlash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"s}),
    [](const auto& info) { return std::string(info.param.name); });

// ---- The legitimate look-alikes: forwarded, in the proxy's own words ----

TEST_F(HostileTest, MixedCaseChunkedIsForwardedAsChunked) {
  const auto r = send(
      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ChUnKeD\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const Request got = onlyRequest();
  EXPECT_EQ(got.framing, Framing::kChunked);
  EXPECT_EQ(got.body.text(), "hello");
}

TEST_F(HostileTest, LeadingWhitespaceBeforeChunkedIsFine) {
  const auto r = send(
      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \t chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(onlyRequest().body.text(), "hello");
}

TEST_F(HostileTest, ChunkExtensionsAreNotForwarded) {
  const auto r = send(
      "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=\"value\"\r\nhello\r\n0;last\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const Request got = onlyRequest();
  EXPECT_EQ(got.framing, Framing::kChunked);
  EXPECT_EQ(got.body.text(), "hello");
}

TEST_F(HostileTest, AbsoluteFormIsAcceptedAndItsHostUsed) {
  const auto r = send("GET http://origin.example:8080/p?q=1 HTTP/1.1\r\nHost: other\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const Request got = onlyRequest();
  EXPECT_EQ(got.target, "/p?q=1");
  EXPECT_EQ(got.header("host"), "origin.example:8080");
  EXPECT_EQ(countHeaders(got.headers, "host"), 1u);
}

TEST_F(HostileTest, Http10WithoutHostIsFine) {
  const auto r = send("GET /old HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(onlyRequest().target, "/old");
}

TEST_F(HostileTest, TabInHeaderValueIsFine) {
  const auto r = send("GET /t HTTP/1.1\r\nHost: a\r\nX-A: b\tc\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(onlyRequest().header("x-a"), "b\tc");
}

// What looks like a second request inside a rejected one is never parsed
// as one: the connection ends with the rejection.
TEST_F(HostileTest, SmuggledRequestBehindAConflictIsNeverForwarded) {
  ASSERT_NO_FATAL_FAILURE(expectRejected(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
      "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
      {400}));
  expectOriginUntouched();
}

}  // namespace
}  // namespace gourmet::testing
