#pragma once

// An HTTP/1.1 origin server inside the test process: one thread per
// connection, blocking sockets, its own strict parser (see http_wire.h). It
// records every request the proxy forwards, exactly as it arrived, and
// answers through a per-test handler that can also misbehave (sleep, close
// without answering, send garbage) the way real origins do.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/http_wire.h"

namespace gourmet::testing {

struct Request {
  std::string method;
  std::string target;
  std::string version;  // "HTTP/1.1"
  HeaderList headers;
  HeaderList trailers;
  Framing framing = Framing::kNone;
  BodyDigest body;
  int connection_id = 0;        // 1-based, in accept order
  int index_on_connection = 0;  // 0 for the first request on its connection

  std::optional<std::string> header(std::string_view name) const {
    return findHeader(headers, name);
  }
};

struct Reply {
  enum class Framing { kContentLength, kChunked, kUntilClose };

  int status = 200;
  std::string reason = "OK";
  HeaderList headers;
  std::string body;
  // Framing headers are added unless `headers` already carries them.
  Framing framing = Framing::kContentLength;
  size_t chunk_size = 4096;
  // Stream this many pattern bytes (see fillPattern) instead of `body`.
  std::optional<uint64_t> generated_body;
  // Wait this long before answering (interrupted when the origin stops).
  Millis delay{0};
  // Close the connection without sending anything.
  bool close_without_response = false;
  // Close right after answering, without announcing it (no Connection: close):
  // what an origin with a short idle timeout does to a pooled connection.
  bool close_after_response = false;
  // Send these bytes verbatim instead of a response, then close.
  std::optional<std::string> raw;
  // After `raw`, keep the connection open (and unread) this long first: an
  // origin that stalls mid-response, or whose connection must not be reused.
  Millis hold_after_raw{0};

  static Reply text(int status, std::string reason, std::string body);
};

using Handler = std::function<Reply(const Request&)>;

// Answers 200 with the request target as body.
Reply echoTarget(const Request& request);

class TestOrigin {
 public:
  // `handler` runs on connection threads, possibly concurrently.
  explicit TestOrigin(Handler handler = echoTarget);
  // On a given port: an origin restarted where a stopped one listened.
  TestOrigin(Handler handler, uint16_t port);
  ~TestOrigin();
  TestOrigin(const TestOrigin&) = delete;
  TestOrigin& operator=(const TestOrigin&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const;  // "127.0.0.1:PORT"

  std::vector<Request> requests() const;
  size_t requestCount() const;
  size_t connectionsAccepted() const { return connections_accepted_.load(); }
  // Body bytes written by the origin so far (generated and literal).
  uint64_t bodyBytesSent() const { return body_bytes_sent_.load(); }
  // True once bodyBytesSent() has not moved for `quiet`: a client that reads
  // nothing has let every buffer on the way fill. False after `timeout`.
  bool waitForSendingToStall(Millis quiet, Millis timeout) const;
  // Anything the origin's parser rejected: the proxy sent invalid HTTP.
  std::vector<std::string> protocolErrors() const;
  bool waitForRequests(size_t n, Millis timeout) const;

  // Stops accepting, breaks every connection and joins all threads.
  void stop();

 private:
  struct Connection {
    int fd = -1;
    int id = 0;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  enum class ReadResult { kOk, kClosed, kError };

  void acceptLoop();
  void serve(Connection& conn);
  ReadResult readRequest(SocketReader& reader, Connection& conn, Request& request, int index);
  ReadResult fail(const Connection& conn, std::string message);
  bool sendReply(int fd, const Request& request, const Reply& reply, bool& keep_open);
  bool sleepUnlessStopped(Millis delay);
  void reapFinished();
  void recordError(std::string message);

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> connections_accepted_{0};
  std::atomic<uint64_t> body_bytes_sent_{0};

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Request> requests_;
  std::vector<std::string> errors_;
  std::vector<std::unique_ptr<Connection>> connections_;
};

}  // namespace gourmet::testing
