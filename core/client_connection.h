#pragma once

// What serving one client connection takes: the parser, the buffers, the
// timer and the exchange in progress. A ClientSocket borrows one from the
// worker's spares when a request begins and gives it back once nothing is in
// flight, so only connections with work to do hold one.
//
// Requests are answered one at a time, in order: once a request's message is
// complete the parser pauses, and pipelined bytes wait (unread or buffered)
// until the response is done and flushed below the low watermark. Bodies
// stream both ways through OutQueues; when the queue towards one side rises
// above its high watermark, reading from the other side stops until it
// drains, and the client is not read while its own queue is above it. So
// memory per connection is bounded whatever the client or the server does
// (README, Security). A client that takes none of its queued bytes for
// client_send_timeout is closed.
//
// client_connection.cc: socket, parser, flow control and timers.
// client_exchange.cc: routing, the request to the upstream, local responses.
// client_upstream_response.cc: attempts on servers (circuit breaking,
// passive health), the upstream's response, errors, replays and retries.

#include <netinet/in.h>
#include <uv.h>

#include <string>

#include "core/client_exchange_state.h"
#include "core/client_socket.h"
#include "core/deadline.h"
#include "core/http_head.h"
#include "core/http_parser.h"
#include "core/http_rewrite.h"
#include "core/out_queue.h"
#include "core/pending_input.h"
#include "core/upstream_connection.h"
#include "core/worker.h"

namespace gourmet::core {

class ClientConnection final : public OutQueue::Owner,
                               public UpstreamConnection::Exchange,
                               private HttpParser::Events {
 public:
  explicit ClientConnection(Worker& worker);
  // Closes the timer and frees this once libuv lets go of it.
  void destroy();

  // Starts serving `socket` (state from an earlier socket is forgotten).
  void attach(ClientSocket& socket);
  // Back among the spares: drops buffers grown beyond everyday sizes.
  void recycle();

  // Bytes and end of input from the socket.
  void onData(const char* data, size_t len);
  void onEof();

  // Graceful drain: close now if between requests, else after this response.
  void drain();
  // Close now, whatever is in flight.
  void abort();

 private:
  // What the connection is doing; the exchange's own progress is in `ex_`.
  enum class Phase : uint8_t {
    kBetween,      // no request begun: pipelined bytes may wait, output may drain
    kReadingHead,  // a request head has begun (client_header_timeout)
    kExchange,     // a request is being answered (ex_)
    kClosing,      // no more requests: write what is queued, then close
    kClosed,
  };

  // client_connection.cc
  void onDeadline();
  void updateDeadline();
  void receiveWithin(Millis timeout);
  void watchSending();
  // HttpParser::Events
  void onMessageBegin() override;
  int onHeadersComplete() override;
  void onBody(std::string_view data) override;
  int onMessageComplete() override;

  bool canParseNext() const;
  bool idle() const;
  // Parses `data`; returns where the parser paused for the next request
  // (bytes left over), or nullptr when all was consumed or rejected.
  const char* execute(const char* data, size_t len);
  void rejectMalformed(llhttp_errno_t err);
  void drive();
  void updateReading();
  void flushAll();
  void flushClient();
  void resumeUpstream();
  void close();
  void onDrained(OutQueue& queue) override;
  void onWriteError(OutQueue& queue, int status) override;

  // client_exchange.cc, client_upstream_response.cc
  void beginExchange(uint64_t now_ns);
  int startExchange();
  void forwardBody(const char* data, size_t len);
  void failRequestBody(int status, std::string_view reason);
  void finishRequestBody();
  void respondLocally(int status, std::string_view reason, bool close_after);
  bool mayReplay() const;
  void releaseUpstream(bool reusable);
  void endResponseEarly(std::string_view reason);
  void finishExchange();
  void writeAccessLog(uint64_t now_ns);
  bool onUpstreamHead(UpstreamConnection& conn) override;
  void onUpstreamBody(std::string_view data) override;
  void onUpstreamComplete(UpstreamConnection& conn) override;
  void onUpstreamError(UpstreamConnection& conn, UpstreamError error) override;
  void onUpstreamDrained() override;
  void onUpstreamReadEnd() override;
  void writeUpstream(std::initializer_list<std::string_view> parts);

  // Attempts (client_upstream_response.cc)
  size_t pickServer();
  size_t pickRetryServer();
  bool admitRequest();
  UpstreamConnection* openConnection(bool fresh);
  bool startAttempt(bool fresh);
  void endAttempt();
  void releaseSlots();
  bool scheduleRetry(uint32_t condition, UpstreamConnection* connect_failed);
  bool takeRetrySlot();
  void startRetry();
  void resendRequest();
  Worker& worker_;
  ClientSocket* socket_ = nullptr;
  uv_timer_t timer_{};  // initialised once, reused by every socket served
  Deadline deadline_;   // the earlier of receive_due_ms_ and send_due_ms_, on timer_
  HttpParser parser_{HTTP_REQUEST, *this};
  MessageHead& request_ = parser_.head();
  OutQueue out_;
  char client_ip_[INET6_ADDRSTRLEN] = {};
  PendingInput pending_;  // read but not parsed: pipelined requests
  std::string scratch_;   // serialised heads and pages, reused

  Phase phase_ = Phase::kBetween;
  ClientExchangeState ex_;  // the request being answered; reset by beginExchange()
  UpstreamConnection* upstream_ = nullptr;
  std::string upstream_head_;  // kept to replay the request on a fresh connection
  std::string request_path_;   // normalised: what routing and rewrites see
  std::string forwarded_path_;
  std::string route_scratch_;

  // Timers, as loop times (0 = not running). Receiving: the head, the body.
  // Sending: the client took nothing of its queue since send_mark_.
  uint64_t receive_due_ms_ = 0;
  uint64_t send_due_ms_ = 0;
  uint64_t send_mark_ = 0;     // out_.written() when send_due_ms_ was set
  uint64_t retry_due_ms_ = 0;  // a retry's backoff ends (ex_.attempt is kBackoff)

  // Retries: the request bytes between two attempts (moved from a
  // connection that never connected, or the head again), and the jitter.
  std::string retry_bytes_;
  uint64_t random_state_ = 0;

  // Flow control: each is the reason one side is not being read.
  bool upstream_backpressure_ = false;  // the upstream's queue is full: client not read
  bool upstream_paused_ = false;        // our queue is full: upstream not read
  bool eof_ = false;                    // the client half-closed
  bool in_drive_ = false;               // drive() is on the stack
};

}  // namespace gourmet::core
