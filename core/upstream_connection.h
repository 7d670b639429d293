#pragma once

// One TCP connection from a worker to an upstream server. It is either
// connecting, attached to one exchange (a client request being forwarded),
// or idle in its UpstreamPool. Responses are parsed by llhttp in strict
// response mode; the exchange hears about the head, body bytes, completion
// and errors through the Exchange interface, always from outside the parser
// for completion and errors, so it may release or close the connection there.

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/config.h"
#include "core/deadline.h"
#include "core/http_head.h"
#include "core/http_parser.h"
#include "core/out_queue.h"
#include "core/read_buffer_pool.h"
#include "core/upstream_error.h"

namespace gourmet::core {

class UpstreamPool;

class UpstreamConnection final : public OutQueue::Owner, private HttpParser::Events {
 public:
  class Exchange {
   public:
    // Final (non-1xx) response head parsed. Return true when the response
    // has no body whatever its headers say (the request was HEAD).
    virtual bool onUpstreamHead(UpstreamConnection& conn) = 0;
    virtual void onUpstreamBody(std::string_view data) = 0;
    virtual void onUpstreamComplete(UpstreamConnection& conn) = 0;
    virtual void onUpstreamError(UpstreamConnection& conn, UpstreamError error) = 0;
    // The request bytes queued to this connection were all written.
    virtual void onUpstreamDrained() = 0;
    // One read's worth of response bytes was handed over: time to flush them.
    virtual void onUpstreamReadEnd() = 0;

   protected:
    ~Exchange() = default;
  };

  UpstreamConnection(uv_loop_t* loop, ReadBufferPool& buffers, UpstreamPool& pool);

  // Starts a non-blocking connect; queued bytes are sent once it succeeds.
  // `pending` (may be null) is lowered by one once connected or closed.
  void connect(const sockaddr_storage& address, Millis timeout,
               std::atomic<uint32_t>* pending = nullptr);

  // Binds the connection to an exchange; `response_timeout` bounds the wait
  // for the response head and then each gap between body reads.
  void attach(Exchange* exchange, Millis response_timeout);
  void detach();

  void send(std::string_view data) { out_.append(data); }
  // Swaps the bytes queued here with `bytes`: how a retry takes the whole
  // request so far from a connection that never connected (so none of it
  // was written) and hands it to the next one, without a copy. Only while
  // nothing is being written.
  void swapUnsent(std::string& bytes) { std::swap(out_.buffer(), bytes); }
  // Body bytes: straight to the socket when connected and nothing is queued.
  void write(std::initializer_list<std::string_view> parts);
  OutQueue& out() { return out_; }
  void flush();

  // More of the request body was handed over: a long upload is not a slow
  // response, so the response timeout restarts.
  void requestProgress() {
    if (state_ == State::kActive && !head_done_) armTimer(response_timeout_);
  }
  // All of the request has been handed over: from now on a silent server
  // is a slow one. Before, a server that has every byte we have is waiting
  // for the client, whose body timeout bounds that.
  void requestComplete();

  // From inside Exchange::onUpstreamHead: the exchange will not take this
  // response (a status it retries elsewhere). The connection detaches and
  // closes itself once the head's callback returns, never reused.
  void discardResponse() { discard_ = true; }

  // Backpressure from the client: while paused, the response timeout does
  // not run (it measures the server's silence, not the client's).
  void pauseReading();
  void resumeReading();

  // Facts about the response being received.
  const MessageHead& head() const { return parser_.head(); }
  int status() const { return parser_.status(); }
  bool http10() const { return parser_.httpMajor() == 1 && parser_.httpMinor() == 0; }
  bool chunked() const { return parser_.chunked(); }
  std::optional<uint64_t> contentLength() const;
  bool needsEof() const { return parser_.needsEof(); }
  // Whether the server allows another request on this connection.
  bool reusable() const { return reusable_; }
  // The server's `Keep-Alive: timeout=N`, when it sent one.
  std::optional<Millis> keepAliveHint() const { return keepalive_hint_; }
  bool responseStarted() const { return response_bytes_ > 0; }
  uint32_t requestsServed() const { return requests_served_; }
  bool connected() const { return state_ != State::kConnecting; }

  // Idle life in the pool: watch for the server closing, expire after `timeout`.
  void enterIdle(Millis timeout);
  void leaveIdle();

  // Closes the socket; the object deletes itself once libuv is done with it.
  void close();

 private:
  enum class State { kConnecting, kActive, kIdle, kClosing };

  static void onConnect(uv_connect_t* req, int status);
  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  void onDeadline();
  static void onClosed(uv_handle_t* handle);

  void startReading();
  void handleData(const char* data, size_t len);
  void handleEof();
  void fail(UpstreamError error);
  void armTimer(Millis timeout);
  void onDrained(OutQueue& queue) override;
  void onWriteError(OutQueue& queue, int status) override;

  // HttpParser::Events
  void onMessageBegin() override;
  int onHeadersComplete() override;
  void onBody(std::string_view data) override;
  int onMessageComplete() override;

  uv_loop_t* loop_;
  ReadBufferPool& buffers_;
  UpstreamPool& pool_;
  uv_tcp_t tcp_{};
  uv_timer_t timer_{};
  Deadline deadline_;  // connect, response and idle timeouts, on timer_
  uv_connect_t connect_req_{};
  HttpParser parser_{HTTP_RESPONSE, *this};
  OutQueue out_;
  Exchange* exchange_ = nullptr;
  State state_ = State::kConnecting;
  Millis response_timeout_{0};
  std::optional<Millis> keepalive_hint_;
  uint64_t response_bytes_ = 0;
  uint32_t requests_served_ = 0;
  int open_handles_ = 0;
  int connect_error_ = 0;                     // a connect that failed before reaching the loop
  std::atomic<uint32_t>* pending_ = nullptr;  // raised for this connection until connected
  bool reading_ = false;
  bool paused_ = false;
  bool informational_ = false;  // parsing a 1xx response, which is dropped
  bool head_done_ = false;
  bool request_sent_ = false;  // requestComplete() was called for this exchange
  bool complete_ = false;
  bool reusable_ = false;
  bool discard_ = false;  // discardResponse(): close after the head's callback
};

}  // namespace gourmet::core
