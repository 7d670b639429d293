#pragma once

// Responses gourmet generates itself (404, 502, 503, ...). Each carries a
// short machine-readable reason (`no_route`, `upstream_connect_refused`, ...)
// so an operator can tell why it happened without a packet capture. HTML by
// default, JSON when the client's Accept mentions application/json.
//
// The pages are rendered before any request needs them (ErrorPages): a local
// response is one append of prepared bytes, with no formatting and no heap
// string of its own.

#include <array>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gourmet::core {

// The standard reason phrase for a status code ("Bad Gateway"), or "Error".
std::string_view statusText(int status);

struct ErrorResponse {
  int status = 500;
  std::string_view reason;  // machine-readable: no_route, upstream_reset, ...
  bool json = false;
  bool keep_alive = true;
  bool head_request = false;  // HEAD: headers only
};

// Renders a complete response (head and body) into `out`, replacing what it
// held. ErrorPages prepares these bytes; this is for pages it does not know.
void writeErrorResponse(const ErrorResponse& error, std::string& out);

// Whether an Accept header value asks for JSON.
bool acceptsJson(std::string_view accept);

// Every page for the (status, reason) pairs gourmet sends, in HTML and JSON,
// with and without `Connection: close`. Immutable once built; a snapshot
// refers to one (so per-status pages from files can come with a reload),
// and any thread may read it.
class ErrorPages {
 public:
  // The built-in pages, built once per process.
  static std::shared_ptr<const ErrorPages> standard();

  // Appends the page for `error` to `out` and returns how many bytes that
  // was: the prepared bytes when (status, reason) is known, else rendered
  // in place (never lost, only slower).
  size_t append(const ErrorResponse& error, std::string& out) const;
  // Whether (status, reason) has prepared bytes.
  bool prepared(int status, std::string_view reason) const;

  // The (status, reason) pairs gourmet sends: add a reason here when adding
  // it to the code, so that its page is prepared.
  struct Known {
    int status;
    std::string_view reason;  // a static string
  };
  static std::span<const Known> known();

 private:
  struct Page {
    int status = 0;
    std::string_view reason;
    // [json][closing]: head and body; the head is the first head_size bytes.
    std::array<std::array<std::string, 2>, 2> bytes;
    std::array<std::array<size_t, 2>, 2> head_size{};
  };
  std::vector<Page> pages_;
};

}  // namespace gourmet::core
