#include "core/error_page.h"

#include <charconv>

#include "core/http_head.h"

namespace gourmet::core {
namespace {

// The reasons the request path uses (client_connection.cc, client_exchange.cc,
// request_framing.cc, upstream_error.h).
constexpr ErrorPages::Known kKnown[] = {
    {400, "bad_request"},
    {400, "missing_host"},
    {400, "duplicate_host"},
    {400, "bad_request_target"},
    {400, "bad_framing"},
    {404, "no_route"},
    {408, "client_header_timeout"},
    {408, "client_body_timeout"},
    {413, "body_too_large"},
    {414, "uri_too_long"},
    {417, "unsupported_expect"},
    {431, "headers_too_large"},
    {501, "unsupported_transfer_coding"},
    {502, "upstream_connect_refused"},
    {502, "upstream_connect_failed"},
    {502, "upstream_reset"},
    {502, "upstream_invalid_response"},
    {502, "upstream_error"},
    {503, "no_server"},
    {504, "upstream_connect_timeout"},
    {504, "upstream_response_timeout"},
    {505, "unsupported_http_version"},
};

void appendNumber(std::string& out, size_t n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

// The body a GET gets, piece by piece, to `sink`.
template <class Sink>
void bodyPieces(const ErrorResponse& error, std::string_view code, std::string_view text,
                Sink&& sink) {
  if (error.json) {
    for (std::string_view piece :
         {std::string_view(R"({"status":)"), code, std::string_view(R"(,"error":")"), text,
          std::string_view(R"(","reason":")"), error.reason, std::string_view("\"}\n")}) {
      sink(piece);
    }
    return;
  }
  for (std::string_view piece :
       {std::string_view("<!DOCTYPE html>\n<html><head><title>"), code, std::string_view(" "), text,
        std::string_view("</title></head>\n<body><h1>"), code, std::string_view(" "), text,
        std::string_view("</h1>\n<p>reason: "), error.reason,
        std::string_view("</p>\n<hr><p>gourmet</p></body></html>\n")}) {
    sink(piece);
  }
}

// Head then (unless HEAD) body, appended to `out`; returns the head's size.
// Allocates nothing but what `out` grows by.
size_t appendRendered(const ErrorResponse& error, std::string& out) {
  std::string_view text = statusText(error.status);
  std::array<char, 12> status{};
  auto status_end = std::to_chars(status.data(), status.data() + status.size(), error.status).ptr;
  std::string_view code(status.data(), static_cast<size_t>(status_end - status.data()));
  size_t body_size = 0;
  bodyPieces(error, code, text, [&](std::string_view piece) { body_size += piece.size(); });

  size_t start = out.size();
  for (std::string_view piece :
       {std::string_view("HTTP/1.1 "), code, std::string_view(" "), text,
        std::string_view("\r\nContent-Type: "),
        std::string_view(error.json ? "application/json" : "text/html; charset=utf-8"),
        std::string_view("\r\nContent-Length: ")}) {
    out.append(piece);
  }
  appendNumber(out, body_size);
  out.append("\r\nCache-Control: no-store\r\n");
  if (!error.keep_alive) out.append("Connection: close\r\n");
  out.append("\r\n");
  size_t head_size = out.size() - start;
  if (!error.head_request) {
    bodyPieces(error, code, text, [&](std::string_view piece) { out.append(piece); });
  }
  return head_size;
}

}  // namespace

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
  out.clear();
  appendRendered(error, out);
}

std::span<const ErrorPages::Known> ErrorPages::known() { return kKnown; }

std::shared_ptr<const ErrorPages> ErrorPages::standard() {
  static const std::shared_ptr<const ErrorPages> pages = [] {
    auto built = std::make_shared<ErrorPages>();
    for (const Known& known : kKnown) {
      Page page;
      page.status = known.status;
      page.reason = known.reason;
      for (int json = 0; json < 2; ++json) {
        for (int closing = 0; closing < 2; ++closing) {
          ErrorResponse error{.status = known.status,
                              .reason = known.reason,
                              .json = json == 1,
                              .keep_alive = closing == 0};
          page.head_size[json][closing] = appendRendered(error, page.bytes[json][closing]);
        }
      }
      built->pages_.push_back(std::move(page));
    }
    return built;
  }();
  return pages;
}

bool ErrorPages::prepared(int status, std::string_view reason) const {
  for (const Page& page : pages_) {
    if (page.status == status && page.reason == reason) return true;
  }
  return false;
}

size_t ErrorPages::append(const ErrorResponse& error, std::string& out) const {
  for (const Page& page : pages_) {
    if (page.status != error.status || page.reason != error.reason) continue;
    const int json = error.json ? 1 : 0, closing = error.keep_alive ? 0 : 1;
    const std::string& bytes = page.bytes[json][closing];
    size_t size = error.head_request ? page.head_size[json][closing] : bytes.size();
    out.append(bytes.data(), size);
    return size;
  }
  size_t before = out.size();
  appendRendered(error, out);
  return out.size() - before;
}

}  // namespace gourmet::core
