#include "core/error_page.h"

#include <algorithm>
#include <charconv>

#include "core/http_head.h"
#include "core/request_id.h"

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
    {503, "no_healthy_server"},
    {503, "upstream_overflow"},
    {504, "upstream_connect_timeout"},
    {504, "upstream_response_timeout"},
    {505, "unsupported_http_version"},
};

// Stands for the request id in prepared bytes, found once when they are
// built; nothing else in a page is a control character.
constexpr std::string_view kIdPlaceholder =
    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01";
static_assert(kIdPlaceholder.size() == RequestId::kSize);

constexpr std::string_view kHtml = "text/html; charset=utf-8";
constexpr std::string_view kJson = "application/json";

void appendNumber(std::string& out, size_t n) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

// The body a GET gets, piece by piece, to `sink`.
template <class Sink>
void bodyPieces(const ErrorResponse& error, std::string_view code, std::string_view text,
                Sink&& sink) {
  const bool id = !error.request_id.empty();
  if (error.json) {
    for (std::string_view piece :
         {std::string_view(R"({"status":)"), code, std::string_view(R"(,"error":")"), text,
          std::string_view(R"(","reason":")"), error.reason,
          std::string_view(id ? R"(","request_id":")" : ""), error.request_id,
          std::string_view("\"}\n")}) {
      sink(piece);
    }
    return;
  }
  for (std::string_view piece :
       {std::string_view("<!DOCTYPE html>\n<html><head><title>"), code, std::string_view(" "), text,
        std::string_view("</title></head>\n<body><h1>"), code, std::string_view(" "), text,
        std::string_view("</h1>\n<p>reason: "), error.reason,
        std::string_view(id ? "</p>\n<p>request id: " : ""), error.request_id,
        std::string_view("</p>\n<hr><p>gourmet</p></body></html>\n")}) {
    sink(piece);
  }
}

// The head of every local response, built-in or from a file.
void appendHead(int status, std::string_view content_type, size_t body_size,
                std::string_view request_id, bool keep_alive, std::string& out) {
  std::array<char, 12> digits{};
  auto end = std::to_chars(digits.data(), digits.data() + digits.size(), status).ptr;
  for (std::string_view piece :
       {std::string_view("HTTP/1.1 "),
        std::string_view(digits.data(), static_cast<size_t>(end - digits.data())),
        std::string_view(" "), statusText(status), std::string_view("\r\nContent-Type: "),
        content_type, std::string_view("\r\nContent-Length: ")}) {
    out.append(piece);
  }
  appendNumber(out, body_size);
  out.append("\r\nCache-Control: no-store\r\n");
  if (!request_id.empty()) {
    out.append("X-Request-Id: ");
    out.append(request_id);
    out.append("\r\n");
  }
  if (!keep_alive) out.append("Connection: close\r\n");
  out.append("\r\n");
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
  appendHead(error.status, error.json ? kJson : kHtml, body_size, error.request_id,
             error.keep_alive, out);
  size_t head_size = out.size() - start;
  if (!error.head_request) {
    bodyPieces(error, code, text, [&](std::string_view piece) { out.append(piece); });
  }
  return head_size;
}

// Where the placeholder is in `bytes` from `from` on; the zeros of an
// unset id take its place, so no control character can ever be sent.
size_t takePlaceholder(std::string& bytes, size_t from) {
  size_t at = bytes.find(kIdPlaceholder, from);
  bytes.replace(at, kIdPlaceholder.size(), RequestId().view());
  return at;
}

void copyId(std::string& out, size_t at, std::string_view id) {
  std::copy(id.begin(), id.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
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

struct ErrorPages::Page {
  int status = 0;
  std::string_view reason;
  // [json][closing]: head and body; the head is the first head_size bytes.
  std::array<std::array<std::string, 2>, 2> bytes;
  std::array<std::array<size_t, 2>, 2> head_size{};
  // Where the request id goes in the head and in the body.
  std::array<std::array<size_t, 2>, 2> id_in_head{}, id_in_body{};
};

std::span<const ErrorPages::Known> ErrorPages::known() { return kKnown; }

std::shared_ptr<const ErrorPages> ErrorPages::standard() {
  static const std::shared_ptr<const ErrorPages> pages = [] {
    auto table = std::make_shared<std::vector<Page>>();
    for (const Known& known : kKnown) {
      Page page;
      page.status = known.status;
      page.reason = known.reason;
      for (int json = 0; json < 2; ++json) {
        for (int closing = 0; closing < 2; ++closing) {
          ErrorResponse error{.status = known.status,
                              .reason = known.reason,
                              .json = json == 1,
                              .keep_alive = closing == 0,
                              .request_id = kIdPlaceholder};
          std::string& bytes = page.bytes[json][closing];
          const size_t head = appendRendered(error, bytes);
          page.head_size[json][closing] = head;
          page.id_in_head[json][closing] = takePlaceholder(bytes, 0);
          page.id_in_body[json][closing] = takePlaceholder(bytes, head);
        }
      }
      table->push_back(std::move(page));
    }
    auto built = std::make_shared<ErrorPages>();
    built->builtin_ = std::move(table);
    return built;
  }();
  return pages;
}

namespace {

// The statuses gourmet answers itself, each once.
std::vector<int> knownStatuses() {
  std::vector<int> statuses;
  for (const ErrorPages::Known& known : kKnown) {
    if (std::find(statuses.begin(), statuses.end(), known.status) == statuses.end()) {
      statuses.push_back(known.status);
    }
  }
  return statuses;
}

}  // namespace

std::shared_ptr<const ErrorPages> ErrorPages::withFiles(const std::vector<File>& files) {
  auto built = std::make_shared<ErrorPages>();
  built->builtin_ = standard()->builtin_;
  auto add = [&](const File& file, int status, bool fallback) {
    FilePage page;
    page.status = status;
    page.fallback = fallback;
    page.json = file.content_type == kJson;
    page.content_type = file.content_type;
    page.body = file.body;
    for (int closing = 0; status != 0 && closing < 2; ++closing) {
      appendHead(status, file.content_type, file.body->size(), kIdPlaceholder, closing == 0,
                 page.head[closing]);
      page.id_at[closing] = takePlaceholder(page.head[closing], 0);
    }
    built->files_.push_back(std::move(page));
  };
  for (const File& file : files) {
    if (file.status != 0) add(file, file.status, false);
  }
  for (const File& file : files) {
    if (file.status != 0) continue;
    // Prepared for every status gourmet sends; others get their head made
    // when they happen.
    for (int status : knownStatuses()) add(file, status, true);
    add(file, 0, true);
  }
  return built;
}

const ErrorPages::FilePage* ErrorPages::fileFor(const ErrorResponse& error) const {
  const FilePage* own = nullptr;
  const FilePage* fallback = nullptr;
  for (const FilePage& page : files_) {
    if (page.status == error.status) {
      (page.fallback ? fallback : own) = &page;
      if (page.fallback) break;  // the operator's come first
    } else if (page.status == 0 && fallback == nullptr) {
      fallback = &page;
    }
  }
  // A JSON client gets gourmet's JSON rather than a page that is not JSON.
  for (const FilePage* page : {own, fallback}) {
    if (page != nullptr && (!error.json || page->json)) return page;
  }
  return nullptr;
}

bool ErrorPages::prepared(int status, std::string_view reason) const {
  for (const Page& page : *builtin_) {
    if (page.status == status && page.reason == reason) return true;
  }
  return false;
}

size_t ErrorPages::append(const ErrorResponse& error, std::string& out) const {
  const size_t start = out.size();
  const bool with_id = error.request_id.size() == RequestId::kSize;
  if (const FilePage* file = fileFor(error)) {
    const int closing = error.keep_alive ? 0 : 1;
    if (file->status != 0 && with_id) {
      out.append(file->head[closing]);
      copyId(out, start + file->id_at[closing], error.request_id);
    } else {
      appendHead(error.status, file->content_type, file->body->size(), error.request_id,
                 error.keep_alive, out);
    }
    if (!error.head_request) out.append(*file->body);
    return out.size() - start;
  }
  if (with_id) {
    for (const Page& page : *builtin_) {
      if (page.status != error.status || page.reason != error.reason) continue;
      const int json = error.json ? 1 : 0, closing = error.keep_alive ? 0 : 1;
      const std::string& bytes = page.bytes[json][closing];
      const size_t head_size = page.head_size[json][closing];
      out.append(bytes.data(), error.head_request ? head_size : bytes.size());
      copyId(out, start + page.id_in_head[json][closing], error.request_id);
      if (!error.head_request)
        copyId(out, start + page.id_in_body[json][closing], error.request_id);
      return out.size() - start;
    }
  }
  appendRendered(error, out);
  return out.size() - start;
}

}  // namespace gourmet::core
