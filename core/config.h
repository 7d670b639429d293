#pragma once

// The configuration as the operator wrote it, after validation: plain data
// with the source position of every element, so that later stages (address
// resolution, providers) can still point at the line that caused an error.
// Built by a loader on the main thread; never seen by workers, which get a
// Snapshot built from it.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "balancers/balancer.h"
#include "core/error.h"

namespace gourmet::core {

using Millis = std::chrono::milliseconds;

struct SourcePos {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based
  // "file:line:column: " prefix for an error message ("file: " when unknown).
  std::string prefix() const;
};

struct ServerConfig {
  std::string address;  // "host:port" exactly as written
  std::string host;
  uint16_t port = 0;
  uint32_t weight = 1;  // 0 = drained: known, but gets no new requests
  // Gourmet's passive check: `max_fail` failures (transport errors, timeouts,
  // 5xx) within `fail_timeout` take the server out for about one
  // fail_timeout. 0 = off, YAML's default; the TOML loader sets Gourmet's
  // default of 10 (in 1 s).
  uint32_t max_fail = 0;
  Millis fail_timeout{1000};
  SourcePos pos;
};

// Passive health checking (Envoy's outlier detection), per upstream. What
// counts as a failure: connect refused or timed out, reset, response
// timeout, an invalid response, and 502/503/504 from the server; never a
// client that aborts or reads slowly.
struct OutlierDetectionConfig {
  uint32_t consecutive_failures = 5;  // 0 = off
  uint32_t consecutive_5xx = 0;       // every 5xx counts; 0 = off
  Millis base_ejection_time{30000};   // x the number of ejections in a row
  Millis max_ejection_time{300000};
  uint32_t max_ejection_percent = 50;  // at least one server may always be ejected
  SourcePos pos;

  bool operator==(const OutlierDetectionConfig& o) const {
    return consecutive_failures == o.consecutive_failures && consecutive_5xx == o.consecutive_5xx &&
           base_ejection_time == o.base_ejection_time && max_ejection_time == o.max_ejection_time &&
           max_ejection_percent == o.max_ejection_percent;
  }
};

// Active health checking (HAProxy's `check inter 2s rise 2 fall 3`), per
// upstream: a GET of `path` to each server once per `interval` for the
// whole process.
struct HealthCheckConfig {
  bool enabled = false;  // a health_check section is present
  std::string path = "/healthz";
  Millis interval{2000};
  Millis timeout{1000};
  uint32_t healthy = 2;    // passes in a row to come back (rise)
  uint32_t unhealthy = 3;  // failures in a row to go down (fall)
  int expect_min = 200;    // the statuses that pass, inclusive
  int expect_max = 399;
  std::string host;                // Host header; "" = the server's address
  bool initial_unhealthy = false;  // a server new to the config waits for its first pass
  SourcePos pos;

  bool operator==(const HealthCheckConfig& o) const {
    return enabled == o.enabled && path == o.path && interval == o.interval &&
           timeout == o.timeout && healthy == o.healthy && unhealthy == o.unhealthy &&
           expect_min == o.expect_min && expect_max == o.expect_max && host == o.host &&
           initial_unhealthy == o.initial_unhealthy;
  }
};

// The failures a retry may follow (retries.on), as bits.
enum RetryOn : uint32_t {
  kRetryConnectFailure = 1u << 0,  // refused, unreachable, connect timeout
  kRetryReset = 1u << 1,           // closed or reset before the response head
  kRetryTimeout = 1u << 2,         // response timeout before the response head
  kRetry502 = 1u << 3,             // the server's own status
  kRetry503 = 1u << 4,
  kRetry504 = 1u << 5,
};

struct RetryConfig {
  uint32_t attempts = 1;  // extra tries after the first; 0 = off
  uint32_t on = kRetryConnectFailure | kRetryReset | kRetry503;
  // Retries in flight stay within budget_percent of the upstream's requests
  // in flight (Envoy's retry budget), but min_retries are always allowed.
  uint32_t budget_percent = 20;
  uint32_t min_retries = 3;
  Millis backoff_base{25};  // full jitter: a wait in [0, min(max, base x 2^n))
  Millis backoff_max{250};
  // Retry POST/PATCH (and unknown methods) after bytes reached a server too.
  bool retry_non_idempotent = false;
  SourcePos pos;

  bool operator==(const RetryConfig& o) const {
    return attempts == o.attempts && on == o.on && budget_percent == o.budget_percent &&
           min_retries == o.min_retries && backoff_base == o.backoff_base &&
           backoff_max == o.backoff_max && retry_non_idempotent == o.retry_non_idempotent;
  }
};

// Circuit breaking: beyond these a request fails at once with 503
// upstream_overflow instead of queueing. 0 = unlimited (Envoy's default of
// 1024 for each is a sensible starting point).
struct CircuitBreakerConfig {
  uint32_t max_connections = 0;  // per server, open connections, whole process
  uint32_t max_pending = 0;      // per upstream, requests waiting for a connection
  uint32_t max_requests = 0;     // per upstream, requests in flight

  bool operator==(const CircuitBreakerConfig&) const = default;
};

struct UpstreamConfig {
  std::string name;
  std::string balancer = "round_robin";
  SourcePos balancer_pos;
  std::string provider = "static";
  SourcePos provider_pos;
  std::vector<ServerConfig> servers;
  Millis connect_timeout{5000};
  Millis response_timeout{60000};
  // Idle pooled connections are closed after this long (or sooner when the
  // server announces a shorter `Keep-Alive: timeout=`).
  Millis keepalive_timeout{15000};
  uint32_t keepalive = 64;  // idle connections kept per worker per server
  // Balancer settings. Each algorithm reads the ones it knows; the others
  // are accepted and ignored (decay with round_robin, say), so a config stays
  // valid when only `balancer:` changes. Ranges are checked by the loader;
  // `seed` is not configurable and stays 0.
  balancers::BalancerParams balancer_params;
  balancers::SlowStart slow_start;  // window 0 = off
  // The key `balancer: hash` hashes: "client_ip", "path", "header:NAME" or
  // "cookie:NAME" (NAME an HTTP token, as written); "" = none. Required by
  // `hash`, refused with any other balancer (validateConfig).
  std::string hash_on;
  SourcePos hash_on_pos;
  OutlierDetectionConfig outlier_detection;
  HealthCheckConfig health_check;
  RetryConfig retries;
  CircuitBreakerConfig limits;  // max_connections, max_pending, max_requests
  // Below this share of eligible servers, balance over all of them (panic).
  uint32_t panic_threshold = 50;
  SourcePos pos;
};

// error_pages: a file per status, and one for every other status gourmet
// answers itself. Read when the config is loaded (a missing file is a config
// error); a location's pages replace the listener's for that status.
struct ErrorPagesConfig {
  std::map<int, std::string> files;    // status -> path as written; 0 = `default`
  std::map<int, SourcePos> positions;  // where each file is named, for its errors
  SourcePos pos;

  bool operator==(const ErrorPagesConfig& o) const { return files == o.files; }
  bool empty() const { return files.empty(); }
};

// What a location's regex is matched against.
enum class MatchTarget {
  kPath,         // the request path without query (gourmet YAML)
  kHostAndPath,  // Host header + path, as Gourmet's TOML configs expect
};

struct LocationConfig {
  std::string pattern;  // RE2 syntax, unanchored
  SourcePos pattern_pos;
  std::string upstream;
  SourcePos upstream_pos;
  std::optional<std::string> rewrite;  // RE2 rewrite string (\1 ...)
  SourcePos rewrite_pos;
  MatchTarget match = MatchTarget::kPath;
  // Gourmet's rule: forwarded path = "/" + last capture group.
  bool rewrite_to_last_group = false;
  std::optional<uint64_t> max_body_size;  // overrides server.limits.max_body_size
  ErrorPagesConfig error_pages;           // over the listener's
  SourcePos pos;
};

// What one client may cost (server.limits). Sizes in bytes.
struct ServerLimits {
  uint64_t max_request_line = 8 * 1024;   // request target -> 414
  uint64_t max_header_bytes = 32 * 1024;  // names + values -> 431
  uint64_t max_headers = 100;             // -> 431
  uint64_t max_body_size = 0;             // 0 = unlimited -> 413 (a location may override)
  // Per worker; 0 = unlimited. Connections beyond it are closed at accept.
  // Not nginx's 512/1024 worker_connections: those count upstream
  // connections too and are the first thing every production guide raises.
  // 10000 idle keep-alive clients cost a worker a few MiB (buffers are
  // pooled and taken per read); what the cap buys is a bound on the worst
  // case, in which each connection holds its queues at the high watermark.
  uint32_t max_connections = 10'000;

  bool operator==(const ServerLimits&) const = default;
};

// Who decides which worker serves a new connection. kKernel: the worker
// whose SO_REUSEPORT listener the kernel's 4-tuple hash picked. kLeastLoaded:
// that worker still accepts, then hands the connection to another worker
// when that one carries less (HAProxy's per-thread accept queues).
enum class AcceptBalance { kKernel, kLeastLoaded };
std::string_view acceptBalanceName(AcceptBalance balance);

// The X-Forwarded-For an upstream gets. kAppend: the client's header with the
// client's address appended (nginx's $proxy_add_x_forwarded_for). kReplace:
// the client's address alone, for an edge that trusts nothing a client claims.
enum class ForwardedFor { kAppend, kReplace };
std::string_view forwardedForName(ForwardedFor mode);

struct ServerSection {
  std::string address = "0.0.0.0";
  uint16_t port = 8080;
  uint32_t workers = 0;  // 0 = one per online core
  AcceptBalance accept_balance = AcceptBalance::kKernel;
  std::vector<LocationConfig> locations;
  std::string access_log;  // empty = off
  Millis client_header_timeout{10000};
  Millis client_idle_timeout{60000};
  Millis client_body_timeout{30000};  // idle time between body reads -> 408
  // A client that accepts no byte of what gourmet has queued for it for this
  // long is closed (nginx's send_timeout, HAProxy's timeout client).
  Millis client_send_timeout{60000};
  ServerLimits limits;
  // On SIGTERM/SIGINT, requests in flight get this long before their
  // connections are closed.
  Millis drain_timeout{15000};
  // Routing sees runs of '/' in the path as one (nginx's merge_slashes).
  bool merge_slashes = true;
  ForwardedFor x_forwarded_for = ForwardedFor::kAppend;
  ErrorPagesConfig error_pages;
  SourcePos pos;
};

struct Config {
  std::string file;
  ServerSection server;
  std::vector<UpstreamConfig> upstreams;  // in file order

  const UpstreamConfig* findUpstream(std::string_view name) const;
};

// ---- Shared by the loaders (YAML, Gourmet TOML) ----
// Errors are "file:line:column: message", positioned by the model's SourcePos.

// Bounds the loaders put on numbers: generous, but they catch a typo'd extra
// digit or two and keep sums of weights far from overflowing in the balancers.
inline constexpr int64_t kMaxWorkers = 1024;
inline constexpr int64_t kMaxWeight = 1'000'000;
inline constexpr int64_t kMaxMaxFail = 1'000'000;
inline constexpr int64_t kMaxRetryAttempts = 10;
inline constexpr int64_t kMaxCircuitLimit = 10'000'000;
inline constexpr int64_t kMaxKeepalive = 1'000'000;
inline constexpr int64_t kMaxChoiceCount = 100;
// server.limits: a request line or head above these is no longer a request a
// browser or an API client sends; 10000 headers is already absurd.
inline constexpr uint64_t kMaxRequestLine = uint64_t{1} << 20;   // 1 MiB
inline constexpr uint64_t kMaxHeaderBytes = uint64_t{16} << 20;  // 16 MiB
inline constexpr int64_t kMaxHeaders = 10'000;
inline constexpr uint64_t kMaxBodySize = uint64_t{1} << 40;  // 1024 GiB; 0 = unlimited
inline constexpr int64_t kMaxConnections = 10'000'000;
// Maglev lookup tables: a prime size in this range (Maglev's paper uses
// 65537 for up to a few hundred servers).
inline constexpr int64_t kMinTableSize = 7;
inline constexpr int64_t kMaxTableSize = 1'000'003;
// The forms of hash_on, for messages.
inline constexpr std::string_view kHashOnForms = "client_ip, path, header:NAME or cookie:NAME";

// Trial division: meant for table sizes, not for large numbers.
bool isPrime(int64_t n);

// What every loader checks on the model it built, whatever the syntax:
// upstream names, balancer and provider names, hash_on (its form, present
// exactly when the balancer is `hash`), non-empty server lists, each
// location's regex, rewrite and upstream, and at least one location. Returns
// the problem that comes first in the file.
Result<void> validateConfig(const Config& config);

// Reads a server address into `server` (address, host, port): "host:port",
// "[v6]:port", or "host" alone when `default_port` is not 0 (then `address`
// gets ":port" appended). `key` names the setting in messages; errors point
// at `server.pos`.
Result<void> setServerAddress(std::string_view key, std::string_view text, uint16_t default_port,
                              ServerConfig& server);

// A listener address: an IPv4 or IPv6 literal, brackets allowed and dropped.
Result<std::string> parseListenAddress(std::string_view text, const SourcePos& at);

// The whole file, or "FILE: cannot read: <strerror>".
Result<std::string> readConfigFile(const std::string& path);

}  // namespace gourmet::core
