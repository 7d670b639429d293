#pragma once

// A raw HTTP/1.1 client for talking to the proxy: it sends exactly the bytes
// a test gives it and parses responses with the test side's own strict
// reader, so that framing mistakes by the proxy show up as failures.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/http_wire.h"

namespace gourmet::testing {

using namespace std::chrono_literals;

struct Response {
  std::string version;
  int status = 0;
  std::string reason;
  HeaderList headers;
  HeaderList trailers;
  Framing framing = Framing::kNone;
  BodyDigest body;

  std::optional<std::string> header(std::string_view name) const {
    return findHeader(headers, name);
  }
  const std::string& text() const { return body.text(); }
};

// Request bytes: the request line, `headers` in order, then `body`. A
// Content-Length is added when there is a body and the headers frame none.
std::string buildRequest(std::string_view method, std::string_view target,
                         const HeaderList& headers, std::string_view body = {},
                         std::string_view version = "HTTP/1.1");
// GET with only a Host header.
std::string getRequest(std::string_view target, std::string_view host = "test.local");
// `body` in chunks of `chunk_size`, ending with the last chunk and no trailers.
std::string encodeChunked(std::string_view body, size_t chunk_size);

class RawClient {
 public:
  explicit RawClient(uint16_t port, Millis idle_timeout = 5s);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  bool send(std::string_view bytes);
  // Sends `n` pattern bytes starting at `offset` (see fillPattern), raw or
  // as chunks of `chunk_size` followed by the last chunk.
  bool sendPattern(uint64_t offset, uint64_t n);
  bool sendPatternChunked(uint64_t n, size_t chunk_size);

  // One response, interim 1xx included; `to_head` when it answers a HEAD.
  std::optional<Response> readResponse(bool to_head = false);
  // The next final (non-1xx) response.
  std::optional<Response> readFinalResponse(bool to_head = false);
  // Reads the head and then at most `limit` body bytes; used to stall a
  // download half way. Returns the head; body bytes go to `sink`.
  std::optional<Response> readHeadAndPartOfBody(uint64_t limit, BodyDigest& sink);
  // Continues a body started by readHeadAndPartOfBody().
  bool readRestOfBody(const Response& head, uint64_t already_read, BodyDigest& sink);

  // True when the proxy closes the connection within `timeout` without
  // sending anything more.
  bool waitForClose(Millis timeout = 5s);
  void setIdleTimeout(Millis t) { reader_.setIdleTimeout(t); }

  const std::string& error() const { return error_; }

 private:
  bool readHead(Response& r);
  std::optional<Response> failed(std::string message);

  int fd_;
  SocketReader reader_;
  std::string error_;
};

// One request on a fresh connection; nullopt with `error` set on failure.
std::optional<Response> roundTrip(uint16_t port, std::string_view request,
                                  std::string* error = nullptr, bool to_head = false);

// Sends every request in a single write, then reads as many final responses.
// Stops at the first failure, so a short result means a lost response.
std::vector<Response> pipeline(RawClient& client, const std::vector<std::string>& requests);

}  // namespace gourmet::testing
