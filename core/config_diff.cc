#include "core/config_diff.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <string_view>

namespace gourmet::core {
namespace {

// Equality of values, leaving out source positions. `host` and `port` are
// derived from `address`.
bool sameSettings(const ServerConfig& a, const ServerConfig& b) {
  return a.weight == b.weight && a.max_fail == b.max_fail && a.fail_timeout == b.fail_timeout;
}

bool sameServers(const std::vector<ServerConfig>& a, const std::vector<ServerConfig>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].address != b[i].address || !sameSettings(a[i], b[i])) return false;
  }
  return true;
}

// The configurable parameters (the seed is not one).
bool sameParams(const balancers::BalancerParams& a, const balancers::BalancerParams& b) {
  return a.choice_count == b.choice_count && a.active_request_bias == b.active_request_bias &&
         a.decay == b.decay && a.default_rtt == b.default_rtt && a.table_size == b.table_size;
}

bool sameSlowStart(const balancers::SlowStart& a, const balancers::SlowStart& b) {
  return a.window == b.window && a.aggression == b.aggression &&
         a.min_weight_percent == b.min_weight_percent;
}

bool sameUpstream(const UpstreamConfig& a, const UpstreamConfig& b) {
  return a.balancer == b.balancer && a.hash_on == b.hash_on &&
         sameParams(a.balancer_params, b.balancer_params) &&
         sameSlowStart(a.slow_start, b.slow_start) && a.provider == b.provider &&
         a.connect_timeout == b.connect_timeout && a.response_timeout == b.response_timeout &&
         a.keepalive_timeout == b.keepalive_timeout && a.keepalive == b.keepalive &&
         a.outlier_detection == b.outlier_detection && a.health_check == b.health_check &&
         a.retries == b.retries && a.limits == b.limits && a.panic_threshold == b.panic_threshold &&
         sameServers(a.servers, b.servers);
}

bool sameLocation(const LocationConfig& a, const LocationConfig& b) {
  return a.pattern == b.pattern && a.upstream == b.upstream && a.rewrite == b.rewrite &&
         a.match == b.match && a.rewrite_to_last_group == b.rewrite_to_last_group &&
         a.max_body_size == b.max_body_size && a.error_pages == b.error_pages;
}

// Pairs servers by address; a repeated address pairs its n-th occurrences.
void diffServers(const std::vector<ServerConfig>& before, const std::vector<ServerConfig>& after,
                 ConfigDiff& diff) {
  std::map<std::string_view, std::vector<const ServerConfig*>> old_by_address;
  for (const ServerConfig& server : before) old_by_address[server.address].push_back(&server);
  std::map<std::string_view, size_t> used;
  for (const ServerConfig& server : after) {
    const auto found = old_by_address.find(server.address);
    size_t& n = used[server.address];
    if (found == old_by_address.end() || n >= found->second.size()) {
      ++diff.servers_added;
      continue;
    }
    if (!sameSettings(*found->second[n], server)) ++diff.servers_changed;
    ++n;
  }
  for (const auto& [address, servers] : old_by_address) {
    diff.servers_removed += servers.size() - used[address];
  }
}

}  // namespace

bool ConfigDiff::empty() const {
  return upstreams_added.empty() && upstreams_removed.empty() && upstreams_changed.empty() &&
         servers_added == 0 && servers_removed == 0 && servers_changed == 0 &&
         locations_added == 0 && locations_removed == 0 && locations_changed == 0 &&
         !listener_changed && !workers_changed && !other_changed;
}

std::string ConfigDiff::summary() const {
  if (empty()) return "no changes";
  std::string line = fmt::format("upstreams +{} -{} ~{}", upstreams_added.size(),
                                 upstreams_removed.size(), upstreams_changed.size());
  std::vector<std::string> names;
  if (!upstreams_added.empty())
    names.push_back(fmt::format("added: {}", fmt::join(upstreams_added, ", ")));
  if (!upstreams_removed.empty()) {
    names.push_back(fmt::format("removed: {}", fmt::join(upstreams_removed, ", ")));
  }
  if (!upstreams_changed.empty()) {
    names.push_back(fmt::format("changed: {}", fmt::join(upstreams_changed, ", ")));
  }
  if (!names.empty()) line += fmt::format(" ({})", fmt::join(names, "; "));
  line +=
      fmt::format(", servers +{} -{} ~{}, locations +{} -{} ~{}", servers_added, servers_removed,
                  servers_changed, locations_added, locations_removed, locations_changed);
  if (listener_changed) line += ", listener changed";
  if (workers_changed) line += ", workers changed (needs a restart)";
  if (other_changed) line += ", other settings changed";
  return line;
}

ConfigDiff diffConfigs(const Config& before, const Config& after) {
  ConfigDiff diff;
  for (const UpstreamConfig& old : before.upstreams) {
    const UpstreamConfig* now = after.findUpstream(old.name);
    if (now == nullptr) {
      diff.upstreams_removed.push_back(old.name);
      diff.servers_removed += old.servers.size();
      continue;
    }
    if (!sameUpstream(old, *now)) diff.upstreams_changed.push_back(old.name);
    diffServers(old.servers, now->servers, diff);
  }
  for (const UpstreamConfig& now : after.upstreams) {
    if (before.findUpstream(now.name) != nullptr) continue;
    diff.upstreams_added.push_back(now.name);
    diff.servers_added += now.servers.size();
  }

  const std::vector<LocationConfig>& old_locations = before.server.locations;
  const std::vector<LocationConfig>& new_locations = after.server.locations;
  const size_t common = std::min(old_locations.size(), new_locations.size());
  for (size_t i = 0; i < common; ++i) {
    if (!sameLocation(old_locations[i], new_locations[i])) ++diff.locations_changed;
  }
  diff.locations_added = new_locations.size() - common;
  diff.locations_removed = old_locations.size() - common;

  const ServerSection& a = before.server;
  const ServerSection& b = after.server;
  diff.listener_changed = a.address != b.address || a.port != b.port;
  diff.workers_changed = a.workers != b.workers;
  diff.other_changed = a.access_log != b.access_log || a.accept_balance != b.accept_balance ||
                       a.client_header_timeout != b.client_header_timeout ||
                       a.client_idle_timeout != b.client_idle_timeout ||
                       a.drain_timeout != b.drain_timeout ||
                       a.client_body_timeout != b.client_body_timeout ||
                       a.client_send_timeout != b.client_send_timeout || !(a.limits == b.limits) ||
                       a.merge_slashes != b.merge_slashes ||
                       a.x_forwarded_for != b.x_forwarded_for || !(a.error_pages == b.error_pages);
  return diff;
}

}  // namespace gourmet::core
