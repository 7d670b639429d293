#include "core/error_page.h"

#include <fmt/format.h>

#include "core/http_head.h"

namespace gourmet::core {

std::string_view statusText(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

bool acceptsJson(std::string_view accept) {
  // Media types are case-insensitive (RFC 9110 section 8.3.1).
  constexpr std::string_view kJson = "application/json";
  for (size_t i = 0; i + kJson.size() <= accept.size(); ++i) {
    if (equalsIgnoreCase(accept.substr(i, kJson.size()), kJson)) return true;
  }
  return false;
}

void writeErrorResponse(const ErrorResponse& error, std::string& out) {
  std::string_view text = statusText(error.status);
  std::string body;
  if (error.json) {
    body = fmt::format(R"({{"status":{},"error":"{}","reason":"{}"}})"
                       "\n",
                       error.status, text, error.reason);
  } else {
    body = fmt::format(
        "<!DOCTYPE html>\n<html><head><title>{0} {1}</title></head>\n"
        "<body><h1>{0} {1}</h1>\n<p>reason: {2}</p>\n<hr><p>gourmet</p></body></html>\n",
        error.status, text, error.reason);
  }
  out.clear();
  fmt::format_to(std::back_inserter(out),
                 "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
                 "Cache-Control: no-store\r\n{}\r\n",
                 error.status, text, error.json ? "application/json" : "text/html; charset=utf-8",
                 body.size(), error.keep_alive ? "" : "Connection: close\r\n");
  if (!error.head_request) out.append(body);
}

}  // namespace gourmet::core
