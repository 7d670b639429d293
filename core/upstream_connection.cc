#include "core/upstream_connection.h"

#include <charconv>

#include "core/upstream_pool.h"

namespace gourmet::core {
namespace {

UpstreamConnection* self(llhttp_t* parser) { return static_cast<UpstreamConnection*>(parser->data); }

std::optional<Millis> parseKeepAliveTimeout(std::string_view value) {
  std::optional<Millis> result;
  forEachToken(value, [&](std::string_view token) {
    constexpr std::string_view kKey = "timeout=";
    if (token.size() <= kKey.size() || !equalsIgnoreCase(token.substr(0, kKey.size()), kKey)) return;
    uint32_t seconds = 0;
    auto digits = token.substr(kKey.size());
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
    if (ec == std::errc() && end == digits.data() + digits.size()) result = Millis(seconds * 1000LL);
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
  timer_.data = this;
  open_handles_ = 2;
  llhttp_init(&parser_, HTTP_RESPONSE, &settings());
  parser_.data = this;
}

const llhttp_settings_t& UpstreamConnection::settings() {
  static const llhttp_settings_t kSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = &UpstreamConnection::onMessageBegin;
    s.on_status = &UpstreamConnection::onStatus;
    s.on_header_field = &UpstreamConnection::onHeaderField;
    s.on_header_field_complete = &UpstreamConnection::onHeaderFieldComplete;
    s.on_header_value = &UpstreamConnection::onHeaderValue;
    s.on_header_value_complete = &UpstreamConnection::onHeaderValueComplete;
    s.on_headers_complete = &UpstreamConnection::onHeadersComplete;
    s.on_body = &UpstreamConnection::onBody;
    s.on_message_complete = &UpstreamConnection::onMessageComplete;
    return s;
  }();
  return kSettings;
}

void UpstreamConnection::connect(const sockaddr_storage& address, Millis timeout) {
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
  conn->armTimer(conn->response_timeout_);
  conn->resumeReading();
  conn->flush();
}

void UpstreamConnection::attach(Exchange* exchange, Millis response_timeout) {
  exchange_ = exchange;
  response_timeout_ = response_timeout;
  head_done_ = complete_ = reusable_ = informational_ = false;
  response_bytes_ = 0;
  keepalive_hint_.reset();
  llhttp_init(&parser_, HTTP_RESPONSE, &settings());
  parser_.data = this;
  if (state_ == State::kActive) {
    armTimer(response_timeout_);
    resumeReading();
  }
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
  if (reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
  }
}

void UpstreamConnection::resumeReading() {
  paused_ = false;
  if (reading_ || (state_ != State::kActive && state_ != State::kIdle)) return;
  if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &UpstreamConnection::onAlloc,
                    &UpstreamConnection::onRead) == 0) {
    reading_ = true;
  }
}

bool UpstreamConnection::http10() const {
  return parser_.http_major == 1 && parser_.http_minor == 0;
}

bool UpstreamConnection::chunked() const { return (parser_.flags & F_CHUNKED) != 0; }

std::optional<uint64_t> UpstreamConnection::contentLength() const {
  if (!head_done_ || (parser_.flags & F_CONTENT_LENGTH) == 0) return std::nullopt;
  return content_length_;
}

void UpstreamConnection::enterIdle(Millis timeout) {
  exchange_ = nullptr;
  state_ = State::kIdle;
  out_.shrink();
  resumeReading();  // to notice the server closing while we wait
  armTimer(timeout);
}

void UpstreamConnection::leaveIdle() {
  uv_timer_stop(&timer_);
  state_ = State::kActive;
}

void UpstreamConnection::close() {
  if (state_ == State::kClosing) return;
  bool was_idle = state_ == State::kIdle;
  state_ = State::kClosing;
  exchange_ = nullptr;
  if (was_idle) pool_.forget(this);
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &UpstreamConnection::onClosed);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &UpstreamConnection::onClosed);
}

void UpstreamConnection::onClosed(uv_handle_t* handle) {
  auto* conn = static_cast<UpstreamConnection*>(handle->data);
  if (--conn->open_handles_ == 0) delete conn;
}

void UpstreamConnection::armTimer(Millis timeout) {
  uv_timer_start(&timer_, &UpstreamConnection::onTimer, static_cast<uint64_t>(timeout.count()), 0);
}

void UpstreamConnection::onTimer(uv_timer_t* timer) {
  auto* conn = static_cast<UpstreamConnection*>(timer->data);
  switch (conn->state_) {
    case State::kConnecting:
      if (conn->connect_error_ == 0) {
        conn->fail(UpstreamError::kConnectTimeout);
      } else {
        conn->fail(conn->connect_error_ == UV_ECONNREFUSED ? UpstreamError::kConnectRefused
                                                           : UpstreamError::kConnectFailed);
      }
      break;
    case State::kActive: conn->fail(UpstreamError::kResponseTimeout); break;
    case State::kIdle: conn->close(); break;
    case State::kClosing: break;
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
  if (head_done_) armTimer(response_timeout_);
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (err == HPE_OK) {
    if (exchange_ != nullptr) exchange_->onUpstreamReadEnd();
    return;
  }
  if (err == HPE_PAUSED && complete_) {
    if (llhttp_get_error_pos(&parser_) != data + len) reusable_ = false;  // trailing garbage
    uv_timer_stop(&timer_);
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
  if (head_done_ && !complete_ && needsEof()) llhttp_finish(&parser_);
  if (complete_) {
    reusable_ = false;
    uv_timer_stop(&timer_);
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

int UpstreamConnection::onMessageBegin(llhttp_t* parser) {
  auto* conn = self(parser);
  conn->head_.clear();
  conn->informational_ = false;
  return 0;
}

int UpstreamConnection::onStatus(llhttp_t* parser, const char* at, size_t len) {
  return self(parser)->head_.appendTarget(at, len) ? 0 : -1;
}

int UpstreamConnection::onHeaderField(llhttp_t* parser, const char* at, size_t len) {
  return self(parser)->head_.appendName(at, len) ? 0 : -1;
}

int UpstreamConnection::onHeaderFieldComplete(llhttp_t* parser) {
  self(parser)->head_.nameComplete();
  return 0;
}

int UpstreamConnection::onHeaderValue(llhttp_t* parser, const char* at, size_t len) {
  return self(parser)->head_.appendValue(at, len) ? 0 : -1;
}

int UpstreamConnection::onHeaderValueComplete(llhttp_t* parser) {
  self(parser)->head_.valueComplete();
  return 0;
}

int UpstreamConnection::onHeadersComplete(llhttp_t* parser) {
  auto* conn = self(parser);
  int status = parser->status_code;
  if (status == 101) return -1;  // we never ask to upgrade
  if (status >= 100 && status < 200) {
    conn->informational_ = true;  // 100 Continue and friends: gourmet answered the client itself
    return 0;
  }
  if (conn->exchange_ == nullptr) return -1;
  conn->head_done_ = true;
  conn->content_length_ = parser->content_length;
  if (auto keep_alive = conn->head_.find("keep-alive")) {
    conn->keepalive_hint_ = parseKeepAliveTimeout(*keep_alive);
  }
  return conn->exchange_->onUpstreamHead(*conn) ? 1 : 0;
}

int UpstreamConnection::onBody(llhttp_t* parser, const char* at, size_t len) {
  auto* conn = self(parser);
  if (conn->exchange_ != nullptr) conn->exchange_->onUpstreamBody({at, len});
  return 0;
}

int UpstreamConnection::onMessageComplete(llhttp_t* parser) {
  auto* conn = self(parser);
  if (conn->informational_) return 0;
  conn->complete_ = true;
  conn->reusable_ = llhttp_should_keep_alive(parser) != 0;
  ++conn->requests_served_;
  return HPE_PAUSED;  // hand completion to the exchange outside the parser
}

}  // namespace gourmet::core
