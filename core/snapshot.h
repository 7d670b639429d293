#pragma once

// Everything a worker needs to route and forward a request, as one immutable
// object with a version number. Built on the main thread from a validated
// Config plus the server lists providers resolved; published to workers by
// SnapshotPublisher; freed when the last request pinning it ends.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "balancers/balancer.h"
#include "core/config.h"
#include "core/error.h"
#include "core/router.h"
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
  Millis connect_timeout{5000};
  Millis response_timeout{60000};
  Millis keepalive_timeout{15000};
  uint32_t keepalive = 64;
};

struct Snapshot {
  uint64_t version = 0;
  std::string listen_address;
  uint16_t listen_port = 0;
  std::vector<Cluster> clusters;
  Router router;
  Millis client_header_timeout{10000};
  Millis client_idle_timeout{60000};
};

Result<std::shared_ptr<const Snapshot>> buildSnapshot(const Config& config,
                                                      const ServerLists& servers,
                                                      ServerRegistry& registry, uint64_t version);

}  // namespace gourmet::core
