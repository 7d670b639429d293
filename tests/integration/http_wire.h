#pragma once

// The test side's own view of HTTP/1.1 on the wire: header lists, body
// digests, generated payloads and a strict, buffered socket reader. It is
// written independently of llhttp on purpose, so that the integration tests
// check what the proxy really sends rather than what the proxy's own parser
// would accept.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gourmet::testing {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

struct Header {
  std::string name;
  std::string value;
  bool operator==(const Header&) const = default;
};

// Header lines in wire order, duplicates included.
using HeaderList = std::vector<Header>;

bool equalsIgnoreCase(std::string_view a, std::string_view b);
std::string toLower(std::string_view s);

std::optional<std::string> findHeader(const HeaderList& headers, std::string_view name);
std::vector<std::string> findHeaders(const HeaderList& headers, std::string_view name);
size_t countHeaders(const HeaderList& headers, std::string_view name);
// Every value of `name` joined with ", ", the combination RFC 9110 §5.3 allows a
// recipient to make; nullopt when the header is absent.
std::optional<std::string> joinedHeader(const HeaderList& headers, std::string_view name);
// The comma-separated list elements of every `name` header, trimmed and lowercased.
std::vector<std::string> headerTokens(const HeaderList& headers, std::string_view name);
bool hasToken(const HeaderList& headers, std::string_view name, std::string_view token);

// A running digest of a body: byte count, FNV-1a 64 hash and, while the body
// is small, the bytes themselves. Large bodies are never held whole, so a
// 100 MiB transfer costs the test process no more than its read buffer.
class BodyDigest {
 public:
  static constexpr size_t kKeepLimit = 1 << 20;

  void update(std::string_view bytes);
  uint64_t size() const { return size_; }
  uint64_t hash() const { return hash_; }
  // The body, or "" when it was larger than kKeepLimit.
  const std::string& text() const { return bytes_; }

 private:
  uint64_t size_ = 0;
  uint64_t hash_ = 0xcbf29ce484222325ULL;
  std::string bytes_;
};

BodyDigest digestOf(std::string_view bytes);

// Deterministic payloads generated on the fly. The byte at an offset depends
// on the offset's high bits too, so a lost, repeated or reordered block
// changes the hash.
void fillPattern(uint64_t offset, char* out, size_t n);
std::string patternBytes(uint64_t offset, size_t n);
// Digest (size and hash; no bytes kept) of the first `n` pattern bytes.
BodyDigest patternDigest(uint64_t n);

enum class Framing { kNone, kContentLength, kChunked, kUntilClose };
const char* framingName(Framing f);

// A listening TCP socket on 127.0.0.1 (close-on-exec, so gourmet never
// inherits it) on `*port`, or on a kernel-chosen one written to `*port`
// when it is 0; -1 on failure.
int listenOnLoopback(int backlog, uint16_t* port);
// A blocking client socket connected to 127.0.0.1:port with TCP_NODELAY; -1 on
// failure or when the connection is not established within `timeout`.
int connectToLoopback(uint16_t port, Millis timeout);

// Sends every byte or fails; each wait for socket space is bounded by
// `idle_timeout`. Never raises SIGPIPE.
bool sendAll(int fd, std::string_view data, Millis idle_timeout);

// A buffered reader over a blocking socket. Every wait for bytes is bounded
// by the idle timeout, so a proxy that stalls fails the test instead of
// hanging it. Lines must end in CRLF: a bare LF from the proxy is a bug the
// tests want to see.
class SocketReader {
 public:
  SocketReader(int fd, Millis idle_timeout) : fd_(fd), idle_timeout_(idle_timeout) {}

  bool readLine(std::string& line, size_t limit = 64 * 1024);
  // Header lines up to and including the empty line.
  bool readHeaders(HeaderList& headers);
  bool readBody(uint64_t n, BodyDigest& sink);
  bool readChunked(BodyDigest& sink, HeaderList& trailers);
  bool readUntilClose(BodyDigest& sink);
  // True when the peer closes (FIN or RST) within `timeout` and sends no
  // further bytes first.
  bool waitForClose(Millis timeout);

  // Why the last call failed.
  const std::string& error() const { return error_; }
  // The peer closed before the first byte of the current message.
  bool closedCleanly() const { return eof_ && pos_ == buf_.size(); }
  size_t buffered() const { return buf_.size() - pos_; }
  void setIdleTimeout(Millis t) { idle_timeout_ = t; }

 private:
  bool fill();
  bool fail(std::string message);

  int fd_;
  Millis idle_timeout_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  std::string error_;
};

}  // namespace gourmet::testing
