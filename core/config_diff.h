#pragma once

// What a reload changes, for the one log line SIGHUP writes ("config
// reloaded: upstreams +1 -0 ~1 (added: api; changed: web), ...") and for
// refusing what a reload cannot apply (workers). Compares values only: source
// positions never count, so editing comments or whitespace diffs empty.

#include <cstddef>
#include <string>
#include <vector>

#include "core/config.h"

namespace gourmet::core {

struct ConfigDiff {
  // Upstreams by name. "Changed": any setting (balancer parameters and
  // slow_start included), or its server list (address, weight, max_fail,
  // fail_timeout, and their order) differs.
  std::vector<std::string> upstreams_added, upstreams_removed, upstreams_changed;
  // Servers across all upstreams, keyed by upstream and address: the servers
  // of an added (removed) upstream count as added (removed); "changed" is a
  // server kept at its address with another weight, max_fail or fail_timeout.
  size_t servers_added = 0, servers_removed = 0, servers_changed = 0;
  // Locations by position in the list: same index, different content (pattern,
  // upstream, rewrite, match) = changed. A reorder shows as changes.
  size_t locations_added = 0, locations_removed = 0, locations_changed = 0;
  bool listener_changed = false;  // server.address or server.port
  bool workers_changed = false;   // not reloadable: needs a restart
  bool other_changed = false;     // timeouts, access_log, drain_timeout...

  bool empty() const;
  // One line: "no changes", or e.g. "upstreams +1 -0 ~1 (added: api; changed:
  // web), servers +2 -1 ~1, locations +0 -1 ~0, listener changed".
  std::string summary() const;
};

ConfigDiff diffConfigs(const Config& before, const Config& after);

}  // namespace gourmet::core
