// The upstream half of an exchange: attempts on servers (picked through the
// health-aware ServerSet, within the circuit limits, each one's outcome told
// to the balancer and to outlier detection), the upstream's answer on its
// way to the client (body bytes straight from the upstream's read buffer
// when the client's queue is empty), and the failures: the RFC 9110 replay
// of a stale pooled connection, and retries on another server within the
// retry budget.

#include "core/chunk_framing.h"
#include "core/client_connection.h"
#include "core/log.h"
#include "core/retry_policy.h"

namespace gourmet::core {
namespace {

using Attempt = ClientExchangeState::Attempt;

}  // namespace

// ---- Attempts ----

// Re-reads health only when the process-wide epoch moved: one acquire load
// per pick otherwise.
size_t ClientConnection::pickServer() {
  Generation::ClusterState& state = *ex_.cluster;
  const uint64_t now = uv_now(worker_.loop());
  state.servers->refresh(healthEpoch().load(std::memory_order_acquire), now);
  const size_t server =
      state.balancer->pick({.now_ms = now, .hash = ex_.pick_hash, .has_hash = ex_.has_pick_hash});
  if (server != balancers::kNoServer && state.servers->panicking()) {
    worker_.stats().panic_picks.add();
    const Cluster& cluster = *state.cluster;
    logRepeated(LogLevel::kWarn, {"panic_mode", cluster.name},
                "upstream {}: panic mode: {} of {} servers healthy (panic_threshold {}%), "
                "balancing over all of them",
                cluster.name, state.servers->healthyCount(), state.servers->size(),
                cluster.panic_threshold);
  }
  return server;
}

// Another server than those tried, when one is eligible (retryServer()).
size_t ClientConnection::pickRetryServer() {
  const size_t picked = pickServer();
  const balancers::ServerSet& set = *ex_.cluster->servers;
  return retryServer(
      picked, set.size(), ex_.tried, [&](size_t i) { return set.eligible(i); },
      balancers::kNoServer);
}

// max_requests: counted for the whole request, retries included, and only
// when limited, so an unlimited upstream pays no shared write per request.
bool ClientConnection::admitRequest() {
  const Cluster& cluster = *ex_.cluster->cluster;
  const uint32_t max = cluster.limits.max_requests;
  if (max == 0) return true;
  std::atomic<uint32_t>& requests = cluster.counters->requests;
  if (requests.fetch_add(1, std::memory_order_relaxed) >= max) {
    requests.fetch_sub(1, std::memory_order_relaxed);
    worker_.stats().upstream_overflow.add();
    logRepeated(LogLevel::kWarn, {"upstream_overflow", cluster.name, "max_requests"},
                "upstream {}: {} requests in flight: max_requests reached", cluster.name, max);
    return false;
  }
  ex_.holds_request = true;
  return true;
}

// An idle pooled connection to ex_.server_index (unless `fresh`), or a new
// one within max_connections and max_pending; nullptr beyond them.
UpstreamConnection* ClientConnection::openConnection(bool fresh) {
  const Cluster& cluster = *ex_.cluster->cluster;
  UpstreamPool* pool = ex_.cluster->pools[ex_.server_index];
  if (!fresh) {
    if (UpstreamConnection* idle = pool->takeIdle()) return idle;
  }
  const CircuitBreakerConfig& limits = cluster.limits;
  const UpstreamServer& server = *cluster.servers[ex_.server_index];
  std::string_view limit;
  std::atomic<uint32_t>* pending = nullptr;
  // Checked, then counted: two workers may pass at once, so the limits hold
  // to within a connection or two per worker (Envoy's are approximate too).
  if (limits.max_connections != 0 &&
      server.connections.load(std::memory_order_relaxed) >= limits.max_connections) {
    limit = "max_connections";
  } else if (limits.max_pending != 0) {
    pending = &cluster.counters->pending;
    if (pending->fetch_add(1, std::memory_order_relaxed) >= limits.max_pending) {
      pending->fetch_sub(1, std::memory_order_relaxed);
      limit = "max_pending";
    }
  }
  if (!limit.empty()) {
    worker_.stats().upstream_overflow.add();
    logRepeated(LogLevel::kWarn, {"upstream_overflow", cluster.name, limit},
                "upstream {} {}: {} reached", cluster.name, server.address, limit);
    return nullptr;
  }
  return pool->connect(cluster.connect_timeout, pending);
}

// One try on ex_.server_index. False (nothing held, nothing sent) beyond a
// circuit limit.
bool ClientConnection::startAttempt(bool fresh) {
  UpstreamConnection* conn = openConnection(fresh);
  if (conn == nullptr) return false;
  Generation::ClusterState& state = *ex_.cluster;
  const Cluster& cluster = *state.cluster;
  upstream_ = conn;
  ex_.tried.add(ex_.server_index);
  ++ex_.attempts;
  ex_.attempt = Attempt::kRunning;
  ex_.outcome = ExchangeOutcome::kUnmeasured;
  ex_.upstream_failed = ex_.upstream_measured = false;
  ex_.upstream_latency_us = 0;
  cluster.servers[ex_.server_index]->active.fetch_add(1, std::memory_order_relaxed);
  state.balancer->onStart(ex_.server_index, uv_now(worker_.loop()));
  ex_.upstream_clock_ns = uv_hrtime();
  conn->attach(this, cluster.response_timeout);
  return true;
}

// The running attempt is over: the balancer hears how, and outlier
// detection gets its outcome (nothing when the client left first).
void ClientConnection::endAttempt() {
  if (ex_.attempt != Attempt::kRunning) return;
  ex_.attempt = Attempt::kNone;
  Generation::ClusterState& state = *ex_.cluster;
  const Cluster& cluster = *state.cluster;
  UpstreamServer& server = *cluster.servers[ex_.server_index];
  const uint64_t now = uv_now(worker_.loop());
  server.active.fetch_sub(1, std::memory_order_relaxed);
  state.balancer->onEnd(ex_.server_index, {.now_ms = now,
                                           .latency_us = ex_.upstream_latency_us,
                                           .failed = ex_.upstream_failed,
                                           .measured = ex_.upstream_measured});
  const FailWindow window = ex_.server_index < cluster.fail_windows.size()
                                ? cluster.fail_windows[ex_.server_index]
                                : FailWindow{};
  if (server.health.observe(ex_.outcome, cluster.outlier_detection, window, now)) {
    // A threshold was crossed: the main thread decides about an ejection.
    if (uv_async_t* wakeup = ex_.generation->snapshot->services.health_wakeup) {
      uv_async_send(wakeup);
    }
  }
}

void ClientConnection::releaseSlots() {
  if (ex_.cluster == nullptr) return;
  UpstreamCounters& counters = *ex_.cluster->cluster->counters;
  if (ex_.holds_request) counters.requests.fetch_sub(1, std::memory_order_relaxed);
  if (ex_.holds_retry) counters.retries.fetch_sub(1, std::memory_order_relaxed);
  ex_.holds_request = ex_.holds_retry = false;
}

// ---- Retries ----

// Envoy's budget over the upstream's requests in flight: counters->requests
// when max_requests keeps it, else the servers' in-flight counts (read only
// here, on a failure). A request holds one slot from its first retry to its
// end, however many retries it makes: its attempts run one at a time.
bool ClientConnection::takeRetrySlot() {
  if (ex_.holds_retry) return true;
  const Cluster& cluster = *ex_.cluster->cluster;
  uint64_t in_flight = 0;
  if (cluster.limits.max_requests != 0) {
    in_flight = cluster.counters->requests.load(std::memory_order_relaxed);
  } else {
    for (const auto& server : cluster.servers) {
      in_flight += server->active.load(std::memory_order_relaxed);
    }
  }
  const uint64_t budget =
      retryBudget(in_flight, cluster.retries.budget_percent, cluster.retries.min_retries);
  std::atomic<uint32_t>& retries = cluster.counters->retries;
  if (retries.fetch_add(1, std::memory_order_relaxed) + 1 > budget) {
    retries.fetch_sub(1, std::memory_order_relaxed);
    worker_.stats().retries_budget_exhausted.add();
    logRepeated(LogLevel::kWarn, {"retry_budget_exhausted", cluster.name},
                "upstream {}: retry budget exhausted ({} retries for {} requests in flight)",
                cluster.name, budget, in_flight);
    return false;
  }
  ex_.holds_retry = true;
  return true;
}

// The running attempt failed under `condition` (a RetryOn bit). When the
// failure, the request, the attempts left, the servers and the budget allow,
// the attempt ends and a retry on another server waits for its backoff;
// `connect_failed` is the connection that never connected, whose queue
// holds the request so far. False: nothing changed.
bool ClientConnection::scheduleRetry(uint32_t condition, UpstreamConnection* connect_failed) {
  const Cluster& cluster = *ex_.cluster->cluster;
  const RetryConfig& config = cluster.retries;
  const RetryFacts facts{
      .condition = condition,
      .attempts_made = ex_.attempts,
      .connect_failure = connect_failed != nullptr,
      .response_begun = ex_.response != ClientExchangeState::Response::kNone || ex_.bytes_sent != 0,
      .idempotent = ex_.idempotent,
      .body_forwarded = ex_.body_forwarded != 0,
  };
  const RetryFrom from = planRetry(facts, config);
  if (from == RetryFrom::kNone) return false;
  const size_t next = pickRetryServer();
  if (next == balancers::kNoServer || !takeRetrySlot()) return false;
  worker_.stats().retries.add();
  endAttempt();
  const size_t failed = ex_.server_index;
  ex_.server_index = next;
  ex_.attempt = Attempt::kBackoff;
  retry_bytes_.clear();
  if (from == RetryFrom::kQueue) {
    connect_failed->swapUnsent(retry_bytes_);  // head and body so far, never written
  } else {
    retry_bytes_.append(upstream_head_);
    if (ex_.request == ClientExchangeState::Request::kComplete &&
        ex_.request_body == BodyFraming::kChunked) {
      retry_bytes_.append(kLastChunk);
    }
  }
  const uint64_t wait =
      backoffMs(static_cast<uint64_t>(config.backoff_base.count()),
                static_cast<uint64_t>(config.backoff_max.count()),
                static_cast<uint32_t>(ex_.attempts - 1), nextRandom(random_state_));
  log(LogLevel::kDebug, "upstream {} {}: retry {} on {} in {} ms", cluster.name,
      cluster.servers[failed]->address, ex_.attempts, cluster.servers[next]->address, wait);
  retry_due_ms_ = uv_now(worker_.loop()) + wait;
  updateDeadline();
  updateReading();  // the client waits too: its bytes would have nowhere to go
  return true;
}

// The backoff is over (onDeadline).
void ClientConnection::startRetry() {
  retry_due_ms_ = 0;
  ex_.attempt = Attempt::kNone;
  // A request that cannot be sent twice takes no chance on a pooled
  // connection the server may be closing.
  const bool fresh = !ex_.idempotent || ex_.body_forwarded != 0;
  if (!startAttempt(fresh)) {
    respondLocally(503, "upstream_overflow",
                   ex_.request != ClientExchangeState::Request::kComplete);
    drive();
    return;
  }
  upstream_->swapUnsent(retry_bytes_);  // its queue was empty
  if (ex_.request == ClientExchangeState::Request::kComplete) upstream_->requestComplete();
  updateDeadline();
  updateReading();
  upstream_->flush();  // may fail at once: onUpstreamError, re-entrant here
}

void ClientConnection::writeUpstream(std::initializer_list<std::string_view> parts) {
  if (upstream_ != nullptr) {
    upstream_->write(parts);
    return;
  }
  for (std::string_view part : parts) retry_bytes_.append(part);  // between two attempts
}

// ---- The response ----

bool ClientConnection::onUpstreamHead(UpstreamConnection& conn) {
  ex_.upstream_latency_us = (uv_hrtime() - ex_.upstream_clock_ns) / 1000;
  ex_.upstream_measured = true;
  int status = conn.status();
  ex_.outcome = outcomeOfStatus(status);
  // Decided before a byte of it is written to the client; the response is
  // dropped with its connection.
  if (const uint32_t condition = retryConditionOf(status);
      condition != 0 && scheduleRetry(condition, nullptr)) {
    upstream_ = nullptr;
    conn.discardResponse();
    return true;
  }
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
  endAttempt();
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
  // Part of the same attempt: the server did nothing wrong.
  if (error == UpstreamError::kReset && !conn.responseStarted() && conn.requestsServed() > 0 &&
      mayReplay()) {
    ex_.retried = true;
    log(LogLevel::kDebug, "upstream {} {}: pooled connection closed, retrying", cluster.name,
        server.address);
    upstream_ = openConnection(true);
    if (upstream_ == nullptr) {
      respondLocally(503, "upstream_overflow",
                     ex_.request != ClientExchangeState::Request::kComplete);
      drive();
      return;
    }
    upstream_->attach(this, cluster.response_timeout);
    upstream_->send(upstream_head_);
    if (ex_.request == ClientExchangeState::Request::kComplete) {
      if (ex_.request_body == BodyFraming::kChunked) upstream_->write({kLastChunk});
      upstream_->requestComplete();
    }
    upstream_->flush();
    return;
  }
  ex_.upstream_failed = true;
  ex_.outcome = ExchangeOutcome::kTransportFailure;
  if (!ex_.upstream_measured) {
    ex_.upstream_latency_us = (uv_hrtime() - ex_.upstream_clock_ns) / 1000;
    ex_.upstream_measured = true;
  }
  logRepeated(LogLevel::kWarn, {upstreamErrorReason(error), cluster.name, server.address},
              "upstream {} {}: {} ({} {})", cluster.name, server.address,
              upstreamErrorReason(error), ex_.method, forwarded_path_);
  if (scheduleRetry(retryConditionOf(error), isConnectFailure(error) ? &conn : nullptr)) return;
  endAttempt();
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
