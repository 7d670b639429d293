#pragma once

// Weighted random (`balancer: random`): each pick draws a server with
// probability proportional to its effective weight (configured weight with
// slow start applied). Stateless between picks apart from the random stream,
// so it needs no coordination between workers and spreads load evenly over
// many picks, but unlike round robin it gives no short-run guarantee. Use it
// when many independent dispatchers must not fall into step; prefer
// round_robin for exact proportions and p2c when servers differ in speed.
//
// Gourmet's `random` ignored weights; this one honours them (and weight 0).

#include <cstdint>
#include <memory>
#include <vector>

#include "balancers/balancer.h"
#include "balancers/random_stream.h"

namespace gourmet::balancers {

// The eligible servers' effective weights as a cumulative table, so a
// weighted draw is one binary search. Shared by random, p2c and jiq. The
// table is rebuilt lazily: when eligibility changes (ServerSet::generation)
// and, while some server ramps, when the clock has moved. Its storage is
// sized once, so refreshing never allocates.
class WeightedSampler {
 public:
  explicit WeightedSampler(const ServerSet& servers);

  // Brings the table up to date for `now_ms`; false when no server is
  // eligible (then draw() must not be called).
  bool refresh(uint64_t now_ms);

  // A server drawn with probability weight / total; never an ineligible one.
  size_t draw(RandomStream& random) const;

  // Effective weight of server `i` as of the last refresh (0 = ineligible).
  double weight(size_t i) const { return weights_[i]; }
  size_t eligibleCount() const { return eligible_count_; }

 private:
  const ServerSet& servers_;
  std::vector<double> weights_;
  std::vector<double> cumulative_;  // cumulative_[i] = weights_[0] + ... + weights_[i]
  size_t eligible_count_ = 0;
  size_t last_eligible_ = 0;
  uint64_t generation_ = 0;
  uint64_t built_at_ms_ = 0;
  bool built_ = false;
  bool time_dependent_ = false;  // some weight was ramping when built
};

class WeightedRandom final : public Balancer {
 public:
  WeightedRandom(const ServerSet& servers, uint64_t seed, uint32_t worker_index);

  // kNoServer when no server is eligible.
  size_t pick(const PickContext& ctx) override;

 private:
  WeightedSampler sampler_;
  RandomStream random_;
};

class WeightedRandomFactory final : public BalancerFactory {
 public:
  // Reads params.seed; workers get independent streams.
  std::unique_ptr<Balancer> create(const ServerSet& servers, const BalancerParams& params,
                                   uint32_t worker_index) const override;
};

}  // namespace gourmet::balancers
