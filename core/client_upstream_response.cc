// The upstream's answer on its way to the client: the response head, body
// bytes (straight from the upstream's read buffer when the client's queue
// is empty), the end, and the failures (with the RFC 9110 replay rule).

#include "core/chunk_framing.h"
#include "core/client_connection.h"
#include "core/log.h"

namespace gourmet::core {

bool ClientConnection::onUpstreamHead(UpstreamConnection& conn) {
  ex_.upstream_latency_us = (uv_hrtime() - ex_.upstream_clock_ns) / 1000;
  ex_.upstream_measured = true;
  int status = conn.status();
  if (ex_.head_request || status == 204 || status == 304) {
    ex_.response_body = BodyFraming::kNone;
  } else if (conn.contentLength()) {
    ex_.response_body = BodyFraming::kContentLength;
  } else {
    // Chunked or close-delimited upstream: chunk for HTTP/1.1 clients so the
    // connection survives; HTTP/1.0 clients get the body until close.
    ex_.response_body = ex_.http10 ? BodyFraming::kUntilClose : BodyFraming::kChunked;
  }
  if (ex_.response_body == BodyFraming::kUntilClose || worker_.draining()) ex_.keep_alive = false;
  DownstreamResponse response{
      .status = status,
      .reason = conn.head().target(),
      .body = ex_.response_body,
      .keep_alive = ex_.keep_alive,
      .client_http10 = ex_.http10,
      .upstream_http10 = conn.http10(),
  };
  writeDownstreamResponseHead(conn.head(), response, scratch_);
  out_.append(scratch_);
  ex_.status = status;
  ex_.bytes_sent += scratch_.size();
  ex_.response = ClientExchangeState::Response::kStreaming;
  // HEAD, 204 and 304 end at their head whatever Content-Length says
  // (RFC 9112 section 6.3); llhttp must not wait for a body.
  return ex_.response_body == BodyFraming::kNone;
}

void ClientConnection::onUpstreamBody(std::string_view data) {
  ex_.bytes_sent += data.size();
  // Straight from the upstream's read buffer to the client socket when
  // nothing is queued; only what the kernel does not take is copied.
  if (ex_.response_body == BodyFraming::kChunked) {
    char size_line[20];
    out_.write({{size_line, chunkSizeLine(data.size(), size_line)}, data, "\r\n"});
  } else {
    out_.write({data});
  }
  if (out_.aboveHigh() && upstream_ != nullptr && !upstream_paused_) {
    upstream_paused_ = true;
    upstream_->pauseReading();  // also stops its response timer: the client is slow, not it
  }
}

void ClientConnection::onUpstreamReadEnd() {
  flushClient();
  // Above the high watermark the client is not read either, whoever filled it.
  if (phase_ != Phase::kClosed) updateReading();
}

void ClientConnection::onUpstreamComplete(UpstreamConnection& conn) {
  if (ex_.response_body == BodyFraming::kChunked) out_.write({kLastChunk});
  ex_.response = ClientExchangeState::Response::kComplete;
  releaseUpstream(conn.reusable() && ex_.request == ClientExchangeState::Request::kComplete);
  drive();
}

// Only a request that may be sent twice, none of whose body has gone, and
// whose response has not begun (RFC 9110 section 9.2.2).
bool ClientConnection::mayReplay() const {
  return ex_.idempotent && !ex_.retried && ex_.body_forwarded == 0 &&
         ex_.response == ClientExchangeState::Response::kNone;
}

void ClientConnection::onUpstreamError(UpstreamConnection& conn, UpstreamError error) {
  upstream_ = nullptr;  // it closed itself
  const Cluster& cluster = *ex_.cluster->cluster;
  const UpstreamServer& server = *cluster.servers[ex_.server_index];
  // A pooled connection the server closed before answering: replay once on a
  // fresh one when the request allows it.
  if (error == UpstreamError::kReset && !conn.responseStarted() && conn.requestsServed() > 0 &&
      mayReplay()) {
    ex_.retried = true;
    log(LogLevel::kDebug, "upstream {} {}: pooled connection closed, retrying", cluster.name,
        server.address);
    connectUpstream(true);
    if (ex_.request == ClientExchangeState::Request::kComplete) {
      if (ex_.request_body == BodyFraming::kChunked) upstream_->write({kLastChunk});
      upstream_->requestComplete();
    }
    upstream_->flush();
    return;
  }
  ex_.upstream_failed = true;
  if (!ex_.upstream_measured) {
    ex_.upstream_latency_us = (uv_hrtime() - ex_.upstream_clock_ns) / 1000;
    ex_.upstream_measured = true;
  }
  logRepeated(LogLevel::kWarn, {upstreamErrorReason(error), cluster.name, server.address},
              "upstream {} {}: {} ({} {})", cluster.name, server.address,
              upstreamErrorReason(error), ex_.method, forwarded_path_);
  if (ex_.response != ClientExchangeState::Response::kNone) {
    endResponseEarly(upstreamErrorReason(error));
  } else {
    respondLocally(upstreamErrorStatus(error), upstreamErrorReason(error),
                   ex_.request != ClientExchangeState::Request::kComplete);
  }
  drive();
}

void ClientConnection::onUpstreamDrained() {
  if (!upstream_backpressure_) return;
  upstream_backpressure_ = false;
  updateReading();
}

}  // namespace gourmet::core
