#include "core/upstream_connection.h"

#include <charconv>

#include "core/upstream_pool.h"

namespace gourmet::core {
namespace {

std::optional<Millis> parseKeepAliveTimeout(std::string_view value) {
  std::optional<Millis> result;
  forEachToken(value, [&](std::string_view token) {
    constexpr std::string_view kKey = "timeout=";
    if (token.size() <= kKey.size() || !equalsIgnoreCase(token.substr(0, kKey.size()), kKey))
      return;
    uint32_t seconds = 0;
    auto digits = token.substr(kKey.size());
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
    if (ec == std::errc() && end == digits.data() + digits.size())
      result = Millis(seconds * 1000LL);
  });
  return result;
}

}  // namespace

UpstreamConnection::UpstreamConnection(uv_loop_t* loop, ReadBufferPool& buffers, UpstreamPool& pool)
    : loop_(loop),
      buffers_(buffers),
      pool_(pool),
      out_(*this, reinterpret_cast<uv_stream_t*>(&tcp_)) {
  uv_tcp_init(loop_, &tcp_);
  uv_timer_init(loop_, &timer_);
  tcp_.data = this;
  deadline_.init(
      loop_, &timer_, [](void* owner) { static_cast<UpstreamConnection*>(owner)->onDeadline(); },
      this);
  open_handles_ = 2;
}

void UpstreamConnection::connect(const sockaddr_storage& address, Millis timeout,
                                 std::atomic<uint32_t>* pending) {
  pending_ = pending;
  uv_tcp_nodelay(&tcp_, 1);
  connect_req_.data = this;
  int rc = uv_tcp_connect(&connect_req_, &tcp_, reinterpret_cast<const sockaddr*>(&address),
                          &UpstreamConnection::onConnect);
  if (rc < 0) {
    // Report from the loop, never from inside the caller's own stack.
    connect_error_ = rc;
    armTimer(Millis(0));
    return;
  }
  armTimer(timeout);
}

void UpstreamConnection::onConnect(uv_connect_t* req, int status) {
  auto* conn = static_cast<UpstreamConnection*>(req->data);
  if (conn->state_ == State::kClosing || status == UV_ECANCELED) return;
  if (status < 0) {
    conn->fail(status == UV_ECONNREFUSED ? UpstreamError::kConnectRefused
                                         : UpstreamError::kConnectFailed);
    return;
  }
  conn->state_ = State::kActive;
  if (conn->pending_ != nullptr) {
    conn->pending_->fetch_sub(1, std::memory_order_relaxed);
    conn->pending_ = nullptr;
  }
  conn->armTimer(conn->response_timeout_);
  conn->startReading();
  conn->flush();
}

void UpstreamConnection::attach(Exchange* exchange, Millis response_timeout) {
  exchange_ = exchange;
  response_timeout_ = response_timeout;
  head_done_ = complete_ = reusable_ = informational_ = request_sent_ = paused_ = discard_ = false;
  response_bytes_ = 0;
  keepalive_hint_.reset();
  parser_.reset();
  if (state_ == State::kActive) {
    armTimer(response_timeout_);
    startReading();
  }
}

void UpstreamConnection::write(std::initializer_list<std::string_view> parts) {
  if (state_ == State::kActive) {
    out_.write(parts);
  } else {
    for (std::string_view part : parts) out_.append(part);
  }
}

void UpstreamConnection::requestComplete() {
  request_sent_ = true;
  if (state_ == State::kActive && !head_done_ && !paused_) armTimer(response_timeout_);
}

void UpstreamConnection::detach() { exchange_ = nullptr; }

void UpstreamConnection::flush() {
  if (state_ != State::kActive) return;
  int rc = out_.flush();
  if (rc < 0) {
    fail(UpstreamError::kReset);
  } else if (exchange_ != nullptr && out_.belowLow()) {
    exchange_->onUpstreamDrained();
  }
}

void UpstreamConnection::pauseReading() {
  paused_ = true;
  if (state_ == State::kActive) deadline_.clear();
  if (reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
  }
}

void UpstreamConnection::resumeReading() {
  if (!paused_) return;
  paused_ = false;
  // The server's silence counts again from now.
  if (state_ == State::kActive && exchange_ != nullptr && !complete_) armTimer(response_timeout_);
  startReading();
}

void UpstreamConnection::startReading() {
  if (paused_ || reading_ || (state_ != State::kActive && state_ != State::kIdle)) return;
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &UpstreamConnection::onAlloc,
                    &UpstreamConnection::onRead) == 0) {
    reading_ = true;
  }
}

std::optional<uint64_t> UpstreamConnection::contentLength() const {
  if (!head_done_ || !parser_.hasContentLength()) return std::nullopt;
  return parser_.contentLength();
}

void UpstreamConnection::enterIdle(Millis timeout) {
  exchange_ = nullptr;
  state_ = State::kIdle;
  out_.shrink();
  paused_ = false;
  startReading();  // to notice the server closing while we wait
  armTimer(timeout);
}

void UpstreamConnection::leaveIdle() {
  deadline_.clear();
  state_ = State::kActive;
}

void UpstreamConnection::close() {
  if (state_ == State::kClosing) return;
  bool was_idle = state_ == State::kIdle;
  state_ = State::kClosing;
  exchange_ = nullptr;
  if (was_idle) pool_.forget(this);
  if (pending_ != nullptr) {
    pending_->fetch_sub(1, std::memory_order_relaxed);
    pending_ = nullptr;
  }
  pool_.connectionClosed();
  uv_timer_stop(&timer_);
  timer_.data = this;  // was the Deadline's; onClosed wants the connection
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &UpstreamConnection::onClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &UpstreamConnection::onClosed);
}

void UpstreamConnection::onClosed(uv_handle_t* handle) {
  auto* conn = static_cast<UpstreamConnection*>(handle->data);
  if (--conn->open_handles_ == 0) delete conn;
}

void UpstreamConnection::armTimer(Millis timeout) { deadline_.set(timeout); }

void UpstreamConnection::onDeadline() {
  UpstreamConnection* conn = this;
  switch (conn->state_) {
    case State::kConnecting:
      if (conn->connect_error_ == 0) {
        conn->fail(UpstreamError::kConnectTimeout);
      } else {
        conn->fail(conn->connect_error_ == UV_ECONNREFUSED ? UpstreamError::kConnectRefused
                                                           : UpstreamError::kConnectFailed);
      }
      break;
    case State::kActive:
      // The server has all we have of a request whose client is still
      // sending: it is waiting for the client, not slow.
      if (!conn->head_done_ && !conn->request_sent_ && conn->out_.idle()) break;
      conn->fail(UpstreamError::kResponseTimeout);
      break;
    case State::kIdle:
      conn->close();
      break;
    case State::kClosing:
      break;
  }
}

void UpstreamConnection::fail(UpstreamError error) {
  Exchange* exchange = exchange_;
  close();
  if (exchange != nullptr) exchange->onUpstreamError(*this, error);
}

void UpstreamConnection::onAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  *buf = static_cast<UpstreamConnection*>(handle->data)->buffers_.take();
}

void UpstreamConnection::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* conn = static_cast<UpstreamConnection*>(stream->data);
  if (nread > 0) {
    conn->handleData(buf->base, static_cast<size_t>(nread));
  } else if (nread == UV_EOF) {
    conn->handleEof();
  } else if (nread < 0) {
    if (conn->exchange_ != nullptr) {
      conn->fail(UpstreamError::kReset);
    } else {
      conn->close();
    }
  }
  conn->buffers_.give(buf);
}

void UpstreamConnection::handleData(const char* data, size_t len) {
  if (state_ == State::kClosing) return;
  if (exchange_ == nullptr) {
    close();  // bytes nobody asked for: the connection is unusable
    return;
  }
  response_bytes_ += len;
  if (head_done_ && !paused_) armTimer(response_timeout_);
  llhttp_errno_t err = parser_.execute(data, len);
  if (discard_) {
    close();  // the exchange took nothing of this response and is gone
    return;
  }
  if (err == HPE_OK) {
    if (exchange_ != nullptr) exchange_->onUpstreamReadEnd();
    return;
  }
  if (err == HPE_PAUSED && complete_) {
    if (parser_.errorPos() != data + len) reusable_ = false;  // trailing garbage
    deadline_.clear();
    exchange_->onUpstreamComplete(*this);
    return;
  }
  if (state_ != State::kClosing) fail(UpstreamError::kInvalidResponse);
}

void UpstreamConnection::handleEof() {
  if (exchange_ == nullptr) {
    close();
    return;
  }
  // A close-delimited body ends here; anything else is cut short.
  if (head_done_ && !complete_ && needsEof()) parser_.finish();
  if (complete_) {
    reusable_ = false;
    deadline_.clear();
    exchange_->onUpstreamComplete(*this);
    return;
  }
  fail(UpstreamError::kReset);
}

void UpstreamConnection::onDrained(OutQueue&) {
  if (exchange_ != nullptr) exchange_->onUpstreamDrained();
}

void UpstreamConnection::onWriteError(OutQueue&, int) {
  if (exchange_ != nullptr) {
    fail(UpstreamError::kReset);
  } else {
    close();
  }
}

void UpstreamConnection::onMessageBegin() { informational_ = false; }

int UpstreamConnection::onHeadersComplete() {
  int status = parser_.status();
  // llhttp takes 1- and 2-digit codes ("HTTP/1.1 20"); RFC 9112 wants three,
  // and re-sent as they are they would not parse at the client.
  if (status < 100) return -1;
  if (status == 101) return -1;  // we never ask to upgrade
  if (status < 200) {
    informational_ = true;  // 100 Continue and friends: gourmet answered the client itself
    // A 1xx ends at its head (RFC 9110 section 15.2) whatever framing it
    // declares; llhttp would read a body, and onBody would send it to the
    // client ahead of the real response's head.
    return 1;
  }
  if (exchange_ == nullptr) return -1;
  head_done_ = true;
  if (auto keep_alive = parser_.head().find(HeaderName::kKeepAlive)) {
    keepalive_hint_ = parseKeepAliveTimeout(*keep_alive);
  }
  const bool no_body = exchange_->onUpstreamHead(*this);
  if (discard_) {
    exchange_ = nullptr;
    return -1;  // stop parsing: handleData closes the connection
  }
  return no_body ? 1 : 0;
}

void UpstreamConnection::onBody(std::string_view data) {
  if (exchange_ != nullptr) exchange_->onUpstreamBody(data);
}

int UpstreamConnection::onMessageComplete() {
  if (informational_) return 0;
  complete_ = true;
  reusable_ = parser_.shouldKeepAlive();
  ++requests_served_;
  return HPE_PAUSED;  // hand completion to the exchange outside the parser
}

}  // namespace gourmet::core
