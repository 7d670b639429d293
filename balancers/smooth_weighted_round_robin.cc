#include "balancers/smooth_weighted_round_robin.h"

namespace gourmet::balancers {

SmoothWeightedRoundRobin::SmoothWeightedRoundRobin(std::span<const Candidate> servers) {
  // Drained servers are left out of the slots altogether, so that pick()
  // does not even look at them.
  for (size_t i = 0; i < servers.size(); ++i) {
    if (servers[i].weight == 0) continue;
    slots_.push_back(Slot{.current = 0, .weight = servers[i].weight, .index = i});
    total_ += servers[i].weight;
  }
}

size_t SmoothWeightedRoundRobin::pick(const PickContext& ctx) {
  (void)ctx;
  if (slots_.empty()) return kNoServer;
  Slot* best = nullptr;
  for (Slot& slot : slots_) {
    slot.current += slot.weight;
    // Strictly greater keeps the lowest index on a tie, so sequences are
    // deterministic and testable.
    if (best == nullptr || slot.current > best->current) best = &slot;
  }
  best->current -= total_;
  return best->index;
}

void SmoothWeightedRoundRobin::skip(uint64_t picks) {
  for (uint64_t i = 0; i < picks; ++i) pick(PickContext{});
}

std::unique_ptr<Balancer> SmoothWeightedRoundRobinFactory::create(
    std::span<const Candidate> servers, uint32_t worker_index) const {
  auto balancer = std::make_unique<SmoothWeightedRoundRobin>(servers);
  // The sequence repeats every total_weight picks (the currents return to
  // zero), so starting worker k `k mod total` picks in is only a phase
  // shift: any full period of any worker still holds each server exactly
  // `weight` times. A stride of one pick is the best spread we can give
  // without knowing the worker count: the first picks of workers 0..N-1
  // are then exactly the first N picks one shared balancer would have made
  // (5,1,1 over three workers: a, a, b), and while workers run at similar
  // rates their picks at any moment form one contiguous window of the same
  // smooth sequence. The skip costs at most worker_index * servers steps.
  if (balancer->totalWeight() > 0) balancer->skip(worker_index % balancer->totalWeight());
  return balancer;
}

}  // namespace gourmet::balancers
