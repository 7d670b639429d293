#pragma once

// Responses gourmet generates itself (404, 502, 503, ...). Each carries a
// short machine-readable reason (`no_route`, `upstream_connect_refused`, ...)
// so an operator can tell why it happened without a packet capture, and the
// request's id (X-Request-Id), so a client's report finds the log line.
// HTML by default, JSON when the client's Accept mentions application/json.
// Built-in pages name the status, the reason and the request id, never an
// address of gourmet's or of an upstream's.
//
// Operators may replace them with files (error_pages in config, read by
// core/error_page_files.h): a file is served as written, with gourmet's
// status, Content-Type from its extension, Content-Length and X-Request-Id.
//
// The pages are rendered before any request needs them (ErrorPages): a local
// response is one append of prepared bytes plus the request id copied over
// a placeholder, with no formatting and no heap string of its own.

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
  bool head_request = false;      // HEAD: headers only
  std::string_view request_id{};  // RequestId::kSize characters; empty: none sent
};

// Renders a built-in response (head and body) into `out`, replacing what it
// held. ErrorPages prepares these bytes; this is for pages it does not know.
void writeErrorResponse(const ErrorResponse& error, std::string& out);

// Whether an Accept header value asks for JSON.
bool acceptsJson(std::string_view accept);

// The pages one listener or location answers with: gourmet's built-in page
// for every (status, reason) it sends, in HTML and JSON, with and without
// `Connection: close`, and the operator's files over them. Immutable once
// built; a snapshot holds one per distinct set of files (core/route_table.h
// Route::error_pages), and any thread may read it.
class ErrorPages {
 public:
  // An operator's page: `body` is served as is for `status`, or for every
  // status without a file of its own when `status` is 0 (`default`).
  struct File {
    int status = 0;
    std::string_view content_type;  // a static string
    std::shared_ptr<const std::string> body;
  };

  // The built-in pages alone, built once per process.
  static std::shared_ptr<const ErrorPages> standard();
  // The built-in pages under `files` (one per status at most).
  static std::shared_ptr<const ErrorPages> withFiles(const std::vector<File>& files);

  // Appends the page for `error` to `out` and returns how many bytes that
  // was. The page is, in this order: the file for the status, else the
  // `default` file, else the built-in page; a client asking for JSON skips
  // files that are not JSON. Built-in bytes are prepared when (status,
  // reason) is known, else rendered in place (never lost, only slower).
  size_t append(const ErrorResponse& error, std::string& out) const;
  // Whether (status, reason) has prepared built-in bytes.
  bool prepared(int status, std::string_view reason) const;
  // Whether `error` is answered with an operator's file.
  bool fromFile(const ErrorResponse& error) const { return fileFor(error) != nullptr; }

  // The (status, reason) pairs gourmet sends: add a reason here when adding
  // it to the code, so that its page is prepared.
  struct Known {
    int status;
    std::string_view reason;  // a static string
  };
  static std::span<const Known> known();

 private:
  struct Page;  // built-in bytes for one (status, reason)
  struct FilePage {
    int status = 0;         // 0: the `default` file for a status not prepared here
    bool fallback = false;  // the `default` file, prepared for `status`
    bool json = false;
    std::string_view content_type;
    std::array<std::string, 2> head;  // [closing]
    std::array<size_t, 2> id_at{};    // where the request id goes in head[closing]
    std::shared_ptr<const std::string> body;
  };

  const FilePage* fileFor(const ErrorResponse& error) const;

  std::shared_ptr<const std::vector<Page>> builtin_;
  std::vector<FilePage> files_;  // the operator's, then the `default` one's for each status
};

}  // namespace gourmet::core
