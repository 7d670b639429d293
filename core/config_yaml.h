#pragma once

// The YAML config loader (gourmet's own format, shaped like Gourmet's):
//
//   server:    address, port, workers, access_log, client_header_timeout,
//              client_idle_timeout, drain_timeout,
//              locations: [{path, upstream, rewrite, match}]
//   upstreams: name -> {balancer, hash_on, choice_count, active_request_bias,
//              decay, default_rtt, table_size, slow_start: {window,
//              aggression, min_weight_percent}, provider, connect_timeout,
//              response_timeout, keepalive_timeout, keepalive,
//              servers: [{path, weight, max_fail, fail_timeout}]}
//
// Balancer parameters (UpstreamConfig): choice_count 1-100; active_request_bias
// >= 0; decay, default_rtt > 0; table_size a prime in 7-1000003; slow_start
// window >= 0 (0 = off), aggression > 0, min_weight_percent 0-100; hash_on
// client_ip, path, header:NAME or cookie:NAME, with `balancer: hash` only.
//
// Aliases kept from Gourmet: `location` for a location's `path`, `http_pass`
// for `upstream`, `address` for a server's `path`. A location's `match` is
// `path` (default: the regex sees the path; optional `rewrite`) or `gourmet`
// (Gourmet's rules: the regex sees Host + path and the forwarded path is "/" +
// the last capture group, or the whole match without groups; no `rewrite`).
// Everything is validated here (validateConfig) except provider names
// (providers live in a higher layer), and the first problem found comes back
// as one "file:line:column: ..." message.
// Main thread only; never throws.

#include <string>
#include <string_view>

#include "core/config.h"
#include "core/error.h"

namespace gourmet::core {

// Parses and validates a YAML config. `file` is used in error messages only.
Result<Config> parseYamlConfig(std::string_view text, const std::string& file);

// Reads the file (error "FILE: cannot read: <strerror>") then parseYamlConfig.
Result<Config> loadYamlConfig(const std::string& path);

}  // namespace gourmet::core
