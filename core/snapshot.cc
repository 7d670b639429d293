#include "core/snapshot.h"

#include <fmt/format.h>

#include <atomic>
#include <random>

#include "balancers/registry.h"
#include "core/error_page_files.h"

namespace gourmet::core {
namespace {

std::atomic<size_t> g_live_snapshots{0};

// One random seed per process for the random-based balancers: two gourmet
// processes should not make the same "random" choices in lockstep.
uint64_t processSeed() {
  static const uint64_t seed = [] {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }();
  return seed;
}

Result<Cluster> buildCluster(const UpstreamConfig& upstream,
                             const std::vector<ResolvedServer>& servers, ServerRegistry& registry) {
  Cluster cluster;
  cluster.name = upstream.name;
  cluster.balancer_name = upstream.balancer;
  cluster.balancer = balancers::findBalancer(upstream.balancer);
  if (cluster.balancer == nullptr) {
    return fail(
        fmt::format("{}unknown balancer '{}'", upstream.balancer_pos.prefix(), upstream.balancer));
  }
  cluster.balancer_params = upstream.balancer_params;
  cluster.balancer_params.seed = processSeed();
  cluster.slow_start = upstream.slow_start;
  auto hash_key = HashKeySource::parse(upstream.hash_on);
  if (!hash_key) return fail(upstream.hash_on_pos.prefix() + hash_key.error().message);
  cluster.hash_key = std::move(*hash_key);
  cluster.connect_timeout = upstream.connect_timeout;
  cluster.response_timeout = upstream.response_timeout;
  cluster.keepalive_timeout = upstream.keepalive_timeout;
  cluster.keepalive = upstream.keepalive;
  cluster.outlier_detection = upstream.outlier_detection;
  cluster.health_check = upstream.health_check;
  cluster.retries = upstream.retries;
  cluster.limits = upstream.limits;
  cluster.panic_threshold = upstream.panic_threshold;
  cluster.counters = registry.counters(upstream.name);
  cluster.servers.reserve(servers.size());
  cluster.fail_windows.reserve(servers.size());
  cluster.candidates.reserve(servers.size());
  for (const ResolvedServer& server : servers) {
    auto identity = registry.acquire(server.address, server.sockaddr);
    cluster.candidates.push_back(
        {identity->id, identity->key, server.weight, &identity->active, &identity->health.flags});
    cluster.servers.push_back(std::move(identity));
    cluster.fail_windows.push_back({});
  }
  // Gourmet's max_fail / fail_timeout are per server in the config; a
  // provider's list names servers by address.
  for (const ServerConfig& configured : upstream.servers) {
    for (size_t i = 0; i < servers.size(); ++i) {
      if (servers[i].address != configured.address) continue;
      cluster.fail_windows[i] = {configured.max_fail,
                                 static_cast<uint64_t>(configured.fail_timeout.count())};
    }
  }
  return cluster;
}

}  // namespace

Snapshot::Snapshot() { g_live_snapshots.fetch_add(1, std::memory_order_relaxed); }
Snapshot::~Snapshot() { g_live_snapshots.fetch_sub(1, std::memory_order_relaxed); }
size_t liveSnapshots() { return g_live_snapshots.load(std::memory_order_relaxed); }

Result<std::shared_ptr<const Snapshot>> buildSnapshot(const Config& config,
                                                      const ServerLists& servers,
                                                      SnapshotServices services,
                                                      ServerRegistry& registry, uint64_t version) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->version = version;
  snapshot->services = std::move(services);
  snapshot->client_header_timeout = config.server.client_header_timeout;
  snapshot->client_idle_timeout = config.server.client_idle_timeout;
  snapshot->client_body_timeout = config.server.client_body_timeout;
  snapshot->client_send_timeout = config.server.client_send_timeout;
  snapshot->accept_balance = config.server.accept_balance;
  snapshot->merge_slashes = config.server.merge_slashes;
  snapshot->x_forwarded_for = config.server.x_forwarded_for;
  const ServerLimits& limits = config.server.limits;
  snapshot->limits.head.max_target = limits.max_request_line;
  snapshot->limits.head.max_header_bytes = limits.max_header_bytes;
  snapshot->limits.head.max_headers = limits.max_headers;
  snapshot->limits.max_body_size = limits.max_body_size;
  snapshot->limits.max_connections = limits.max_connections;

  for (const UpstreamConfig& upstream : config.upstreams) {
    auto list = servers.find(upstream.name);
    if (list == servers.end()) {
      return fail(
          fmt::format("{}no server list for upstream '{}'", upstream.pos.prefix(), upstream.name));
    }
    auto cluster = buildCluster(upstream, list->second, registry);
    if (!cluster) return tl::unexpected(cluster.error());
    snapshot->clusters.push_back(std::move(*cluster));
  }

  std::vector<Route> routes;
  for (const LocationConfig& location : config.server.locations) {
    uint32_t index = 0;
    while (index < snapshot->clusters.size() &&
           snapshot->clusters[index].name != location.upstream) {
      ++index;
    }
    if (index == snapshot->clusters.size()) {
      return fail(fmt::format("{}location upstream '{}' is not defined",
                              location.upstream_pos.prefix(), location.upstream));
    }
    auto route = RouteTable::compile(location, index);
    if (!route) return tl::unexpected(route.error());
    routes.push_back(std::move(*route));
  }
  auto error_pages = loadErrorPages(config);  // reads the files: a reload rereads them
  if (!error_pages) return tl::unexpected(error_pages.error());
  snapshot->error_pages = error_pages->listener;
  snapshot->routes = RouteTable(std::move(routes), std::move(error_pages->locations));
  return std::shared_ptr<const Snapshot>(std::move(snapshot));
}

}  // namespace gourmet::core
