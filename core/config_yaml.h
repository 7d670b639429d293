#pragma once

// The YAML config loader (gourmet's own format, shaped like Gourmet's):
//
//   server:    address, port, workers, access_log, client_header_timeout,
//              client_idle_timeout, drain_timeout,
//              locations: [{path, upstream, rewrite, match}]
//   upstreams: name -> {balancer, provider, connect_timeout, response_timeout,
//              keepalive_timeout, keepalive, servers: [{path, weight,
//              max_fail, fail_timeout}]}
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
