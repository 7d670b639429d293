#include "core/error_page.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace gourmet::core {
namespace {

std::string render(const ErrorResponse& error) {
  std::string out = "stale bytes from an earlier response";
  writeErrorResponse(error, out);
  return out;
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
    ErrorResponse error{.status = 503, .reason = "no_server", .json = json};
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

}  // namespace
}  // namespace gourmet::core
