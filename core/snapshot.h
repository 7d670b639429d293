#pragma once

// Everything a worker needs to route and forward a request, as one immutable
// object with a version number. Built on the main thread from a validated
// Config plus the server lists providers resolved; published to workers by
// SnapshotPublisher; freed when the last request pinning it ends.

#include <uv.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "balancers/balancer.h"
#include "core/access_log.h"
#include "core/config.h"
#include "core/error.h"
#include "core/error_page.h"
#include "core/hash_key.h"
#include "core/http_head.h"
#include "core/listener.h"
#include "core/route_table.h"
#include "core/server_registry.h"

namespace gourmet::core {

// One server as a provider delivers it: already resolved (no DNS on workers).
struct ResolvedServer {
  std::string address;  // as configured, "host:port"
  sockaddr_storage sockaddr{};
  uint32_t weight = 1;
};

// Server lists by upstream name.
using ServerLists = std::map<std::string, std::vector<ResolvedServer>, std::less<>>;

struct Cluster {
  std::string name;
  std::vector<std::shared_ptr<UpstreamServer>> servers;
  std::vector<balancers::Candidate> candidates;  // parallel to servers
  const balancers::BalancerFactory* balancer = nullptr;
  std::string balancer_name;
  balancers::BalancerParams balancer_params;
  balancers::SlowStart slow_start;
  HashKeySource hash_key;  // what `hash` hashes
  Millis connect_timeout{5000};
  Millis response_timeout{60000};
  Millis keepalive_timeout{15000};
  uint32_t keepalive = 64;
  // Failure handling (README, When servers fail).
  OutlierDetectionConfig outlier_detection;
  std::vector<FailWindow> fail_windows;  // parallel to servers: Gourmet's max_fail
  HealthCheckConfig health_check;
  RetryConfig retries;
  CircuitBreakerConfig limits;
  uint32_t panic_threshold = 50;
  std::shared_ptr<UpstreamCounters> counters;  // never null in a built snapshot
};

// Long-lived things a snapshot refers to but does not own alone: kept from
// one snapshot to the next when their config did not change.
struct SnapshotServices {
  std::shared_ptr<const ListenerSet> listeners;
  std::shared_ptr<AccessLog> access_log;  // null: no access log
  // Wakes the main thread's health monitor when a worker's observation
  // crossed a threshold (ServerHealth::observe); null in tests without one.
  // uv_async_send is the one libuv call safe from any thread.
  uv_async_t* health_wakeup = nullptr;
};

// What one client may cost (server.limits in config).
struct ClientLimits {
  HeadLimits head;               // request target -> 414, header bytes/count -> 431
  uint64_t max_body_size = 0;    // 0 = unlimited -> 413 (a location may override)
  uint32_t max_connections = 0;  // per worker; 0 = unlimited
};

struct Snapshot {
  uint64_t version = 0;
  SnapshotServices services;
  std::vector<Cluster> clusters;
  RouteTable routes;  // each worker compiles its own regexes (core/router.h)
  // The listener's local responses (error_pages files over the built-in
  // pages); a location's own are its Route's.
  std::shared_ptr<const ErrorPages> error_pages = ErrorPages::standard();
  Millis client_header_timeout{10000};
  Millis client_idle_timeout{60000};
  Millis client_body_timeout{30000};
  Millis client_send_timeout{60000};
  ClientLimits limits;
  AcceptBalance accept_balance = AcceptBalance::kKernel;
  bool merge_slashes = true;  // routing merges runs of '/' (server.merge_slashes)
  ForwardedFor x_forwarded_for = ForwardedFor::kAppend;

  Snapshot();
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
};

Result<std::shared_ptr<const Snapshot>> buildSnapshot(const Config& config,
                                                      const ServerLists& servers,
                                                      SnapshotServices services,
                                                      ServerRegistry& registry, uint64_t version);

// Process-wide count of Snapshot objects alive, so tests can prove that a
// superseded snapshot is freed once its last request ends.
size_t liveSnapshots();

}  // namespace gourmet::core
