#pragma once

// Least connections (`balancer: least_conn`), as nginx's least_conn: pick
// the server with the fewest requests in flight per unit of effective weight
// (active / weight), so a server with twice the weight carries twice the
// requests. The active counts are the process-wide ones (ServerSet::active),
// so with several workers each still sees the whole load (envoy#33707,
// apisix#9225 are what per-worker counts lead to).
//
// Ties are broken by smooth weighted round robin among the tied servers, as
// nginx does, not by list order: when idle (all counts 0) the servers take
// turns in proportion to their weights, instead of the first one taking
// every request a lightly loaded upstream sees. With equal weights that is
// plain rotation. Use it for long or uneven requests (uploads, streaming,
// slow queries), where the number in flight says more than a turn order.

#include <cstdint>
#include <memory>
#include <vector>

#include "balancers/balancer.h"

namespace gourmet::balancers {

class LeastConnections final : public Balancer {
 public:
  // `worker_index` shifts the tie-break rotation, so workers do not all
  // send their first request to the same server.
  LeastConnections(const ServerSet& servers, uint32_t worker_index);

  // kNoServer when no server is eligible. O(servers).
  size_t pick(const PickContext& ctx) override;

 private:
  // Smooth weighted round robin over the servers marked in tied_.
  size_t breakTie();

  const ServerSet& servers_;
  // Per pick: one consistent reading of the counters, which other workers
  // keep changing, and of the weights.
  std::vector<uint32_t> active_;
  std::vector<double> weight_;
  std::vector<uint8_t> tied_;
  std::vector<double> current_;  // round-robin state of the tie-break
};

class LeastConnectionsFactory final : public BalancerFactory {
 public:
  std::unique_ptr<Balancer> create(const ServerSet& servers, const BalancerParams& params,
                                   uint32_t worker_index) const override;
};

}  // namespace gourmet::balancers
