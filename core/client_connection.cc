#include "core/client_connection.h"

#include "core/log.h"

namespace gourmet::core {
namespace {

constexpr size_t kMaxPendingInput = 64 * 1024;

}  // namespace

ClientConnection::ClientConnection(Worker& worker) : worker_(worker), out_(*this, nullptr) {
  uv_timer_init(worker_.loop(), &timer_);
  deadline_.init(
      worker_.loop(), &timer_,
      [](void* owner) { static_cast<ClientConnection*>(owner)->onDeadline(); }, this);
}

void ClientConnection::destroy() {
  uv_timer_stop(&timer_);
  timer_.data = this;  // was the Deadline's
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_),
           [](uv_handle_t* handle) { delete static_cast<ClientConnection*>(handle->data); });
}

void ClientConnection::attach(ClientSocket& socket) {
  socket_ = &socket;
  out_.discard();  // what a closed socket did not take must not reach this one
  out_.setStream(socket.stream());
  socket.formatPeer(client_ip_, sizeof client_ip_);
  parser_.reset();
  pending_input_.clear();
  deadline_.clear();
  exchange_active_ = message_begun_ = parser_waiting_ = false;
  upstream_backpressure_ = upstream_paused_ = false;
  eof_ = in_drive_ = closing_ = closed_ = false;
  keep_alive_ = true;
  upstream_ = nullptr;
  generation_ = nullptr;
  cluster_ = nullptr;
}

void ClientConnection::recycle() {
  // Everyday heads and pages fit in 4 KiB; a connection that met a larger
  // one does not keep the memory for the next socket.
  constexpr size_t kKeep = 4096;
  for (std::string* buffer :
       {&pending_input_, &input_scratch_, &scratch_, &upstream_head_, &forwarded_path_}) {
    if (buffer->capacity() > kKeep) std::string().swap(*buffer);
  }
  out_.shrink();
  // The timer keeps running: when it fires it finds no deadline and does
  // nothing, and the next socket's set() reuses it instead of paying a
  // timer-heap removal and insertion for every request (the heap holds
  // every connection's timer, so at 500 connections that is measurable).
  deadline_.clear();
  socket_ = nullptr;
}

void ClientConnection::armTimer(Millis timeout) { deadline_.set(timeout); }

void ClientConnection::onDeadline() {
  ClientConnection* conn = this;
  if (conn->exchange_active_) {
    if (conn->request_complete_) return;  // upstream timers own this phase
    // The client stopped sending its body.
    if (conn->response_started_) {
      conn->abort();
    } else {
      conn->failRequestBody(408, "client_body_timeout");
    }
    return;
  }
  if (conn->message_begun_) {
    // Slow or stalled head (slowloris): say so, then hang up.
    conn->exchange_active_ = true;
    conn->respondLocally(408, "client_header_timeout", true);
    conn->drive();
    return;
  }
  conn->close();  // idle keep-alive connection
}

void ClientConnection::onData(const char* data, size_t len) {
  if (closing_ || closed_) return;
  if (exchange_active_ && !request_complete_) armTimer(worker_.bodyTimeout());
  if (parser_waiting_ || !pending_input_.empty()) {
    pending_input_.append(data, len);
  } else {
    in_drive_ = true;
    execute(data, len);
    in_drive_ = false;
  }
  drive();
}

void ClientConnection::onEof() {
  if (exchange_active_ && !request_complete_) {
    abort();  // the client left mid-request: nobody to answer
    return;
  }
  // A half-closed client may still be reading: finish and flush what it
  // asked for, then close.
  eof_ = true;
  keep_alive_ = false;
  if (!exchange_active_) closing_ = true;
  drive();
}

void ClientConnection::execute(const char* data, size_t len) {
  llhttp_errno_t err = parser_.execute(data, len);
  if (err == HPE_OK) return;
  if (err == HPE_PAUSED) {
    parser_waiting_ = true;
    const char* stop = parser_.errorPos();
    if (stop != nullptr && stop < data + len) {
      pending_input_.append(stop, static_cast<size_t>(data + len - stop));
    }
    return;
  }
  rejectMalformed(err);
}

void ClientConnection::rejectMalformed(llhttp_errno_t err) {
  log(LogLevel::kDebug, "client {}: bad request: {} ({})", client_ip_, llhttp_errno_name(err),
      parser_.errorReason());
  if (exchange_active_ && response_started_) {
    abort();  // cannot answer twice: a broken body mid-response ends the connection
    return;
  }
  if (exchange_active_ && upstream_ != nullptr) {
    upstream_->close();  // the upstream got part of a body that turned out malformed
    upstream_ = nullptr;
  }
  int status = 400;
  std::string_view reason = "bad_request";
  if (request_.limitError() == HeadLimitError::kTargetTooLong) {
    status = 414;
    reason = "uri_too_long";
  } else if (request_.limitError() == HeadLimitError::kHeadersTooLarge) {
    status = 431;
    reason = "headers_too_large";
  }
  exchange_active_ = true;
  respondLocally(status, reason, true);
}

// Moves the connection along: finishes a completed exchange, parses pipelined
// input, and flushes. Re-entrant calls (from callbacks inside it) are no-ops.
void ClientConnection::drive() {
  if (in_drive_ || closed_) return;
  in_drive_ = true;
  for (;;) {
    if (exchange_active_ && response_complete_) finishExchange();
    if (closing_ || parser_waiting_ || exchange_active_ || pending_input_.empty()) break;
    input_scratch_.swap(pending_input_);
    pending_input_.clear();
    execute(input_scratch_.data(), input_scratch_.size());
  }
  in_drive_ = false;
  flushAll();
  if (closed_) return;
  updateReading();
  if (closing_ && out_.idle()) {
    close();
  } else if (idle()) {
    socket_->becomeIdle();  // the last use of this object for this socket
  }
}

// Nothing in flight either way: the socket can wait without us.
bool ClientConnection::idle() const {
  return !exchange_active_ && !message_begun_ && !closing_ && !closed_ && !eof_ &&
         pending_input_.empty() && out_.idle();
}

void ClientConnection::flushAll() {
  if (upstream_ != nullptr) upstream_->flush();
  if (!closed_) flushClient();
}

void ClientConnection::flushClient() {
  if (out_.flush() < 0) {
    abort();
    return;
  }
  // More writes follow this one (a backlog, or a response still streaming):
  // Nagle would hold each small one back until the peer's ACK.
  if (!out_.idle() || (exchange_active_ && response_started_ && !response_complete_)) {
    socket_->useNoDelay();
  }
  if (out_.belowLow()) resumeUpstream();
}

void ClientConnection::resumeUpstream() {
  if (upstream_paused_ && upstream_ != nullptr) {
    upstream_paused_ = false;
    upstream_->resumeReading();
  }
}

void ClientConnection::updateReading() {
  // While a response is pending, pipelined bytes are buffered rather than
  // left in the socket: stopping and restarting reads costs two epoll_ctl
  // calls per request. Past kMaxPendingInput the client waits for us.
  bool want = !closing_ && !closed_ && !eof_ && !upstream_backpressure_ &&
              pending_input_.size() < kMaxPendingInput;
  socket_->setReading(want);
}

void ClientConnection::onDrained(OutQueue&) {
  if (closing_ && out_.idle()) {
    close();
    return;
  }
  resumeUpstream();
  if (!in_drive_ && idle()) socket_->becomeIdle();
}

void ClientConnection::onWriteError(OutQueue&, int) { abort(); }

void ClientConnection::drain() {
  keep_alive_ = false;
  if (!exchange_active_ && !message_begun_ && out_.idle()) close();
}

void ClientConnection::abort() {
  if (closed_) return;
  if (upstream_ != nullptr) {
    upstream_->close();
    upstream_ = nullptr;
  }
  if (exchange_active_) {
    response_complete_ = true;
    request_complete_ = true;
    finishExchange();
  }
  close();
}

void ClientConnection::close() {
  if (closed_) return;
  closed_ = true;
  if (exchange_active_) {
    if (upstream_ != nullptr) upstream_->close();
    upstream_ = nullptr;
    response_complete_ = request_complete_ = true;
    finishExchange();
  }
  deadline_.stop();
  socket_->close();  // gives this back once libuv is done with the socket
}

void ClientConnection::onMessageBegin() {
  message_begun_ = true;
  request_.setLimits(worker_.limits().head);
  armTimer(worker_.headerTimeout());
}

int ClientConnection::onHeadersComplete() {
  deadline_.clear();
  int rc = startExchange();
  if (exchange_active_ && !local_response_ && !request_complete_) armTimer(worker_.bodyTimeout());
  return rc;
}

void ClientConnection::onBody(std::string_view data) { forwardBody(data.data(), data.size()); }

int ClientConnection::onMessageComplete() {
  message_begun_ = false;
  finishRequestBody();
  return HPE_PAUSED;  // answer this request before parsing the next one
}

}  // namespace gourmet::core
