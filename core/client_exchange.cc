// The exchange half of ClientConnection: from a parsed request head to a
// routed, balanced upstream request, and the response back.

#include <fmt/format.h>

#include "balancers/hash.h"
#include "core/client_connection.h"
#include "core/error_page.h"
#include "core/log.h"
#include "core/request_framing.h"
#include "core/request_path.h"
#include "core/request_target.h"

namespace gourmet::core {
namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

int ClientConnection::startExchange() {
  exchange_active_ = true;
  request_complete_ = response_started_ = response_complete_ = local_response_ = false;
  retried_ = false;
  body_forwarded_ = bytes_sent_ = 0;
  started_ms_ = uv_now(worker_.loop());
  started_ns_ = uv_hrtime();
  status_ = 0;
  reason_ = "ok";
  http10_ = parser_.httpMajor() == 1 && parser_.httpMinor() == 0;
  head_request_ = parser_.method() == HTTP_HEAD;
  keep_alive_ = parser_.shouldKeepAlive() && !worker_.draining();

  if (parser_.httpMajor() != 1 || parser_.httpMinor() > 1) {
    respondLocally(505, "unsupported_http_version", true);
    return HPE_PAUSED;
  }
  if (FramingVerdict framing = checkRequestFraming(request_, http10_); framing.status != 0) {
    respondLocally(framing.status, framing.reason, true);
    return HPE_PAUSED;
  }
  size_t hosts = request_.count(HeaderName::kHost);
  if (hosts > 1 || (hosts == 0 && !http10_)) {
    respondLocally(400, hosts == 0 ? "missing_host" : "duplicate_host", true);
    return HPE_PAUSED;
  }
  RequestTarget target;
  if (!parseRequestTarget(request_.target(), request_.find(HeaderName::kHost).value_or(""),
                          target) ||
      (target.path == "*" && parser_.method() != HTTP_OPTIONS) || !validHost(target.host)) {
    respondLocally(400, "bad_request_target", true);
    return HPE_PAUSED;
  }
  bool expects_continue = false;
  if (auto expect = request_.find(HeaderName::kExpect)) {
    if (!equalsIgnoreCase(*expect, "100-continue")) {
      respondLocally(417, "unsupported_expect", true);
      return HPE_PAUSED;
    }
    expects_continue = !http10_;
  }

  request_body_ = BodyFraming::kNone;
  if (parser_.chunked()) {
    request_body_ = BodyFraming::kChunked;
  } else if (parser_.hasContentLength()) {
    request_body_ = BodyFraming::kContentLength;
  }
  bool has_body = request_body_ == BodyFraming::kChunked ||
                  (request_body_ == BodyFraming::kContentLength && parser_.contentLength() > 0);

  generation_ = worker_.pin();
  const Snapshot& snapshot = *generation_->snapshot;
  if (normalizeRequestPath(target.path, snapshot.merge_slashes, request_path_) != PathStatus::kOk) {
    respondLocally(400, "bad_request_target", true);
    return HPE_PAUSED;
  }
  const Route* route =
      snapshot.router.match(target.host, request_path_, forwarded_path_, route_scratch_);
  if (route == nullptr) {
    respondLocally(404, "no_route", false);
    return 0;
  }
  // Routing saw the normalised path; without a rewrite the origin gets the path as sent.
  if (!route->rewrite && !route->rewrite_to_last_group) forwarded_path_.assign(target.path);
  max_body_size_ = route->max_body_size.value_or(generation_->snapshot->limits.max_body_size);
  if (max_body_size_ != 0 && request_body_ == BodyFraming::kContentLength &&
      parser_.contentLength() > max_body_size_) {
    respondLocally(413, "body_too_large", true);
    return HPE_PAUSED;
  }
  cluster_ = &generation_->clusters[route->cluster];
  balancers::PickContext pick{.now_ms = started_ms_};
  if (auto key = hashKeyOf(cluster_->cluster->hash_key, request_, client_ip_, request_path_)) {
    pick.hash = balancers::hashKey(*key);
    pick.has_hash = true;
  }
  server_index_ = cluster_->balancer->pick(pick);
  if (server_index_ == balancers::kNoServer) {
    cluster_ = nullptr;
    respondLocally(503, "no_server", false);
    return 0;
  }
  cluster_->cluster->servers[server_index_]->active.fetch_add(1, std::memory_order_relaxed);
  cluster_->balancer->onStart(server_index_, started_ms_);
  upstream_started_ns_ = uv_hrtime();
  upstream_failed_ = false;

  UpstreamRequest upstream{
      .method = parser_.methodName(),
      .path = forwarded_path_,
      .query = target.query,
      .host = target.host,
      .client_ip = client_ip_,
      .proto = snapshot.services.listeners->scheme(),
      .replace_forwarded_for = snapshot.x_forwarded_for == ForwardedFor::kReplace,
      .client_http10 = http10_,
      .body = request_body_,
      .content_length = parser_.contentLength(),
  };
  writeUpstreamRequestHead(request_, upstream, upstream_head_);
  if (expects_continue && has_body) out_.append(kContinue);
  connectUpstream(false);
  return 0;
}

void ClientConnection::connectUpstream(bool fresh) {
  const Cluster& cluster = *cluster_->cluster;
  UpstreamPool* pool = cluster_->pools[server_index_];
  upstream_ = fresh ? nullptr : pool->takeIdle();
  if (upstream_ == nullptr) upstream_ = pool->connect(cluster.connect_timeout);
  upstream_->attach(this, cluster.response_timeout);
  upstream_->send(upstream_head_);
}

void ClientConnection::forwardBody(const char* data, size_t len) {
  if (upstream_ == nullptr || local_response_) return;  // answered already: discard
  if (request_body_ == BodyFraming::kChunked) {
    // Re-framed as one chunk per piece received: nothing of the client's
    // chunk syntax (extensions, odd sizes) reaches the upstream.
    fmt::format_to(std::back_inserter(upstream_->out().buffer()), "{:x}\r\n", len);
    upstream_->send({data, len});
    upstream_->send("\r\n");
  } else {
    upstream_->send({data, len});
  }
  body_forwarded_ += len;
  if (max_body_size_ != 0 && body_forwarded_ > max_body_size_) {
    failRequestBody(413, "body_too_large");  // a chunked body grew past the limit
    return;
  }
  upstream_->requestProgress();
  if (upstream_->out().aboveHigh()) {
    upstream_backpressure_ = true;
    updateReading();
  }
}

// The request body cannot go on (too large, too slow): the upstream got part
// of it, so that connection is dropped, and the client hears why unless its
// response has already begun.
void ClientConnection::failRequestBody(int status, std::string_view reason) {
  if (upstream_ != nullptr) {
    upstream_->close();
    upstream_ = nullptr;
  }
  upstream_failed_ = false;
  if (response_started_) {
    keep_alive_ = false;
    closing_ = true;
    response_complete_ = true;
  } else {
    respondLocally(status, reason, true);
  }
  drive();
}

void ClientConnection::finishRequestBody() {
  request_complete_ = true;
  if (upstream_ != nullptr && request_body_ == BodyFraming::kChunked) upstream_->send("0\r\n\r\n");
}

void ClientConnection::respondLocally(int status, std::string_view reason, bool close_after) {
  if (close_after) keep_alive_ = false;
  ErrorResponse page{
      .status = status,
      .reason = reason,
      .json = acceptsJson(request_.find(HeaderName::kAccept).value_or("")),
      .keep_alive = keep_alive_,
      .head_request = head_request_,
  };
  writeErrorResponse(page, scratch_);
  out_.append(scratch_);
  status_ = status;
  reason_ = reason;
  bytes_sent_ += scratch_.size();
  local_response_ = response_started_ = response_complete_ = true;
  if (status >= 500) {
    log(LogLevel::kWarn, "{} {} {}: {} {}", client_ip_, parser_.methodName(), request_.target(),
        status, reason);
  }
}

void ClientConnection::releaseUpstream(bool reusable) {
  if (upstream_ == nullptr) return;
  UpstreamConnection* conn = upstream_;
  upstream_ = nullptr;
  conn->detach();
  const Cluster& cluster = *cluster_->cluster;
  cluster_->pools[server_index_]->release(conn, reusable, cluster.keepalive_timeout,
                                          cluster.keepalive);
}

void ClientConnection::writeAccessLog() {
  AccessLog* log = worker_.accessLog();
  if (log == nullptr) return;
  AccessLogEntry entry{
      .client_ip = client_ip_,
      .method = parser_.methodName(),
      .target = request_.target(),
      .upstream = cluster_ != nullptr
                      ? std::string_view(cluster_->cluster->servers[server_index_]->address)
                      : std::string_view(),
      .reason = reason_,
      .http_minor = http10_ ? 0 : 1,
      .status = status_,
      .bytes_sent = bytes_sent_,
      .duration_ms = static_cast<double>(uv_now(worker_.loop()) - started_ms_),
      .when = std::time(nullptr),
  };
  formatAccessLogLine(entry, scratch_);
  log->write(scratch_);
}

void ClientConnection::finishExchange() {
  if (!request_complete_) keep_alive_ = false;  // body left unread: the stream is out of sync
  writeAccessLog();
  const uint64_t now_ns = uv_hrtime();
  worker_.stats().requests.add();
  worker_.stats().latency.record((now_ns - started_ns_) / 1000);
  if (upstream_ != nullptr) {
    upstream_->close();
    upstream_ = nullptr;
  }
  if (cluster_ != nullptr) {
    cluster_->cluster->servers[server_index_]->active.fetch_sub(1, std::memory_order_relaxed);
    cluster_->balancer->onEnd(server_index_, {.now_ms = uv_now(worker_.loop()),
                                              .latency_us = (now_ns - upstream_started_ns_) / 1000,
                                              .failed = upstream_failed_});
    cluster_ = nullptr;
  }
  if (generation_ != nullptr) {
    worker_.unpin(generation_);
    generation_ = nullptr;
  }
  exchange_active_ = false;
  upstream_backpressure_ = upstream_paused_ = false;
  if (!keep_alive_ || worker_.draining()) {
    closing_ = true;
    return;
  }
  if (parser_waiting_) {
    parser_waiting_ = false;
    parser_.resume();
  }
  armTimer(worker_.idleTimeout());
}

bool ClientConnection::onUpstreamHead(UpstreamConnection& conn) {
  int status = conn.status();
  if (head_request_ || status == 204 || status == 304) {
    response_body_ = BodyFraming::kNone;
  } else if (conn.contentLength()) {
    response_body_ = BodyFraming::kContentLength;
  } else {
    // Chunked or close-delimited upstream: chunk for HTTP/1.1 clients so the
    // connection survives; HTTP/1.0 clients get the body until close.
    response_body_ = http10_ ? BodyFraming::kUntilClose : BodyFraming::kChunked;
  }
  if (response_body_ == BodyFraming::kUntilClose || worker_.draining()) keep_alive_ = false;
  DownstreamResponse response{
      .status = status,
      .reason = conn.head().target(),
      .body = response_body_,
      .keep_alive = keep_alive_,
      .client_http10 = http10_,
      .upstream_http10 = conn.http10(),
  };
  writeDownstreamResponseHead(conn.head(), response, scratch_);
  out_.append(scratch_);
  status_ = status;
  bytes_sent_ += scratch_.size();
  response_started_ = true;
  // HEAD, 204 and 304 end at their head whatever Content-Length says
  // (RFC 9112 section 6.3); llhttp must not wait for a body.
  return response_body_ == BodyFraming::kNone;
}

void ClientConnection::onUpstreamBody(std::string_view data) {
  bytes_sent_ += data.size();
  if (response_body_ == BodyFraming::kChunked) {
    fmt::format_to(std::back_inserter(out_.buffer()), "{:x}\r\n", data.size());
    out_.append(data);
    out_.append("\r\n");
  } else {
    out_.append(data);
  }
  if (out_.aboveHigh() && upstream_ != nullptr && !upstream_paused_) {
    upstream_paused_ = true;
    upstream_->pauseReading();
  }
}

void ClientConnection::onUpstreamReadEnd() { flushClient(); }

void ClientConnection::onUpstreamComplete(UpstreamConnection& conn) {
  if (response_body_ == BodyFraming::kChunked) out_.append("0\r\n\r\n");
  response_complete_ = true;
  releaseUpstream(conn.reusable() && request_complete_);
  drive();
}

void ClientConnection::onUpstreamError(UpstreamConnection& conn, UpstreamError error) {
  upstream_ = nullptr;  // it closed itself
  const Cluster& cluster = *cluster_->cluster;
  const UpstreamServer& server = *cluster.servers[server_index_];
  // A pooled connection the server closed before answering: replay once on a
  // fresh one when nothing of the body has been handed over yet.
  if (error == UpstreamError::kReset && !conn.responseStarted() && conn.requestsServed() > 0 &&
      !retried_ && body_forwarded_ == 0 && !response_started_) {
    retried_ = true;
    log(LogLevel::kDebug, "upstream {} {}: pooled connection closed, retrying", cluster.name,
        server.address);
    connectUpstream(true);
    if (request_complete_ && request_body_ == BodyFraming::kChunked) upstream_->send("0\r\n\r\n");
    upstream_->flush();
    return;
  }
  upstream_failed_ = true;
  log(LogLevel::kWarn, "upstream {} {}: {} ({} {})", cluster.name, server.address,
      upstreamErrorReason(error), parser_.methodName(), forwarded_path_);
  if (response_started_) {
    reason_ = upstreamErrorReason(error);
    // Part of the response is already out: the only honest signal left is
    // to cut the connection, so the client never takes it as complete.
    keep_alive_ = false;
    closing_ = true;
    response_complete_ = true;
  } else {
    respondLocally(upstreamErrorStatus(error), upstreamErrorReason(error), !request_complete_);
  }
  drive();
}

void ClientConnection::onUpstreamDrained() {
  if (!upstream_backpressure_) return;
  upstream_backpressure_ = false;
  updateReading();
}

}  // namespace gourmet::core
