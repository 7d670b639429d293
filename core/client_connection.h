#pragma once

// What serving one client connection takes: the parser, the buffers, the
// timer and the exchange in progress. A ClientSocket borrows one from the
// worker's spares when a request begins and gives it back once nothing is in
// flight, so only connections with work to do hold one.
//
// Requests are answered one at a time, in order: once a request's message is
// complete the parser pauses, and pipelined bytes wait (unread or buffered)
// until the response is done. Bodies stream both ways through OutQueues;
// when the queue towards one side rises above its high watermark, reading
// from the other side stops until it drains. So memory per connection is
// bounded whatever the body sizes.
//
// client_connection.cc: socket, parser and lifecycle.
// client_exchange.cc: routing, the upstream side and responses.

#include <netinet/in.h>
#include <uv.h>

#include <string>

#include "core/client_socket.h"
#include "core/deadline.h"
#include "core/http_head.h"
#include "core/http_parser.h"
#include "core/http_rewrite.h"
#include "core/out_queue.h"
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
  // client_connection.cc
  void onDeadline();
  // HttpParser::Events
  void onMessageBegin() override;
  int onHeadersComplete() override;
  void onBody(std::string_view data) override;
  int onMessageComplete() override;

  bool idle() const;
  void execute(const char* data, size_t len);
  void rejectMalformed(llhttp_errno_t err);
  void drive();
  void updateReading();
  void flushAll();
  void flushClient();
  void resumeUpstream();
  void close();
  void armTimer(Millis timeout);
  void onDrained(OutQueue& queue) override;
  void onWriteError(OutQueue& queue, int status) override;

  // client_exchange.cc
  int startExchange();
  void forwardBody(const char* data, size_t len);
  void failRequestBody(int status, std::string_view reason);
  void finishRequestBody();
  void respondLocally(int status, std::string_view reason, bool close_after);
  void connectUpstream(bool fresh);
  void releaseUpstream(bool reusable);
  void finishExchange();
  void writeAccessLog();
  bool onUpstreamHead(UpstreamConnection& conn) override;
  void onUpstreamBody(std::string_view data) override;
  void onUpstreamComplete(UpstreamConnection& conn) override;
  void onUpstreamError(UpstreamConnection& conn, UpstreamError error) override;
  void onUpstreamDrained() override;
  void onUpstreamReadEnd() override;

  Worker& worker_;
  ClientSocket* socket_ = nullptr;
  uv_timer_t timer_{};  // initialised once, reused by every socket served
  Deadline deadline_;   // header, body and idle timeouts, on timer_
  HttpParser parser_{HTTP_REQUEST, *this};
  MessageHead& request_ = parser_.head();
  OutQueue out_;
  char client_ip_[INET6_ADDRSTRLEN] = {};
  std::string pending_input_;  // read but not parsed: pipelined requests
  std::string input_scratch_;
  std::string scratch_;  // serialised heads and pages, reused

  // The exchange in progress (one at a time).
  Generation* generation_ = nullptr;
  Generation::ClusterState* cluster_ = nullptr;
  size_t server_index_ = 0;
  UpstreamConnection* upstream_ = nullptr;
  std::string upstream_head_;  // kept to replay the request on a fresh connection
  std::string request_path_;   // normalised: what routing and rewrites see
  std::string forwarded_path_;
  std::string route_scratch_;
  uint64_t body_forwarded_ = 0;
  uint64_t max_body_size_ = 0;        // 0 = unlimited
  uint64_t bytes_sent_ = 0;           // response bytes queued to the client
  uint64_t started_ms_ = 0;           // loop time when the head was complete
  uint64_t upstream_started_ns_ = 0;  // when the server was picked (latency for balancers)
  uint64_t started_ns_ = 0;           // when the head was complete (worker stats)
  bool upstream_failed_ = false;
  int status_ = 0;
  std::string_view reason_;  // a static string: "ok", "no_route", ...
  BodyFraming request_body_ = BodyFraming::kNone;
  BodyFraming response_body_ = BodyFraming::kNone;
  bool exchange_active_ = false;
  bool request_complete_ = false;
  bool response_started_ = false;
  bool response_complete_ = false;
  bool local_response_ = false;
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool http10_ = false;
  bool retried_ = false;

  // Flow control and lifecycle.
  bool message_begun_ = false;
  bool parser_waiting_ = false;         // paused after a complete request
  bool upstream_backpressure_ = false;  // stopped reading: upstream queue full
  bool upstream_paused_ = false;        // we paused the upstream: our queue is full
  bool eof_ = false;                    // the client half-closed
  bool in_drive_ = false;
  bool closing_ = false;  // close once the output is flushed
  bool closed_ = false;
};

}  // namespace gourmet::core
