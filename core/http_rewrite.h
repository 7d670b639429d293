#pragma once

// Re-serialisation of message heads as they cross the proxy. The upstream
// request is always written from the parsed head, never copied from the
// client's bytes, so nothing the parser did not understand passes through.
// Hop-by-hop headers (RFC 9110 section 7.6.1) and every header the message's
// Connection header names are removed; framing headers are rewritten to
// match how gourmet frames the body on the next hop.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/http_head.h"

namespace gourmet::core {

enum class BodyFraming {
  kNone,           // no body (HEAD, 204, 304, GET without body)
  kContentLength,  // Content-Length: N
  kChunked,        // Transfer-Encoding: chunked
  kUntilClose,     // response delimited by closing the connection
};

struct UpstreamRequest {
  std::string_view method;
  std::string_view path;   // forwarded path, starting with '/'
  std::string_view query;  // "?a=b" or empty
  std::string_view host;   // Host to send: the client's (or absolute-form authority)
  std::string_view client_ip;
  // The scheme the client spoke to gourmet (the listener's): X-Forwarded-Proto.
  std::string_view proto;
  // X-Forwarded-For: only `client_ip` (server.x_forwarded_for: replace), or
  // the client's own list with `client_ip` appended.
  bool replace_forwarded_for = false;
  bool client_http10 = false;
  BodyFraming body = BodyFraming::kNone;
  uint64_t content_length = 0;
};

void writeUpstreamRequestHead(const MessageHead& client, const UpstreamRequest& request,
                              std::string& out);

struct DownstreamResponse {
  int status = 200;
  std::string_view reason;
  BodyFraming body = BodyFraming::kNone;
  bool keep_alive = true;
  bool client_http10 = false;
  bool upstream_http10 = false;
};

void writeDownstreamResponseHead(const MessageHead& upstream, const DownstreamResponse& response,
                                 std::string& out);

// True for headers that never cross a hop whatever Connection says.
bool isHopByHop(std::string_view name);

}  // namespace gourmet::core
