#include "core/head_syntax.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace gourmet::core {
namespace {

using namespace std::string_literals;
using Kind = HeadSyntax::Kind;

// Scans `bytes` in one piece and, separately, one byte at a time: a verdict
// must not depend on where reads split the input.
struct Verdict {
  bool done = false;
  bool failed = false;
  size_t consumed = 0;
  std::string reason;
};

Verdict scanWhole(Kind kind, std::string_view bytes) {
  HeadSyntax syntax(kind);
  size_t n = syntax.scan(bytes.data(), bytes.size());
  return {syntax.done(), syntax.failed(), n, syntax.reason()};
}

Verdict scanBytewise(Kind kind, std::string_view bytes) {
  HeadSyntax syntax(kind);
  size_t total = 0;
  for (char c : bytes) {
    size_t n = syntax.scan(&c, 1);
    total += n;
    if (syntax.done() || syntax.failed()) break;
  }
  return {syntax.done(), syntax.failed(), total, syntax.reason()};
}

void expectAccepted(Kind kind, std::string_view head, std::string_view rest = "") {
  const std::string bytes = std::string(head) + std::string(rest);
  for (const Verdict& v : {scanWhole(kind, bytes), scanBytewise(kind, bytes)}) {
    EXPECT_TRUE(v.done) << v.reason << " in " << head;
    EXPECT_FALSE(v.failed);
  }
  EXPECT_EQ(scanWhole(kind, bytes).consumed, head.size()) << "the head ends at its empty line";
}

void expectRejected(Kind kind, std::string_view bytes, std::string_view reason) {
  const Verdict whole = scanWhole(kind, bytes);
  const Verdict bytewise = scanBytewise(kind, bytes);
  EXPECT_TRUE(whole.failed) << "accepted: " << bytes;
  EXPECT_TRUE(bytewise.failed) << "accepted bytewise: " << bytes;
  EXPECT_EQ(whole.reason, reason) << bytes;
  EXPECT_EQ(whole.consumed, bytewise.consumed) << "the offending byte's offset";
}

TEST(HeadSyntax, AcceptsWellFormedRequests) {
  expectAccepted(Kind::kRequest, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET /next HTTP/1.1\r\n");
  expectAccepted(Kind::kRequest,
                 "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");  // leading empty lines
  expectAccepted(Kind::kRequest, "GET /old HTTP/1.0\r\n\r\n");
  expectAccepted(Kind::kRequest, "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
  expectAccepted(Kind::kRequest, "GET http://h/p?q=%20 HTTP/1.1\r\nHost: a\r\n\r\n");
  expectAccepted(Kind::kRequest,
                 "GET / HTTP/1.1\r\nX-Tab: a\tb\r\nX-Empty:\r\nX-Utf8: \xc3\xa9\r\n\r\n");
  expectAccepted(Kind::kRequest, "M-SEARCH! / HTTP/1.1\r\nHost: a\r\n\r\n", "5\r\nhello");
}

TEST(HeadSyntax, AcceptsWellFormedResponses) {
  expectAccepted(Kind::kResponse, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  expectAccepted(Kind::kResponse, "HTTP/1.1 204\r\n\r\n");   // no SP after the code
  expectAccepted(Kind::kResponse, "HTTP/1.1 404 \r\n\r\n");  // empty reason
  expectAccepted(Kind::kResponse, "HTTP/1.0 200 Fine\tthanks\r\n\r\n", "body");
}

TEST(HeadSyntax, RejectsLineEndingsOtherThanCrlf) {
  expectRejected(Kind::kRequest, "GET / HTTP/1.1\nHost: a\r\n\r\n", "invalid HTTP version");
  expectRejected(Kind::kRequest, "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", "bare LF");
  expectRejected(Kind::kRequest, "GET / HTTP/1.1\r\nHost: a\r\n\n",
                 "invalid character in header name");
  expectRejected(Kind::kRequest, "GET / HTTP/1.1\rHost: a\r\n\r\n", "CR not followed by LF");
  expectRejected(Kind::kRequest, "GET / HTTP/1.1\r\nX: b\rc\r\n\r\n", "CR not followed by LF");
  expectRejected(Kind::kRequest, "GET / HTTP/1.1\r\nHost: a\r\n\rX", "CR not followed by LF");
  expectRejected(Kind::kRequest, "\nGET / HTTP/1.1\r\n\r\n", "invalid character in method");
  expectRejected(Kind::kResponse, "HTTP/1.1 200 OK\nX: y\r\n\r\n",
                 "invalid character in reason phrase");
}

TEST(HeadSyntax, RejectsFoldingAndOddFieldNames) {
  expectRejected(Kind::kRequest, "GET / HTTP/1.1\r\nX: b\r\n c\r\n\r\n", "obsolete line folding");
  expectRejected(Kind::kResponse, "HTTP/1.1 200 OK\r\nX: b\r\n\tc\r\n\r\n",
                 "obsolete line folding");
  expectRejected(Kind::kRequest, "GET / HTTP/1.1\r\n Host: a\r\n\r\n", "obsolete line folding");
  expectRejected(Kind::kRequest, "GET / HTTP/1.1\r\nX : b\r\n\r\n", "whitespace before colon");
  expectRejected(Kind::kRequest, "GET / HTTP/1.1\r\nX\t: b\r\n\r\n", "whitespace before colon");
  expectRejected(Kind::kRequest, "GET / HTTP/1.1\r\n: b\r\n\r\n", "empty header name");
  expectRejected(Kind::kRequest, "GET / HTTP/1.1\r\nX/Y: b\r\n\r\n",
                 "invalid character in header name");
  expectRejected(Kind::kRequest, "GET / HTTP/1.1\r\nX-A\r\n\r\n",
                 "invalid character in header name");
}

TEST(HeadSyntax, RejectsWhitespaceAfterTransferEncodingOnly) {
  expectRejected(Kind::kRequest, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked \r\n\r\n",
                 "whitespace after Transfer-Encoding");
  expectRejected(Kind::kRequest, "POST / HTTP/1.1\r\ntransfer-ENCODING: chunked\t\r\n\r\n",
                 "whitespace after Transfer-Encoding");
  expectAccepted(Kind::kRequest, "POST / HTTP/1.1\r\nTransfer-Encoding:  chunked\r\n\r\n");
  expectAccepted(Kind::kRequest, "POST / HTTP/1.1\r\nTransfer-Encodings: x \r\nX: y \r\n\r\n");
  expectAccepted(Kind::kRequest, "POST / HTTP/1.1\r\nTransfer-Encodin: x \r\n\r\n");
}

TEST(HeadSyntax, RejectsControlBytesInValues) {
  for (std::string bad : {"\0"s, "\x01"s, "\x1b"s, "\x7f"s, "\v"s}) {
    expectRejected(Kind::kRequest, "GET / HTTP/1.1\r\nX: a" + bad + "b\r\n\r\n",
                   "invalid character in header value");
  }
}

TEST(HeadSyntax, RejectsBadRequestLines) {
  expectRejected(Kind::kRequest, "G(T / HTTP/1.1\r\n\r\n", "invalid character in method");
  expectRejected(Kind::kRequest, "GET\0 / HTTP/1.1\r\n\r\n"s, "invalid character in method");
  expectRejected(Kind::kRequest, "GET  / HTTP/1.1\r\n\r\n", "empty request target");
  expectRejected(Kind::kRequest, "GET /a\tb HTTP/1.1\r\n\r\n",
                 "invalid character in request target");
  expectRejected(Kind::kRequest, "GET /\xc3\xa9 HTTP/1.1\r\n\r\n",
                 "invalid character in request target");
  expectRejected(Kind::kRequest, "GET /a b HTTP/1.1\r\n\r\n", "invalid HTTP version");
  expectRejected(Kind::kRequest, "GET /\r\n\r\n", "invalid character in request target");
  expectRejected(Kind::kRequest, "GET / http/1.1\r\n\r\n", "invalid HTTP version");
  expectRejected(Kind::kRequest, "GET / HTTP/1.10\r\n\r\n", "invalid HTTP version");
  expectRejected(Kind::kRequest, "GET / HTTP/1.1 \r\n\r\n", "invalid HTTP version");
  expectRejected(Kind::kResponse, "HTTP/1.1 20 OK\r\n\r\n", "invalid status code");
  expectRejected(Kind::kResponse, "HTTP/1.1 2000 OK\r\n\r\n", "invalid status code");
  expectRejected(Kind::kResponse, "HTTP/1.1  200 OK\r\n\r\n", "invalid status code");
  expectRejected(Kind::kResponse, "ICY 200 OK\r\n\r\n", "invalid HTTP version");
}

TEST(HeadSyntax, ResetStartsTheNextMessage) {
  HeadSyntax syntax(Kind::kRequest);
  std::string_view first = "GET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(syntax.scan(first.data(), first.size()), first.size());
  ASSERT_TRUE(syntax.done());
  syntax.reset();
  std::string_view bad = "GET / HTTP/1.1\r\nX : y\r\n\r\n";
  syntax.scan(bad.data(), bad.size());
  EXPECT_TRUE(syntax.failed());
}

}  // namespace
}  // namespace gourmet::core
