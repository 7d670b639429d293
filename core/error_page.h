#pragma once

// Responses gourmet generates itself (404, 502, 503, ...). Each carries a
// short machine-readable reason (`no_route`, `upstream_connect_refused`, ...)
// so an operator can tell why it happened without a packet capture. HTML by
// default, JSON when the client's Accept mentions application/json.

#include <string>
#include <string_view>

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

// Writes a complete response (head and body) to `out`.
void writeErrorResponse(const ErrorResponse& error, std::string& out);

// Whether an Accept header value asks for JSON.
bool acceptsJson(std::string_view accept);

}  // namespace gourmet::core
