#include "core/client_connection.h"

#include "core/log.h"

namespace gourmet::core {
namespace {

// Pipelined bytes buffered while a response is pending. Past this the
// client waits in the kernel: stopping and restarting reads costs two
// epoll_ctl calls per request, so small pipelines are read ahead instead.
constexpr size_t kMaxPendingInput = 64 * 1024;

}  // namespace

ClientConnection::ClientConnection(Worker& worker)
    : worker_(worker),
      out_(*this, nullptr),
      // Retry jitter: connections of one worker, and workers, draw apart.
      random_state_(uv_hrtime() ^ reinterpret_cast<uintptr_t>(this)) {
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
  pending_.clear();
  phase_ = Phase::kBetween;
  ex_ = ClientExchangeState{};
  upstream_ = nullptr;
  receive_due_ms_ = send_due_ms_ = send_mark_ = retry_due_ms_ = 0;
  deadline_.clear();
  upstream_backpressure_ = upstream_paused_ = eof_ = in_drive_ = false;
}

void ClientConnection::recycle() {
  // Everyday heads and pages fit in 4 KiB; a connection that met a larger
  // one does not keep the memory for the next socket.
  constexpr size_t kKeep = 4096;
  for (std::string* buffer :
       {&scratch_, &upstream_head_, &request_path_, &forwarded_path_, &retry_bytes_}) {
    if (buffer->capacity() > kKeep) std::string().swap(*buffer);
  }
  pending_.shrink(kKeep);
  out_.shrink();
  // The timer keeps running: when it fires it finds no deadline and does
  // nothing, and the next socket's set() reuses it instead of paying a
  // timer-heap removal and insertion for every request (the heap holds
  // every connection's timer, so at 500 connections that is measurable).
  deadline_.clear();
  socket_ = nullptr;
}

// ---- Timers ----

void ClientConnection::updateDeadline() {
  uint64_t due = receive_due_ms_;
  for (uint64_t other : {send_due_ms_, retry_due_ms_}) {
    if (other != 0 && (due == 0 || other < due)) due = other;
  }
  if (due == 0) {
    deadline_.clear();
    return;
  }
  const uint64_t now = uv_now(worker_.loop());
  deadline_.set(Millis(due > now ? due - now : 0));
}

void ClientConnection::receiveWithin(Millis timeout) {
  receive_due_ms_ = uv_now(worker_.loop()) + static_cast<uint64_t>(timeout.count());
  updateDeadline();
}

// The send timer runs while bytes wait for the client, from the moment they
// start waiting; it restarts whenever the client takes some (a slow but
// steady reader is fine, as with nginx's send_timeout between two writes).
void ClientConnection::watchSending() {
  if (out_.idle()) {
    if (send_due_ms_ != 0) {
      send_due_ms_ = 0;
      updateDeadline();
    }
    return;
  }
  if (send_due_ms_ != 0) return;
  send_mark_ = out_.written();
  send_due_ms_ = uv_now(worker_.loop()) + static_cast<uint64_t>(worker_.sendTimeout().count());
  updateDeadline();
}

void ClientConnection::onDeadline() {
  const uint64_t now = uv_now(worker_.loop());
  if (send_due_ms_ != 0 && now >= send_due_ms_) {
    const uint64_t written = out_.written();
    if (written == send_mark_ && !out_.idle()) {
      // The client took nothing for client_send_timeout: it holds a socket,
      // this state and an upstream for nobody.
      log(LogLevel::kDebug, "client {}: send timeout with {} bytes queued", client_ip_,
          out_.pending());
      if (phase_ == Phase::kExchange) ex_.reason = "client_send_timeout";
      abort();
      return;
    }
    send_due_ms_ = 0;
    watchSending();
  }
  if (receive_due_ms_ != 0 && now >= receive_due_ms_) {
    receive_due_ms_ = 0;
    if (phase_ == Phase::kReadingHead) {
      // Slow or stalled head (slowloris): say so, then hang up.
      if (!request_.target().empty()) ex_.method = parser_.methodName();
      phase_ = Phase::kExchange;
      ex_.request = ClientExchangeState::Request::kComplete;
      respondLocally(408, "client_header_timeout", true);
      drive();
      return;
    }
    if (phase_ == Phase::kExchange && ex_.request == ClientExchangeState::Request::kBody) {
      // The client stopped sending its body.
      if (ex_.response != ClientExchangeState::Response::kNone) {
        ex_.reason = "client_body_timeout";
        abort();
      } else {
        failRequestBody(408, "client_body_timeout");
      }
      return;
    }
  }
  if (retry_due_ms_ != 0 && now >= retry_due_ms_) {
    startRetry();  // re-arms what is left of ours itself
    return;
  }
  updateDeadline();
}

// ---- Input ----

void ClientConnection::onData(const char* data, size_t len) {
  if (phase_ == Phase::kClosing || phase_ == Phase::kClosed) return;  // nothing more is read
  const bool body =
      phase_ == Phase::kExchange && ex_.request == ClientExchangeState::Request::kBody;
  if (body) receiveWithin(worker_.bodyTimeout());
  if (pending_.empty() && (body || canParseNext())) {
    in_drive_ = true;
    if (const char* stop = execute(data, len)) pending_.append(stop, data + len);
    in_drive_ = false;
  } else {
    pending_.append(data, data + len);
  }
  drive();
}

void ClientConnection::onEof() {
  eof_ = true;
  if (phase_ == Phase::kReadingHead ||
      (phase_ == Phase::kExchange && ex_.request == ClientExchangeState::Request::kBody)) {
    if (phase_ == Phase::kExchange) ex_.reason = "client_closed";
    abort();  // the client left mid-request: nobody to answer
    return;
  }
  // A half-closed client may still be reading: answer what it sent, flush,
  // then close (drive() sees eof_ once nothing is left to parse).
  if (phase_ == Phase::kExchange) ex_.keep_alive = false;
  drive();
}

// A new request may be parsed: none is in progress, and the last response
// is flushed below the low watermark (so a client that pipelines and never
// reads cannot make gourmet queue responses without bound).
bool ClientConnection::canParseNext() const {
  return (phase_ == Phase::kBetween || phase_ == Phase::kReadingHead) && out_.belowLow();
}

const char* ClientConnection::execute(const char* data, size_t len) {
  parser_.resume();  // paused at the end of the previous request, if any
  llhttp_errno_t err = parser_.execute(data, len);
  if (err == HPE_OK) return nullptr;
  if (err == HPE_PAUSED) {
    const char* stop = parser_.errorPos();
    return stop != nullptr && stop < data + len ? stop : nullptr;
  }
  rejectMalformed(err);
  return nullptr;
}

void ClientConnection::rejectMalformed(llhttp_errno_t err) {
  log(LogLevel::kDebug, "client {}: bad request: {} ({})", client_ip_, llhttp_errno_name(err),
      parser_.errorReason());
  if (phase_ == Phase::kExchange) {
    if (ex_.local && ex_.response == ClientExchangeState::Response::kComplete) {
      // Answered already (the body was being discarded): send that, then close.
      ex_.keep_alive = false;
      return;
    }
    if (ex_.response != ClientExchangeState::Response::kNone) {
      ex_.reason = "bad_request_body";
      abort();  // cannot answer twice: a broken body mid-response ends the connection
      return;
    }
    if (upstream_ != nullptr) {
      upstream_->close();  // it got part of a body that turned out malformed
      upstream_ = nullptr;
    }
  } else {
    if (phase_ == Phase::kBetween) beginExchange(uv_hrtime());
    // What of the request line llhttp got through before it failed.
    if (phase_ == Phase::kReadingHead && !request_.target().empty()) {
      ex_.method = parser_.methodName();
    }
    phase_ = Phase::kExchange;
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
  ex_.request = ClientExchangeState::Request::kComplete;  // nothing more is read
  respondLocally(status, reason, true);
}

// ---- Moving along ----

// Finishes a completed exchange, parses pipelined input while allowed,
// flushes, and repeats while that made room for more. Re-entrant calls
// (from callbacks inside it) are no-ops: the loop sees what they changed.
void ClientConnection::drive() {
  if (in_drive_ || phase_ == Phase::kClosed) return;
  in_drive_ = true;
  for (;;) {
    if (phase_ == Phase::kExchange && ex_.response == ClientExchangeState::Response::kComplete) {
      finishExchange();
    }
    if (canParseNext() && !pending_.empty()) {
      // From where the last request ended: a run of small requests costs
      // linear work.
      const std::string_view unparsed = pending_.unparsed();
      if (const char* stop = execute(unparsed.data(), unparsed.size())) {
        pending_.parsedUpTo(stop);
      } else {
        pending_.parsedAll();
      }
      continue;
    }
    flushAll();
    if (phase_ == Phase::kClosed) {
      in_drive_ = false;
      return;
    }
    const bool finished =
        phase_ == Phase::kExchange && ex_.response == ClientExchangeState::Response::kComplete;
    if (!finished && !(canParseNext() && !pending_.empty())) break;
  }
  in_drive_ = false;
  if (eof_ && pending_.empty() && (phase_ == Phase::kBetween || phase_ == Phase::kReadingHead)) {
    phase_ = Phase::kClosing;  // the half-closed client has nothing more to ask
  }
  updateReading();
  if (phase_ == Phase::kClosing && out_.idle()) {
    close();
  } else if (idle()) {
    socket_->becomeIdle();  // the last use of this object for this socket
  }
}

// Nothing in flight either way: the socket can wait without us.
bool ClientConnection::idle() const {
  return phase_ == Phase::kBetween && !eof_ && pending_.empty() && out_.idle();
}

void ClientConnection::flushAll() {
  if (upstream_ != nullptr) upstream_->flush();
  if (phase_ != Phase::kClosed) flushClient();
}

void ClientConnection::flushClient() {
  if (out_.flush() < 0) {
    abort();
    return;
  }
  // More writes follow this one (a backlog, or a response still streaming):
  // Nagle would hold each small one back until the peer's ACK.
  if (!out_.idle() ||
      (phase_ == Phase::kExchange && ex_.response == ClientExchangeState::Response::kStreaming)) {
    socket_->useNoDelay();
  }
  watchSending();
  if (out_.belowLow()) resumeUpstream();
}

void ClientConnection::resumeUpstream() {
  if (upstream_paused_ && upstream_ != nullptr) {
    upstream_paused_ = false;
    upstream_->resumeReading();
  }
}

void ClientConnection::updateReading() {
  const bool want =
      (phase_ == Phase::kBetween || phase_ == Phase::kReadingHead || phase_ == Phase::kExchange) &&
      !eof_ && !upstream_backpressure_ && !out_.aboveHigh() && pending_.size() < kMaxPendingInput &&
      ex_.attempt != ClientExchangeState::Attempt::kBackoff;
  socket_->setReading(want);
}

void ClientConnection::onDrained(OutQueue&) {
  watchSending();
  if (phase_ == Phase::kClosing && out_.idle()) {
    close();
    return;
  }
  resumeUpstream();
  drive();  // parse what waited for room, read again, or become idle
}

void ClientConnection::onWriteError(OutQueue&, int) {
  if (phase_ == Phase::kExchange) ex_.reason = "client_closed";
  abort();
}

void ClientConnection::drain() {
  switch (phase_) {
    case Phase::kBetween:
      phase_ = Phase::kClosing;  // pipelined requests not begun are not served
      if (out_.idle()) close();
      break;
    case Phase::kReadingHead:
      break;  // its response will say Connection: close
    case Phase::kExchange:
      ex_.keep_alive = false;
      break;
    case Phase::kClosing:
    case Phase::kClosed:
      break;
  }
}

void ClientConnection::abort() { close(); }

void ClientConnection::close() {
  if (phase_ == Phase::kClosed) return;
  if (phase_ == Phase::kExchange) {
    if (upstream_ != nullptr) {
      upstream_->close();  // mid-response: never pooled
      upstream_ = nullptr;
    }
    if (ex_.response != ClientExchangeState::Response::kComplete && ex_.reason == "ok") {
      ex_.reason = "client_closed";
    }
    finishExchange();
  }
  phase_ = Phase::kClosed;
  receive_due_ms_ = send_due_ms_ = retry_due_ms_ = 0;
  deadline_.stop();
  socket_->close();  // gives this back once libuv is done with the socket
}

// ---- Parser events ----

void ClientConnection::onMessageBegin() {
  phase_ = Phase::kReadingHead;
  beginExchange(uv_hrtime());
  request_.setLimits(worker_.limits().head);
  receiveWithin(worker_.headerTimeout());
}

int ClientConnection::onHeadersComplete() {
  receive_due_ms_ = 0;
  phase_ = Phase::kExchange;
  int rc = startExchange();
  if (phase_ == Phase::kExchange && !ex_.local &&
      ex_.request == ClientExchangeState::Request::kBody) {
    receiveWithin(worker_.bodyTimeout());
  } else {
    updateDeadline();
  }
  return rc;
}

void ClientConnection::onBody(std::string_view data) { forwardBody(data.data(), data.size()); }

int ClientConnection::onMessageComplete() {
  finishRequestBody();
  return HPE_PAUSED;  // answer this request before parsing the next one
}

}  // namespace gourmet::core
