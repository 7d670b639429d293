#include "balancers/least_connections.h"

namespace gourmet::balancers {

LeastConnections::LeastConnections(const ServerSet& servers, uint32_t worker_index)
    : servers_(servers),
      active_(servers.size(), 0),
      weight_(servers.size(), 0.0),
      tied_(servers.size(), 0),
      current_(servers.size(), 0.0) {
  // Start worker k k turns into the rotation an idle upstream would follow
  // (as SmoothWeightedRoundRobinFactory does); the state is periodic with
  // the total weight, so that bounds the work.
  uint64_t total = 0;
  for (size_t i = 0; i < servers.size(); ++i) {
    tied_[i] = servers.eligible(i) ? 1 : 0;
    weight_[i] = tied_[i] ? servers.weight(i) : 0;
    total += tied_[i] ? servers.weight(i) : 0;
  }
  if (total == 0) return;
  for (uint64_t skip = worker_index % total; skip > 0; --skip) breakTie();
}

size_t LeastConnections::pick(const PickContext& ctx) {
  const bool ramping = servers_.ramping(ctx.now_ms);
  size_t best = kNoServer;
  size_t ties = 0;
  for (size_t i = 0; i < active_.size(); ++i) {
    tied_[i] = 0;
    if (!servers_.eligible(i)) {
      weight_[i] = 0;
      continue;
    }
    weight_[i] =
        ramping ? servers_.effectiveWeight(i, ctx.now_ms) : static_cast<double>(servers_.weight(i));
    active_[i] = servers_.active(i);
    if (best == kNoServer) {
      best = i;
      ties = 1;
      continue;
    }
    // active_i / weight_i against active_best / weight_best, cross-multiplied
    // (weights are > 0): exact for integer weights, so equal loads tie.
    const double mine = active_[i] * weight_[best];
    const double theirs = active_[best] * weight_[i];
    if (mine < theirs) {
      best = i;
      ties = 1;
    } else if (mine == theirs) {
      ++ties;
    }
  }
  if (ties <= 1) return best;
  for (size_t i = best; i < active_.size(); ++i) {
    tied_[i] = weight_[i] > 0 && active_[i] * weight_[best] == active_[best] * weight_[i];
  }
  return breakTie();
}

size_t LeastConnections::breakTie() {
  size_t chosen = kNoServer;
  double total = 0;
  for (size_t i = 0; i < current_.size(); ++i) {
    if (!tied_[i]) continue;
    current_[i] += weight_[i];
    total += weight_[i];
    if (chosen == kNoServer || current_[i] > current_[chosen]) chosen = i;
  }
  if (chosen != kNoServer) current_[chosen] -= total;
  return chosen;
}

std::unique_ptr<Balancer> LeastConnectionsFactory::create(const ServerSet& servers,
                                                          const BalancerParams&,
                                                          uint32_t worker_index) const {
  return std::make_unique<LeastConnections>(servers, worker_index);
}

}  // namespace gourmet::balancers
