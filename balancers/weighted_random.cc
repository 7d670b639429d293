#include "balancers/weighted_random.h"

#include <algorithm>

namespace gourmet::balancers {

WeightedSampler::WeightedSampler(const ServerSet& servers)
    : servers_(servers), weights_(servers.size(), 0.0), cumulative_(servers.size(), 0.0) {}

bool WeightedSampler::refresh(uint64_t now_ms) {
  const bool stale = !built_ || generation_ != servers_.generation() ||
                     (time_dependent_ && now_ms != built_at_ms_);
  if (stale) {
    built_ = true;
    generation_ = servers_.generation();
    built_at_ms_ = now_ms;
    // Once the last ramp has ended the weights stop moving, and the next
    // rebuild (at a later time) clears this flag for good.
    time_dependent_ = servers_.ramping(now_ms);
    eligible_count_ = 0;
    double total = 0;
    for (size_t i = 0; i < weights_.size(); ++i) {
      weights_[i] = servers_.effectiveWeight(i, now_ms);  // 0 when not eligible
      if (weights_[i] > 0) {
        ++eligible_count_;
        last_eligible_ = i;
      }
      total += weights_[i];
      cumulative_[i] = total;
    }
  }
  return eligible_count_ > 0;
}

size_t WeightedSampler::draw(RandomStream& random) const {
  const double point = random.unit() * cumulative_.back();
  // The first server whose range [cumulative - weight, cumulative) holds the
  // point. Zero-weight servers have empty ranges and are never found.
  auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), point);
  // unit() < 1, but the product can round up to the total.
  if (it == cumulative_.end()) return last_eligible_;
  return static_cast<size_t>(it - cumulative_.begin());
}

WeightedRandom::WeightedRandom(const ServerSet& servers, uint64_t seed, uint32_t worker_index)
    : sampler_(servers), random_(seed, worker_index) {}

size_t WeightedRandom::pick(const PickContext& ctx) {
  if (!sampler_.refresh(ctx.now_ms)) return kNoServer;
  return sampler_.draw(random_);
}

std::unique_ptr<Balancer> WeightedRandomFactory::create(const ServerSet& servers,
                                                        const BalancerParams& params,
                                                        uint32_t worker_index) const {
  return std::make_unique<WeightedRandom>(servers, params.seed, worker_index);
}

}  // namespace gourmet::balancers
