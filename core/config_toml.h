#pragma once

// The loader for Gourmet's TOML configs, in Gourmet's format unchanged, so an
// operator can start gourmet on the file they already have:
//
//   [upstreams.NAME]            balancer, provider
//   [[upstreams.NAME.servers]]  path ("host:port", or "host" for port 80),
//                               weight, max_fail (default 10),
//                               fail_timeout (whole seconds, default 1)
//   [server]                    port (default 8080); gourmet adds address
//                               (default 0.0.0.0) and workers
//   [[server.locations]]        location + upstream (as Gourmet's README
//                               writes them) or path + http_pass (as its code
//                               reads them)
//
// Every location keeps Gourmet's semantics (MatchTarget::kHostAndPath and
// rewrite_to_last_group): the regex sees Host + path, and the forwarded path
// is "/" + the last capture group, or the whole match when there is no group.
// Unlike Gourmet, locations are tried in file order, and unknown keys and bad
// values are errors "file:line:column: ..." checked as for YAML
// (validateConfig). Main thread only; never throws.

#include <string>
#include <string_view>

#include "core/config.h"
#include "core/error.h"

namespace gourmet::core {

// Parses and validates a TOML config. `file` is used in error messages only.
Result<Config> parseTomlConfig(std::string_view text, const std::string& file);

// Reads the file (error "FILE: cannot read: <strerror>") then parseTomlConfig.
Result<Config> loadTomlConfig(const std::string& path);

}  // namespace gourmet::core
