#pragma once

// One request being answered on a client connection: how far the request
// and the response have got, and what the access log, the latency histogram
// and the balancer are told when it ends. ClientConnection replaces the
// whole value when a request begins (beginExchange), rejected ones included,
// so no fact of one request can leak into the next one's log line.

#include <cstdint>
#include <string_view>

#include "core/error_page.h"
#include "core/http_rewrite.h"
#include "core/request_id.h"
#include "core/retry_policy.h"
#include "core/worker.h"

namespace gourmet::core {

struct ClientExchangeState {
  // The request as it arrives from the client.
  enum class Request : uint8_t {
    kBody,      // its body is still coming (client_body_timeout)
    kComplete,  // all of it has been read
  };
  // The response as it goes out to the client.
  enum class Response : uint8_t {
    kNone,       // nothing sent yet: an upstream is being asked
    kStreaming,  // the upstream's head is out, its body is streaming
    kComplete,   // everything is queued (gourmet's own page, or the upstream's end)
  };

  Request request = Request::kBody;
  Response response = Response::kNone;
  bool local = false;              // the response is gourmet's own page
  bool keep_alive = true;          // the connection may serve another request after this one
  bool head_request = false;       // HEAD: the response has no body
  bool http10 = false;             // the client spoke HTTP/1.0
  bool retried = false;            // replayed once on a fresh upstream connection
  bool idempotent = false;         // RFC 9110 section 9.2.2: may be replayed
  bool upstream_failed = false;    // the server failed this request
  bool upstream_measured = false;  // upstream_latency_us holds the server's time
  BodyFraming request_body = BodyFraming::kNone;
  BodyFraming response_body = BodyFraming::kNone;

  int status = 0;
  std::string_view reason = "ok";  // static: "ok", "no_route", ...
  std::string_view method = "-";   // static: llhttp's name, once the head is parsed
  uint64_t body_forwarded = 0;     // request body bytes handed to the upstream
  uint64_t max_body_size = 0;      // 0 = unlimited
  uint64_t bytes_sent = 0;         // response bytes queued to the client
  uint64_t started_ms = 0;         // loop time the request began
  uint64_t started_ns = 0;         // the same, for the latency histogram
  uint64_t upstream_clock_ns = 0;  // the server has had the request since then
  uint64_t upstream_latency_us = 0;

  RequestId request_id;  // X-Request-Id of gourmet's own responses, in its 5xx log lines
  // The route's pages for gourmet's own responses; null before routing
  // (the listener's). Lives as long as `generation` is pinned.
  const ErrorPages* error_pages = nullptr;

  Generation* generation = nullptr;  // pinned while the request is served
  Generation::ClusterState* cluster = nullptr;
  size_t server_index = 0;

  // ---- Upstream attempts: retries, circuit breaking, passive health ----
  // (client_upstream_response.cc). An attempt is one try on one server: it
  // holds the server's `active` count and the balancer's onStart until it
  // ends, and its outcome is what outlier detection is told.
  enum class Attempt : uint8_t {
    kNone,     // none running (none yet, or the last one ended)
    kRunning,  // on server_index
    kBackoff,  // the last one failed; the retry on server_index waits for its time
  };
  Attempt attempt = Attempt::kNone;
  ExchangeOutcome outcome = ExchangeOutcome::kUnmeasured;  // of the running attempt
  uint8_t attempts = 0;                                    // started, the first included
  bool holds_request = false;  // counted in counters->requests (max_requests)
  bool holds_retry = false;    // counted in counters->retries (the budget)
  bool has_pick_hash = false;  // pick_hash is the request's hash key
  uint64_t pick_hash = 0;      // kept for the retries' picks
  TriedServers tried;
};

}  // namespace gourmet::core
