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
#include <vector>

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
  SourcePos pos;
};

struct ServerSection {
  std::string address = "0.0.0.0";
  uint16_t port = 8080;
  uint32_t workers = 0;  // 0 = one per online core
  std::vector<LocationConfig> locations;
  std::string access_log;  // empty = off
  Millis client_header_timeout{10000};
  Millis client_idle_timeout{60000};
  SourcePos pos;
};

struct Config {
  std::string file;
  ServerSection server;
  std::vector<UpstreamConfig> upstreams;  // in file order

  const UpstreamConfig* findUpstream(std::string_view name) const;
};

}  // namespace gourmet::core
