#include "balancers/smooth_weighted_round_robin.h"

namespace gourmet::balancers {

SmoothWeightedRoundRobin::SmoothWeightedRoundRobin(const ServerSet& servers)
    : servers_(servers), current_(servers.size(), 0.0) {}

size_t SmoothWeightedRoundRobin::pick(const PickContext& ctx) {
  bool ramping = servers_.ramping(ctx.now_ms);
  size_t best = kNoServer;
  double total = 0;
  for (size_t i = 0; i < current_.size(); ++i) {
    if (!servers_.eligible(i)) continue;
    double weight =
        ramping ? servers_.effectiveWeight(i, ctx.now_ms) : static_cast<double>(servers_.weight(i));
    current_[i] += weight;
    total += weight;
    // Strictly greater keeps the lowest index on a tie, so sequences are
    // deterministic and testable.
    if (best == kNoServer || current_[i] > current_[best]) best = i;
  }
  if (best != kNoServer) current_[best] -= total;
  return best;
}

void SmoothWeightedRoundRobin::skip(uint64_t picks) {
  for (uint64_t i = 0; i < picks; ++i) pick(PickContext{});
}

uint64_t SmoothWeightedRoundRobin::totalWeight() const {
  uint64_t total = 0;
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (servers_.eligible(i)) total += servers_.weight(i);
  }
  return total;
}

std::unique_ptr<Balancer> SmoothWeightedRoundRobinFactory::create(const ServerSet& servers,
                                                                  const BalancerParams&,
                                                                  uint32_t worker_index) const {
  auto balancer = std::make_unique<SmoothWeightedRoundRobin>(servers);
  // The sequence repeats every total_weight picks (the currents return to
  // zero), so starting worker k `k mod total` picks in is only a phase
  // shift: any full period of any worker still holds each server exactly
  // `weight` times. A stride of one pick is the best spread we can give
  // without knowing the worker count: the first picks of workers 0..N-1
  // are then exactly the first N picks one shared balancer would have made
  // (5,1,1 over three workers: a, a, b). The skip costs at most
  // worker_index * servers steps.
  if (uint64_t total = balancer->totalWeight(); total > 0) balancer->skip(worker_index % total);
  return balancer;
}

}  // namespace gourmet::balancers
