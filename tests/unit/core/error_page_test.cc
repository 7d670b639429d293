#include "core/error_page.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/upstream_error.h"

namespace gourmet::core {
namespace {

std::string render(const ErrorResponse& error) {
  std::string out = "stale bytes from an earlier response";
  writeErrorResponse(error, out);
  return out;
}

// The renderer as it was before pages were prepared (fmt per response), with
// the request id where it goes: the prepared bytes must be exactly these.
std::string reference(const ErrorResponse& error) {
  std::string_view text = statusText(error.status);
  const bool id = !error.request_id.empty();
  std::string body;
  if (error.json) {
    body = fmt::format(R"({{"status":{},"error":"{}","reason":"{}"{}}})"
                       "\n",
                       error.status, text, error.reason,
                       id ? fmt::format(R"(,"request_id":"{}")", error.request_id) : "");
  } else {
    body = fmt::format(
        "<!DOCTYPE html>\n<html><head><title>{0} {1}</title></head>\n"
        "<body><h1>{0} {1}</h1>\n<p>reason: {2}</p>\n{3}<hr><p>gourmet</p></body></html>\n",
        error.status, text, error.reason,
        id ? fmt::format("<p>request id: {}</p>\n", error.request_id) : "");
  }
  std::string out = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
      "Cache-Control: no-store\r\n{}{}\r\n",
      error.status, text, error.json ? "application/json" : "text/html; charset=utf-8", body.size(),
      id ? fmt::format("X-Request-Id: {}\r\n", error.request_id) : "",
      error.keep_alive ? "" : "Connection: close\r\n");
  if (!error.head_request) out.append(body);
  return out;
}

constexpr std::string_view kId = "a3f100200000002a";

// Every flavour of one (status, reason).
std::vector<ErrorResponse> flavours(int status, std::string_view reason) {
  std::vector<ErrorResponse> all;
  for (bool json : {false, true}) {
    for (bool keep_alive : {false, true}) {
      for (bool head : {false, true}) {
        for (std::string_view id : {std::string_view(), kId}) {
          all.push_back({.status = status,
                         .reason = reason,
                         .json = json,
                         .keep_alive = keep_alive,
                         .head_request = head,
                         .request_id = id});
        }
      }
    }
  }
  return all;
}

std::string describe(const ErrorResponse& e) {
  return fmt::format("{} {} json={} keep_alive={} head={} id={}", e.status, e.reason, e.json,
                     e.keep_alive, e.head_request, e.request_id);
}

struct Split {
  std::string head;  // up to and including the blank line
  std::string body;
};

Split split(const std::string& response) {
  size_t end = response.find("\r\n\r\n");
  EXPECT_NE(end, std::string::npos) << response;
  if (end == std::string::npos) return {response, ""};
  return {response.substr(0, end + 4), response.substr(end + 4)};
}

size_t occurrences(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

TEST(ErrorPage, JsonBodyIsExact) {
  const std::string body =
      "{\"status\":502,\"error\":\"Bad Gateway\",\"reason\":\"upstream_connect_refused\"}\n";
  ASSERT_EQ(body.size(), 73u);
  EXPECT_EQ(render({.status = 502, .reason = "upstream_connect_refused", .json = true}),
            "HTTP/1.1 502 Bad Gateway\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 73\r\n"
            "Cache-Control: no-store\r\n"
            "\r\n" +
                body);
}

TEST(ErrorPage, HtmlNamesStatusTextAndReason) {
  Split response = split(render({.status = 404, .reason = "no_route"}));
  EXPECT_EQ(response.head,
            "HTTP/1.1 404 Not Found\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "Content-Length: " +
                std::to_string(response.body.size()) +
                "\r\n"
                "Cache-Control: no-store\r\n"
                "\r\n");
  EXPECT_EQ(response.body.rfind("<!DOCTYPE html>", 0), 0u) << response.body;
  EXPECT_EQ(occurrences(response.body, "404 Not Found"), 2u) << response.body;  // title and h1
  EXPECT_EQ(occurrences(response.body, "<title>404 Not Found</title>"), 1u) << response.body;
  EXPECT_EQ(occurrences(response.body, "<h1>404 Not Found</h1>"), 1u) << response.body;
  EXPECT_EQ(occurrences(response.body, "reason: no_route"), 1u) << response.body;
  EXPECT_EQ(response.body.back(), '\n');
}

TEST(ErrorPage, ContentLengthMatchesTheBodyForEveryStatus) {
  for (int status : {400, 404, 408, 413, 414, 431, 502, 503, 504, 599}) {
    for (bool json : {false, true}) {
      Split response = split(render({.status = status, .reason = "some_reason", .json = json}));
      std::string length = "\r\nContent-Length: " + std::to_string(response.body.size()) + "\r\n";
      EXPECT_EQ(occurrences(response.head, length), 1u) << status << " json=" << json;
      EXPECT_EQ(response.head.rfind("HTTP/1.1 " + std::to_string(status) + " " +
                                        std::string(statusText(status)) + "\r\n",
                                    0),
                0u)
          << response.head;
    }
  }
}

TEST(ErrorPage, HeadRequestGetsTheSameHeadAndNoBody) {
  for (bool json : {false, true}) {
    ErrorResponse error{.status = 503, .reason = "no_healthy_server", .json = json};
    std::string full = render(error);
    error.head_request = true;
    std::string head_only = render(error);
    EXPECT_EQ(head_only, split(full).head) << "json=" << json;
    EXPECT_NE(split(full).body, "");
    // The Content-Length is that of the body a GET would have received.
    EXPECT_NE(head_only.find("Content-Length: " + std::to_string(split(full).body.size()) + "\r\n"),
              std::string::npos);
  }
}

TEST(ErrorPage, ConnectionCloseOnlyWhenNotKeepingAlive) {
  std::string closing = render({.status = 400, .reason = "bad_request", .keep_alive = false});
  EXPECT_EQ(split(closing).head,
            "HTTP/1.1 400 Bad Request\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "Content-Length: " +
                std::to_string(split(closing).body.size()) +
                "\r\n"
                "Cache-Control: no-store\r\n"
                "Connection: close\r\n"
                "\r\n");
  std::string keeping = render({.status = 400, .reason = "bad_request", .keep_alive = true});
  EXPECT_EQ(occurrences(keeping, "Connection"), 0u) << keeping;

  EXPECT_EQ(render({.status = 504,
                    .reason = "upstream_response_timeout",
                    .json = true,
                    .keep_alive = false,
                    .head_request = true}),
            "HTTP/1.1 504 Gateway Timeout\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: 78\r\n"  // the JSON body a GET would get
            "Cache-Control: no-store\r\n"
            "Connection: close\r\n"
            "\r\n");
}

TEST(StatusText, StandardPhrasesAndAFallback) {
  EXPECT_EQ(statusText(400), "Bad Request");
  EXPECT_EQ(statusText(404), "Not Found");
  EXPECT_EQ(statusText(408), "Request Timeout");
  EXPECT_EQ(statusText(413), "Content Too Large");
  EXPECT_EQ(statusText(414), "URI Too Long");
  EXPECT_EQ(statusText(431), "Request Header Fields Too Large");
  EXPECT_EQ(statusText(500), "Internal Server Error");
  EXPECT_EQ(statusText(502), "Bad Gateway");
  EXPECT_EQ(statusText(503), "Service Unavailable");
  EXPECT_EQ(statusText(504), "Gateway Timeout");
  EXPECT_EQ(statusText(200), "Error");
  EXPECT_EQ(statusText(599), "Error");
}

TEST(AcceptsJson, LooksForApplicationJsonAnywhereInTheList) {
  EXPECT_TRUE(acceptsJson("application/json"));
  EXPECT_TRUE(acceptsJson("text/html;q=0.9, application/json"));
  EXPECT_TRUE(acceptsJson("application/json; charset=utf-8"));
  EXPECT_TRUE(acceptsJson("Application/JSON"));  // media types ignore case
  EXPECT_FALSE(acceptsJson(""));
  EXPECT_FALSE(acceptsJson("*/*"));
  EXPECT_FALSE(acceptsJson("text/html"));
  EXPECT_FALSE(acceptsJson("application/xml, text/json"));
  EXPECT_FALSE(acceptsJson("application/jso"));
}

TEST(ErrorPages, PreparedBytesAreWhatTheFormatterWrote) {
  const ErrorPages& pages = *ErrorPages::standard();
  ASSERT_FALSE(ErrorPages::known().empty());
  for (const ErrorPages::Known& known : ErrorPages::known()) {
    EXPECT_TRUE(pages.prepared(known.status, known.reason)) << known.reason;
    for (const ErrorResponse& error : flavours(known.status, known.reason)) {
      std::string out = "queued bytes|";
      size_t written = pages.append(error, out);
      EXPECT_EQ(out, "queued bytes|" + reference(error)) << describe(error);
      EXPECT_EQ(written, reference(error).size()) << describe(error);
    }
  }
}

TEST(ErrorPages, UnknownReasonIsRenderedInPlaceWithTheSameBytes) {
  const ErrorPages& pages = *ErrorPages::standard();
  for (int status : {400, 418, 502, 599}) {
    EXPECT_FALSE(pages.prepared(status, "not_a_known_reason"));
    for (const ErrorResponse& error : flavours(status, "not_a_known_reason")) {
      std::string out = "before|";
      size_t written = pages.append(error, out);
      EXPECT_EQ(out, "before|" + reference(error)) << describe(error);
      EXPECT_EQ(written, reference(error).size());
      EXPECT_EQ(render(error), reference(error)) << describe(error);
    }
  }
  // A known reason under another status is another page.
  EXPECT_FALSE(pages.prepared(500, "no_route"));
}

TEST(ErrorPages, EveryUpstreamErrorHasAPreparedPage) {
  const ErrorPages& pages = *ErrorPages::standard();
  for (UpstreamError error : {UpstreamError::kConnectRefused, UpstreamError::kConnectFailed,
                              UpstreamError::kConnectTimeout, UpstreamError::kReset,
                              UpstreamError::kInvalidResponse, UpstreamError::kResponseTimeout}) {
    EXPECT_TRUE(pages.prepared(upstreamErrorStatus(error), upstreamErrorReason(error)))
        << upstreamErrorReason(error);
  }
}

TEST(ErrorPage, RequestIdInHeaderAndBodyOfBothFormats) {
  for (bool json : {false, true}) {
    std::string out;
    ErrorResponse error{.status = 502, .reason = "upstream_reset", .json = json, .request_id = kId};
    ErrorPages::standard()->append(error, out);
    Split response = split(out);
    EXPECT_EQ(occurrences(response.head, "\r\nX-Request-Id: a3f100200000002a\r\n"), 1u) << out;
    EXPECT_EQ(occurrences(response.body, kId), 1u) << out;
    EXPECT_NE(response.body.find(json ? R"("request_id":"a3f100200000002a")"
                                      : "<p>request id: a3f100200000002a</p>"),
              std::string::npos)
        << out;
  }
}

TEST(ErrorPage, PreparedPagesCarryEachRequestsOwnId) {
  const ErrorPages& pages = *ErrorPages::standard();
  std::string first, second;
  pages.append({.status = 503, .reason = "no_healthy_server", .request_id = "0000000000000001"},
               first);
  pages.append({.status = 503, .reason = "no_healthy_server", .request_id = "00000000000000ff"},
               second);
  EXPECT_NE(first.find("0000000000000001"), std::string::npos);
  EXPECT_EQ(first.find("00000000000000ff"), std::string::npos) << "no id left from another page";
  EXPECT_EQ(occurrences(second, "00000000000000ff"), 2u) << second;  // header and body
  for (char c : first + second) {
    EXPECT_TRUE(c == '\r' || c == '\n' || (c >= 0x20 && c < 0x7f)) << int(c);
  }
}

TEST(ErrorPage, BuiltInPagesNameNoAddress) {
  for (const ErrorPages::Known& known : ErrorPages::known()) {
    for (const ErrorResponse& error : flavours(known.status, known.reason)) {
      std::string out;
      ErrorPages::standard()->append(error, out);
      EXPECT_EQ(out.find("127.0.0.1"), std::string::npos) << describe(error);
    }
  }
}

TEST(ErrorPages, BuiltOncePerProcess) {
  EXPECT_EQ(ErrorPages::standard().get(), ErrorPages::standard().get());
}

}  // namespace
}  // namespace gourmet::core
