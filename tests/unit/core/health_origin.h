#pragma once

// Test helpers for active health checks: a loop that runs until a condition
// holds or a deadline passes, a tiny HTTP origin served from that same loop
// on 127.0.0.1 port 0, and a port where nothing listens.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <deque>
#include <functional>
#include <set>
#include <string>

#include "core/config.h"
#include "core/server_registry.h"

namespace gourmet::core::health_test {

class TestLoop {
 public:
  TestLoop() {
    uv_loop_init(&loop);
    uv_timer_init(&loop, &deadline_);
    deadline_.data = this;
  }

  // Runs the loop until `done()` or `timeout`; returns done().
  bool runUntil(const std::function<bool()>& done, Millis timeout = Millis(5000)) {
    expired_ = false;
    uv_timer_start(
        &deadline_, [](uv_timer_t* t) { static_cast<TestLoop*>(t->data)->expired_ = true; },
        static_cast<uint64_t>(timeout.count()), 0);
    while (!done() && !expired_) uv_run(&loop, UV_RUN_ONCE);
    uv_timer_stop(&deadline_);
    return done();
  }

  // Runs the loop for `time` whatever happens (to show something does not).
  void runFor(Millis time) {
    runUntil([] { return false; }, time);
  }

  // Closes the last handle of ours and runs the loop dry; 0 when nothing
  // else was left open on it.
  int close() {
    uv_close(reinterpret_cast<uv_handle_t*>(&deadline_), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    return uv_loop_close(&loop);
  }

  uv_loop_t loop{};

 private:
  uv_timer_t deadline_{};
  bool expired_ = false;
};

// An HTTP origin on the test's loop. Each connection gets one answer once
// it sent a whole request head, according to `mode`.
class HealthOrigin {
 public:
  enum class Mode {
    kRespond,  // the next scripted response, else `status`
    kClose,    // close as soon as the connection is accepted
    kSilent,   // read and never answer
  };

  explicit HealthOrigin(uv_loop_t* loop) : loop_(loop) {
    uv_tcp_init(loop_, &listener_);
    listener_.data = this;
    sockaddr_in any{};
    uv_ip4_addr("127.0.0.1", 0, &any);
    uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&any), 0);
    uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 64, &HealthOrigin::onConnection);
    int len = sizeof address;
    uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&address), &len);
  }

  static std::string statusResponse(int status) {
    return fmt::format("HTTP/1.1 {} Status\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                       status);
  }

  // Closes the listener and every connection; run the loop to finish.
  void close() {
    if (closed_) return;
    closed_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    for (Conn* conn : std::set<Conn*>(conns_)) closeConn(conn);
  }

  std::string addressText() const { return formatSockaddr(address); }

  sockaddr_storage address{};
  Mode mode = Mode::kRespond;
  int status = 200;
  std::deque<std::string> script;  // raw responses, used first, one per request
  int accepted = 0;
  int requests = 0;     // whole request heads received
  int client_eofs = 0;  // connections the client closed before we did
  std::string last_request;

 private:
  struct Conn {
    uv_tcp_t tcp{};
    HealthOrigin* origin = nullptr;
    std::string received;
    std::string response;
    uv_write_t write{};
    bool answered = false;
    bool closing = false;
    char buffer[4096];
  };

  static void onConnection(uv_stream_t* server, int status) {
    auto* origin = static_cast<HealthOrigin*>(server->data);
    if (status < 0) return;
    auto* conn = new Conn;
    conn->origin = origin;
    conn->tcp.data = conn;
    uv_tcp_init(origin->loop_, &conn->tcp);
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&conn->tcp)) != 0) {
      uv_close(reinterpret_cast<uv_handle_t*>(&conn->tcp),
               [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
      return;
    }
    origin->conns_.insert(conn);
    ++origin->accepted;
    if (origin->mode == Mode::kClose) {
      origin->closeConn(conn);
      return;
    }
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&conn->tcp),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) {
          auto* c = static_cast<Conn*>(h->data);
          *buf = uv_buf_init(c->buffer, sizeof c->buffer);
        },
        &HealthOrigin::onRead);
  }

  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* conn = static_cast<Conn*>(stream->data);
    HealthOrigin* origin = conn->origin;
    if (nread < 0) {
      ++origin->client_eofs;
      origin->closeConn(conn);
      return;
    }
    conn->received.append(buf->base, static_cast<size_t>(nread));
    if (conn->answered || conn->received.find("\r\n\r\n") == std::string::npos) return;
    conn->answered = true;
    ++origin->requests;
    origin->last_request = conn->received;
    if (origin->mode != Mode::kRespond) return;
    if (!origin->script.empty()) {
      conn->response = origin->script.front();
      origin->script.pop_front();
    } else {
      conn->response = statusResponse(origin->status);
    }
    conn->write.data = conn;
    uv_buf_t out = uv_buf_init(conn->response.data(), static_cast<unsigned>(conn->response.size()));
    uv_write(&conn->write, stream, &out, 1, [](uv_write_t* req, int) {
      auto* c = static_cast<Conn*>(req->data);
      c->origin->closeConn(c);
    });
  }

  void closeConn(Conn* conn) {
    if (conn->closing) return;
    conn->closing = true;
    conns_.erase(conn);
    uv_close(reinterpret_cast<uv_handle_t*>(&conn->tcp),
             [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
  }

  uv_loop_t* loop_;
  uv_tcp_t listener_{};
  std::set<Conn*> conns_;
  bool closed_ = false;
};

// 127.0.0.1 and a port bound but not listening: a connect is refused.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&any), sizeof any);
    socklen_t len = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &len);
  }
  ~RefusingPort() { ::close(fd_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  sockaddr_storage address{};

 private:
  int fd_ = -1;
};

}  // namespace gourmet::core::health_test
