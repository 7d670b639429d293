#include "tests/integration/test_origin.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace gourmet::testing {

namespace {

// Long enough that an idle pooled connection is never closed by the origin
// unless a test asks for it; stop() breaks the wait anyway.
constexpr Millis kOriginIdleTimeout{120'000};
constexpr size_t kGenerateBlock = 64 * 1024;

bool wantsClose(const Request& r) {
  if (hasToken(r.headers, "connection", "close")) return true;
  return r.version == "HTTP/1.0" && !hasToken(r.headers, "connection", "keep-alive");
}

bool allDigits(std::string_view s) {
  return !s.empty() && s.size() <= 18 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

}  // namespace

Reply Reply::text(int status, std::string reason, std::string body) {
  Reply r;
  r.status = status;
  r.reason = std::move(reason);
  r.body = std::move(body);
  r.headers = {{"Content-Type", "text/plain"}};
  return r;
}

Reply echoTarget(const Request& request) { return Reply::text(200, "OK", request.target); }

TestOrigin::TestOrigin(Handler handler) : TestOrigin(std::move(handler), 0) {}

TestOrigin::TestOrigin(Handler handler, uint16_t port) : handler_(std::move(handler)) {
  port_ = port;
  listen_fd_ = listenOnLoopback(SOMAXCONN, &port_);
  if (listen_fd_ < 0) throw std::runtime_error("TestOrigin: cannot listen on 127.0.0.1");
  acceptor_ = std::thread([this] { acceptLoop(); });
}

TestOrigin::~TestOrigin() { stop(); }

std::string TestOrigin::address() const { return fmt::format("127.0.0.1:{}", port_); }

std::vector<Request> TestOrigin::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

size_t TestOrigin::requestCount() const {
  std::lock_guard lock(mu_);
  return requests_.size();
}

std::vector<std::string> TestOrigin::protocolErrors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

bool TestOrigin::waitForRequests(size_t n, Millis timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

bool TestOrigin::waitForSendingToStall(Millis quiet, Millis timeout) const {
  const auto deadline = Clock::now() + timeout;
  uint64_t last = bodyBytesSent();
  auto last_change = Clock::now();
  for (;;) {
    const uint64_t now = bodyBytesSent();
    if (now != last) {
      last = now;
      last_change = Clock::now();
    }
    if (Clock::now() - last_change >= quiet) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Millis{5});
  }
}

void TestOrigin::recordError(std::string message) {
  std::lock_guard lock(mu_);
  errors_.push_back(std::move(message));
}

void TestOrigin::stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard lock(mu_);
    cv_.notify_all();  // wakes handlers sleeping in sleepUnlessStopped
  }
  ::shutdown(listen_fd_, SHUT_RDWR);  // makes the blocked accept() return
  acceptor_.join();
  ::close(listen_fd_);
  for (auto& conn : connections_) ::shutdown(conn->fd, SHUT_RDWR);
  for (auto& conn : connections_) {
    conn->thread.join();
    ::close(conn->fd);
  }
  connections_.clear();
}

void TestOrigin::acceptLoop() {
  int next_id = 0;
  while (!stopping_.load()) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    if (stopping_.load()) {
      ::close(fd);
      return;
    }
    // Head and body go out in separate writes; Nagle would add delayed-ACK stalls.
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    connections_accepted_.fetch_add(1);
    reapFinished();
    auto conn = std::make_unique<Connection>();
    conn->fd = fd;
    conn->id = ++next_id;
    Connection* raw = conn.get();
    connections_.push_back(std::move(conn));
    raw->thread = std::thread([this, raw] { serve(*raw); });
  }
}

// Closes finished connections here, on the acceptor, so that a descriptor is
// never closed while stop() might still shut it down.
void TestOrigin::reapFinished() {
  auto finished = std::stable_partition(connections_.begin(), connections_.end(),
                                        [](const auto& c) { return !c->done.load(); });
  for (auto it = finished; it != connections_.end(); ++it) {
    (*it)->thread.join();
    ::close((*it)->fd);
  }
  connections_.erase(finished, connections_.end());
}

void TestOrigin::serve(Connection& conn) {
  SocketReader reader(conn.fd, kOriginIdleTimeout);
  for (int index = 0; !stopping_.load(); ++index) {
    Request request;
    const ReadResult result = readRequest(reader, conn, request, index);
    if (result != ReadResult::kOk) break;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(request);
      cv_.notify_all();
    }
    bool keep_open = false;
    if (!sendReply(conn.fd, request, handler_(request), keep_open) || !keep_open) break;
  }
  // FIN now; the descriptor itself is closed by reapFinished() or stop().
  ::shutdown(conn.fd, SHUT_RDWR);
  conn.done.store(true);
}

TestOrigin::ReadResult TestOrigin::readRequest(SocketReader& reader, Connection& conn,
                                               Request& request, int index) {
  // An idle connection closed by the proxy (or by stop()) is not an error.
  std::string line;
  if (!reader.readLine(line, 64 * 1024)) {
    if (reader.closedCleanly() || stopping_.load()) return ReadResult::kClosed;
    return fail(conn, reader.error());
  }
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos || line.find(' ', sp2 + 1) != std::string::npos || sp1 == 0 ||
      sp2 == sp1 + 1) {
    return fail(conn, fmt::format("bad request line: '{}'", line));
  }
  request.method = line.substr(0, sp1);
  request.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  request.version = line.substr(sp2 + 1);
  request.connection_id = conn.id;
  request.index_on_connection = index;
  if (request.version != "HTTP/1.1" && request.version != "HTTP/1.0") {
    return fail(conn, fmt::format("bad version in request line: '{}'", line));
  }
  if (!reader.readHeaders(request.headers)) return fail(conn, reader.error());

  const auto te = headerTokens(request.headers, "transfer-encoding");
  const auto cl = findHeaders(request.headers, "content-length");
  uint64_t length = 0;
  if (!te.empty()) {
    if (te.back() != "chunked" || !cl.empty()) {
      return fail(conn, fmt::format("bad framing: transfer-encoding '{}', {} content-length",
                                    joinedHeader(request.headers, "transfer-encoding").value_or(""),
                                    cl.size()));
    }
    request.framing = Framing::kChunked;
  } else if (!cl.empty()) {
    if (!std::all_of(cl.begin(), cl.end(), [&](const std::string& v) { return v == cl[0]; }) ||
        !allDigits(cl[0])) {
      return fail(conn, fmt::format("bad content-length: '{}'",
                                    *joinedHeader(request.headers, "content-length")));
    }
    length = std::stoull(cl[0]);
    request.framing = Framing::kContentLength;
  }
  // A real origin answers the expectation before it reads the body.
  const bool has_body = request.framing == Framing::kChunked || length > 0;
  if (has_body && request.version == "HTTP/1.1" &&
      hasToken(request.headers, "expect", "100-continue") &&
      !sendAll(conn.fd, "HTTP/1.1 100 Continue\r\n\r\n", kOriginIdleTimeout)) {
    return fail(conn, "cannot send 100 Continue");
  }
  const bool body_ok = request.framing == Framing::kChunked
                           ? reader.readChunked(request.body, request.trailers)
                           : reader.readBody(length, request.body);
  return body_ok ? ReadResult::kOk : fail(conn, "request body: " + reader.error());
}

TestOrigin::ReadResult TestOrigin::fail(const Connection& conn, std::string message) {
  if (!stopping_.load()) recordError(fmt::format("connection {}: {}", conn.id, message));
  return ReadResult::kError;
}

bool TestOrigin::sleepUnlessStopped(Millis delay) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, delay, [&] { return stopping_.load(); });
}

bool TestOrigin::sendReply(int fd, const Request& request, const Reply& reply, bool& keep_open) {
  keep_open = false;
  if (reply.delay.count() > 0 && !sleepUnlessStopped(reply.delay)) return false;
  if (reply.close_without_response) return true;
  if (reply.raw) {
    if (!sendAll(fd, *reply.raw, kOriginIdleTimeout)) return false;
    if (reply.hold_after_raw.count() > 0) sleepUnlessStopped(reply.hold_after_raw);
    return true;
  }

  const bool head = request.method == "HEAD";
  const bool bodiless_status =
      reply.status / 100 == 1 || reply.status == 204 || reply.status == 304;
  const uint64_t length = reply.generated_body.value_or(reply.body.size());
  const bool client_close = wantsClose(request);

  HeaderList headers = reply.headers;
  if (!bodiless_status) {
    if (reply.framing == Reply::Framing::kContentLength && !findHeader(headers, "content-length")) {
      headers.push_back({"Content-Length", std::to_string(length)});
    }
    if (reply.framing == Reply::Framing::kChunked && !findHeader(headers, "transfer-encoding")) {
      headers.push_back({"Transfer-Encoding", "chunked"});
    }
  }
  if (client_close && !hasToken(headers, "connection", "close")) {
    headers.push_back({"Connection", "close"});
  }
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", reply.status, reply.reason);
  for (const auto& h : headers) out += fmt::format("{}: {}\r\n", h.name, h.value);
  out += "\r\n";

  const bool send_body = !head && !bodiless_status;
  const bool chunked = reply.framing == Reply::Framing::kChunked;
  const size_t piece = std::max<size_t>(reply.chunk_size, 1);
  if (send_body && !reply.generated_body) {
    for (size_t off = 0; off < reply.body.size(); off += piece) {
      const std::string_view part = std::string_view(reply.body).substr(off, piece);
      if (chunked) out += fmt::format("{:x}\r\n", part.size());
      out += part;
      if (chunked) out += "\r\n";
    }
    if (chunked) out += "0\r\n\r\n";
    body_bytes_sent_.fetch_add(reply.body.size());
  }
  if (!sendAll(fd, out, kOriginIdleTimeout)) return false;

  if (send_body && reply.generated_body) {
    std::string block(kGenerateBlock, '\0');
    for (uint64_t off = 0; off < length; off += block.size()) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(block.size(), length - off));
      fillPattern(off, block.data(), n);
      std::string_view part(block.data(), n);
      if (chunked && !sendAll(fd, fmt::format("{:x}\r\n", n), kOriginIdleTimeout)) return false;
      if (!sendAll(fd, part, kOriginIdleTimeout)) return false;
      if (chunked && !sendAll(fd, "\r\n", kOriginIdleTimeout)) return false;
      body_bytes_sent_.fetch_add(n);
    }
    if (chunked && !sendAll(fd, "0\r\n\r\n", kOriginIdleTimeout)) return false;
  }
  const bool until_close = send_body && reply.framing == Reply::Framing::kUntilClose;
  keep_open = !client_close && !until_close && !reply.close_after_response;
  return true;
}

}  // namespace gourmet::testing
