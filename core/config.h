#pragma once

// The configuration as the operator wrote it, after validation: plain data
// with the source position of every element, so that later stages (address
// resolution, providers) can still point at the line that caused an error.
// Built by a loader on the main thread; never seen by workers, which get a
// Snapshot built from it.

#include <chrono>
#include <cstdint>
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
  uint32_t max_fail = 10;
  Millis fail_timeout{1000};
  SourcePos pos;
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
  SourcePos pos;
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
