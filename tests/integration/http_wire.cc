#include "tests/integration/http_wire.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace gourmet::testing {

namespace {

constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kMaxHeaders = 500;

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool isTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c);
}

// Waits until `fd` is ready for `events`; 1 ready, 0 timeout, -1 error.
int waitFd(int fd, short events, Millis timeout) {
  pollfd p{fd, events, 0};
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    const int r = ::poll(&p, 1, static_cast<int>(std::max<Millis::rep>(left.count(), 0)));
    if (r >= 0) return r > 0 ? 1 : 0;
    if (errno != EINTR) return -1;
  }
}

}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> findHeader(const HeaderList& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (equalsIgnoreCase(h.name, name)) return h.value;
  }
  return std::nullopt;
}

std::vector<std::string> findHeaders(const HeaderList& headers, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& h : headers) {
    if (equalsIgnoreCase(h.name, name)) out.push_back(h.value);
  }
  return out;
}

size_t countHeaders(const HeaderList& headers, std::string_view name) {
  return findHeaders(headers, name).size();
}

std::optional<std::string> joinedHeader(const HeaderList& headers, std::string_view name) {
  const auto values = findHeaders(headers, name);
  if (values.empty()) return std::nullopt;
  return fmt::format("{}", fmt::join(values, ", "));
}

std::vector<std::string> headerTokens(const HeaderList& headers, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& value : findHeaders(headers, name)) {
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const auto item = trimOws(rest.substr(0, comma));
      if (!item.empty()) out.push_back(toLower(item));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  return out;
}

bool hasToken(const HeaderList& headers, std::string_view name, std::string_view token) {
  const auto tokens = headerTokens(headers, name);
  return std::find(tokens.begin(), tokens.end(), toLower(token)) != tokens.end();
}

void BodyDigest::update(std::string_view bytes) {
  uint64_t h = hash_;
  for (const char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * kFnvPrime;
  hash_ = h;
  if (size_ + bytes.size() <= kKeepLimit) {
    bytes_.append(bytes);
  } else if (!bytes_.empty()) {
    bytes_.clear();
    bytes_.shrink_to_fit();
  }
  size_ += bytes.size();
}

BodyDigest digestOf(std::string_view bytes) {
  BodyDigest d;
  d.update(bytes);
  return d;
}

void fillPattern(uint64_t offset, char* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint64_t x = offset + i;
    const uint64_t mixed = (x ^ (x >> 16) ^ (x >> 29)) * 0x9E3779B97F4A7C15ULL;
    out[i] = static_cast<char>(mixed >> 56);
  }
}

std::string patternBytes(uint64_t offset, size_t n) {
  std::string s(n, '\0');
  fillPattern(offset, s.data(), n);
  return s;
}

BodyDigest patternDigest(uint64_t n) {
  BodyDigest d;
  std::string block(kReadChunk, '\0');
  for (uint64_t off = 0; off < n; off += block.size()) {
    const size_t len = static_cast<size_t>(std::min<uint64_t>(block.size(), n - off));
    fillPattern(off, block.data(), len);
    d.update(std::string_view(block.data(), len));
  }
  return d;
}

const char* framingName(Framing f) {
  switch (f) {
    case Framing::kNone:
      return "none";
    case Framing::kContentLength:
      return "content-length";
    case Framing::kChunked:
      return "chunked";
    case Framing::kUntilClose:
      return "until-close";
  }
  return "?";
}

int listenOnLoopback(int backlog, uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(*port);
  if (*port != 0) {
    // Listening again where a stopped origin was (its connections may be in
    // TIME_WAIT): what a restarted server does.
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

int connectToLoopback(uint16_t port, Millis timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  int err = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    err = errno;
    if (err == EINPROGRESS && waitFd(fd, POLLOUT, timeout) == 1) {
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
  }
  if (err != 0) {
    ::close(fd);
    return -1;
  }
  // Blocking again: the readers bound every wait with poll().
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool sendAll(int fd, std::string_view data, Millis idle_timeout) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (waitFd(fd, POLLOUT, idle_timeout) != 1) return false;
      continue;
    }
    return false;
  }
  return true;
}

bool SocketReader::fail(std::string message) {
  error_ = std::move(message);
  return false;
}

bool SocketReader::fill() {
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > kReadChunk) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  if (eof_) return fail("connection closed by peer");
  const int ready = waitFd(fd_, POLLIN, idle_timeout_);
  if (ready == 0) {
    return fail(fmt::format("no bytes for {} ms ({} buffered)", idle_timeout_.count(), buffered()));
  }
  if (ready < 0) return fail(fmt::format("poll: {}", std::strerror(errno)));
  const size_t old = buf_.size();
  buf_.resize(old + kReadChunk);
  ssize_t n;
  do {
    n = ::recv(fd_, buf_.data() + old, kReadChunk, 0);
  } while (n < 0 && errno == EINTR);
  buf_.resize(old + static_cast<size_t>(std::max<ssize_t>(n, 0)));
  if (n == 0 || (n < 0 && errno == ECONNRESET)) {
    eof_ = true;
    return fail(n == 0 ? "connection closed by peer" : "connection reset by peer");
  }
  if (n < 0) return fail(fmt::format("recv: {}", std::strerror(errno)));
  return true;
}

bool SocketReader::readLine(std::string& line, size_t limit) {
  for (;;) {
    const size_t lf = buf_.find('\n', pos_);
    if (lf != std::string::npos) {
      if (lf == pos_ || buf_[lf - 1] != '\r') {
        return fail(fmt::format("line ends in bare LF: '{}'", buf_.substr(pos_, lf - pos_)));
      }
      line.assign(buf_, pos_, lf - 1 - pos_);
      pos_ = lf + 1;
      return true;
    }
    if (buffered() > limit) return fail("line too long");
    if (!fill()) return false;
  }
}

bool SocketReader::readHeaders(HeaderList& headers) {
  std::string line;
  for (;;) {
    if (!readLine(line)) return false;
    if (line.empty()) return true;
    if (headers.size() >= kMaxHeaders) return fail("too many header lines");
    if (line.front() == ' ' || line.front() == '\t') {
      return fail(fmt::format("obsolete line folding: '{}'", line));
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      return fail(fmt::format("header line without name: '{}'", line));
    }
    const std::string_view name(line.data(), colon);
    if (!std::all_of(name.begin(), name.end(), isTokenChar)) {
      return fail(fmt::format("invalid header name: '{}'", name));
    }
    headers.push_back(
        {std::string(name), std::string(trimOws(std::string_view(line).substr(colon + 1)))});
  }
}

bool SocketReader::readBody(uint64_t n, BodyDigest& sink) {
  while (n > 0) {
    if (buffered() == 0 && !fill()) {
      return fail(fmt::format("body ended {} bytes early: {}", n, error_));
    }
    const size_t take = static_cast<size_t>(std::min<uint64_t>(n, buffered()));
    sink.update(std::string_view(buf_.data() + pos_, take));
    pos_ += take;
    n -= take;
  }
  return true;
}

bool SocketReader::readChunked(BodyDigest& sink, HeaderList& trailers) {
  std::string line;
  for (;;) {
    if (!readLine(line)) return false;
    const std::string_view size_part = std::string_view(line).substr(0, line.find(';'));
    if (size_part.empty() || size_part.size() > 15 ||
        !std::all_of(size_part.begin(), size_part.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
      return fail(fmt::format("bad chunk size line: '{}'", line));
    }
    const uint64_t size = std::stoull(std::string(size_part), nullptr, 16);
    if (size == 0) return readHeaders(trailers);
    if (!readBody(size, sink)) return false;
    if (!readLine(line)) return false;
    if (!line.empty()) return fail("chunk data not followed by CRLF");
  }
}

bool SocketReader::readUntilClose(BodyDigest& sink) {
  for (;;) {
    if (buffered() > 0) {
      sink.update(std::string_view(buf_.data() + pos_, buffered()));
      pos_ = buf_.size();
    }
    if (!fill()) {
      // A FIN ends a close-delimited body; a reset or a stall loses its tail.
      return eof_ && error_ == "connection closed by peer";
    }
  }
}

bool SocketReader::waitForClose(Millis timeout) {
  if (buffered() > 0) return fail(fmt::format("{} unexpected bytes before close", buffered()));
  const Millis saved = idle_timeout_;
  idle_timeout_ = timeout;
  const bool got_bytes = fill();
  idle_timeout_ = saved;
  if (got_bytes)
    return fail(fmt::format("unexpected bytes instead of close: '{}'", buf_.substr(pos_, 200)));
  return eof_;
}

}  // namespace gourmet::testing
