// The exchange half of ClientConnection: from a parsed request head to a
// routed, balanced upstream request, gourmet's own responses, and the end
// of an exchange. client_upstream_response.cc takes the upstream's answer.

#include "balancers/hash.h"
#include "core/chunk_framing.h"
#include "core/client_connection.h"
#include "core/error_page.h"
#include "core/log.h"
#include "core/request_framing.h"
#include "core/request_path.h"
#include "core/request_target.h"

namespace gourmet::core {
namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// RFC 9110 section 9.2.2: a request that may be sent again without a
// different effect. POST and PATCH are not (nginx stopped replaying them in
// 1.9.13); neither are methods gourmet does not know the meaning of.
bool idempotent(llhttp_method_t method) {
  switch (method) {
    case HTTP_GET:
    case HTTP_HEAD:
    case HTTP_OPTIONS:
    case HTTP_TRACE:
    case HTTP_PUT:
    case HTTP_DELETE:
      return true;
    default:
      return false;
  }
}

}  // namespace

void ClientConnection::beginExchange(uint64_t now_ns) {
  ex_ = ClientExchangeState{};
  ex_.started_ns = now_ns;
  ex_.started_ms = uv_now(worker_.loop());
  ex_.request_id = RequestId::next(worker_.index());
}

int ClientConnection::startExchange() {
  ex_.method = parser_.methodName();
  ex_.http10 = parser_.httpMajor() == 1 && parser_.httpMinor() == 0;
  ex_.head_request = parser_.method() == HTTP_HEAD;
  ex_.idempotent = idempotent(parser_.method());
  ex_.keep_alive = parser_.shouldKeepAlive() && !worker_.draining();

  if (parser_.httpMajor() != 1 || parser_.httpMinor() > 1) {
    respondLocally(505, "unsupported_http_version", true);
    return HPE_PAUSED;
  }
  if (FramingVerdict framing = checkRequestFraming(request_, ex_.http10); framing.status != 0) {
    respondLocally(framing.status, framing.reason, true);
    return HPE_PAUSED;
  }
  size_t hosts = request_.count(HeaderName::kHost);
  if (hosts > 1 || (hosts == 0 && !ex_.http10)) {
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
    expects_continue = !ex_.http10;
  }

  if (parser_.chunked()) {
    ex_.request_body = BodyFraming::kChunked;
  } else if (parser_.hasContentLength()) {
    ex_.request_body = BodyFraming::kContentLength;
  }
  bool has_body = ex_.request_body == BodyFraming::kChunked ||
                  (ex_.request_body == BodyFraming::kContentLength && parser_.contentLength() > 0);

  ex_.generation = worker_.pin();
  const Snapshot& snapshot = *ex_.generation->snapshot;
  if (normalizeRequestPath(target.path, snapshot.merge_slashes, request_path_) != PathStatus::kOk) {
    respondLocally(400, "bad_request_target", true);
    return HPE_PAUSED;
  }
  const Route* route =
      ex_.generation->router.match(target.host, request_path_, forwarded_path_, route_scratch_);
  if (route != nullptr) ex_.error_pages = route->error_pages;
  if (route == nullptr) {
    respondLocally(404, "no_route", false);
    return 0;
  }
  // Routing saw the normalised path; without a rewrite the origin gets the path as sent.
  if (!route->rewrite && !route->rewrite_to_last_group) forwarded_path_.assign(target.path);
  ex_.max_body_size = route->max_body_size.value_or(snapshot.limits.max_body_size);
  if (ex_.max_body_size != 0 && ex_.request_body == BodyFraming::kContentLength &&
      parser_.contentLength() > ex_.max_body_size) {
    respondLocally(413, "body_too_large", true);
    return HPE_PAUSED;
  }
  ex_.cluster = &ex_.generation->clusters[route->cluster];
  if (auto key = hashKeyOf(ex_.cluster->cluster->hash_key, request_, client_ip_, request_path_)) {
    ex_.pick_hash = balancers::hashKey(*key);
    ex_.has_pick_hash = true;
  }
  ex_.server_index = pickServer();
  if (ex_.server_index == balancers::kNoServer) {
    respondLocally(503, "no_healthy_server", false);
    return 0;
  }
  if (!admitRequest()) {
    respondLocally(503, "upstream_overflow", false);
    return 0;
  }

  UpstreamRequest upstream{
      .method = parser_.methodName(),
      .path = forwarded_path_,
      .query = target.query,
      .host = target.host,
      .client_ip = client_ip_,
      .proto = snapshot.services.listeners->scheme(),
      .replace_forwarded_for = snapshot.x_forwarded_for == ForwardedFor::kReplace,
      .client_http10 = ex_.http10,
      .body = ex_.request_body,
      .content_length = parser_.contentLength(),
  };
  writeUpstreamRequestHead(request_, upstream, upstream_head_);
  if (!startAttempt(false)) {
    respondLocally(503, "upstream_overflow", false);
    return 0;
  }
  upstream_->send(upstream_head_);
  if (expects_continue && has_body) out_.append(kContinue);
  return 0;
}

void ClientConnection::forwardBody(const char* data, size_t len) {
  // Answered already: discard. Between two attempts the bytes wait for the
  // retry (the client is not read then, so that is at most one read).
  if (ex_.local ||
      (upstream_ == nullptr && ex_.attempt != ClientExchangeState::Attempt::kBackoff)) {
    return;
  }
  if (ex_.request_body == BodyFraming::kChunked) {
    // Re-framed as one chunk per piece received: nothing of the client's
    // chunk syntax (extensions, odd sizes) reaches the upstream.
    char size_line[20];
    writeUpstream({{size_line, chunkSizeLine(len, size_line)}, {data, len}, "\r\n"});
  } else {
    writeUpstream({{data, len}});
  }
  ex_.body_forwarded += len;
  if (ex_.max_body_size != 0 && ex_.body_forwarded > ex_.max_body_size) {
    failRequestBody(413, "body_too_large");  // a chunked body grew past the limit
    return;
  }
  if (upstream_ == nullptr) return;
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
  if (ex_.response != ClientExchangeState::Response::kNone) {
    endResponseEarly(reason);
  } else {
    respondLocally(status, reason, true);
  }
  drive();
}

void ClientConnection::finishRequestBody() {
  ex_.request = ClientExchangeState::Request::kComplete;
  receive_due_ms_ = 0;
  if (ex_.attempt == ClientExchangeState::Attempt::kBackoff) {
    if (ex_.request_body == BodyFraming::kChunked) writeUpstream({kLastChunk});
    return;  // the retry tells its connection the request is complete
  }
  if (upstream_ == nullptr) return;
  if (ex_.request_body == BodyFraming::kChunked) upstream_->write({kLastChunk});
  upstream_->requestComplete();
  // The server's own time starts once it has the whole request; an upload
  // paced by the client is not the server's latency.
  if (ex_.body_forwarded > 0 && ex_.response == ClientExchangeState::Response::kNone) {
    ex_.upstream_clock_ns = uv_hrtime();
  }
}

void ClientConnection::respondLocally(int status, std::string_view reason, bool close_after) {
  if (close_after) ex_.keep_alive = false;
  ErrorResponse page{
      .status = status,
      .reason = reason,
      .json = acceptsJson(request_.find(HeaderName::kAccept).value_or("")),
      .keep_alive = ex_.keep_alive,
      .head_request = ex_.head_request,
      .request_id = ex_.request_id.view(),
  };
  const ErrorPages& pages = ex_.error_pages != nullptr ? *ex_.error_pages : worker_.errorPages();
  const size_t written = pages.append(page, out_.buffer());
  ex_.status = status;
  ex_.reason = reason;
  ex_.bytes_sent += written;
  ex_.local = true;
  ex_.response = ClientExchangeState::Response::kComplete;
  if (status >= 500) {
    logRepeated(LogLevel::kWarn, {reason, "client responses"}, "{} {} {}: {} {} (request {})",
                client_ip_, ex_.method, request_.target(), status, reason, ex_.request_id.view());
  }
}

// Part of the response is already out: the only honest signal left is to
// cut the connection, so the client never takes it as complete.
void ClientConnection::endResponseEarly(std::string_view reason) {
  ex_.reason = reason;
  ex_.keep_alive = false;
  ex_.response = ClientExchangeState::Response::kComplete;
}

void ClientConnection::releaseUpstream(bool reusable) {
  if (upstream_ == nullptr) return;
  UpstreamConnection* conn = upstream_;
  upstream_ = nullptr;
  conn->detach();
  const Cluster& cluster = *ex_.cluster->cluster;
  ex_.cluster->pools[ex_.server_index]->release(conn, reusable, cluster.keepalive_timeout,
                                                cluster.keepalive);
}

void ClientConnection::writeAccessLog(uint64_t now_ns) {
  AccessLog* log = worker_.accessLog();
  if (log == nullptr) return;
  const bool head_parsed = ex_.method != "-";
  AccessLogEntry entry{
      .client_ip = client_ip_,
      .method = ex_.method,
      .target = head_parsed ? request_.target() : std::string_view(),
      .upstream = ex_.cluster != nullptr && ex_.attempts > 0
                      ? std::string_view(ex_.cluster->cluster->servers[ex_.server_index]->address)
                      : std::string_view(),
      .reason = ex_.reason,
      .http_minor = ex_.http10 ? 0 : 1,
      .status = ex_.status,
      .bytes_sent = ex_.bytes_sent,
      .duration_ms = static_cast<double>(now_ns - ex_.started_ns) / 1e6,
      .when = std::time(nullptr),
  };
  formatAccessLogLine(entry, scratch_);
  log->write(worker_.index(), scratch_);
}

void ClientConnection::finishExchange() {
  if (ex_.request != ClientExchangeState::Request::kComplete) {
    ex_.keep_alive = false;  // body left unread: the stream is out of sync
  }
  const uint64_t now_ns = uv_hrtime();
  writeAccessLog(now_ns);
  worker_.stats().requests.add();
  worker_.stats().latency.record((now_ns - ex_.started_ns) / 1000);
  if (upstream_ != nullptr) {
    upstream_->close();
    upstream_ = nullptr;
  }
  // An attempt still running ends with what the server did so far: a
  // client that left, or read slowly, says nothing about the server.
  endAttempt();
  releaseSlots();
  ex_.cluster = nullptr;
  retry_due_ms_ = 0;
  if (ex_.generation != nullptr) {
    worker_.unpin(ex_.generation);
    ex_.generation = nullptr;
  }
  upstream_backpressure_ = upstream_paused_ = false;
  receive_due_ms_ = 0;
  updateDeadline();
  phase_ = ex_.keep_alive && !worker_.draining() ? Phase::kBetween : Phase::kClosing;
}

}  // namespace gourmet::core
