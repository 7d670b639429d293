#pragma once

// nginx's smooth weighted round robin (`balancer: round_robin`).
//
// Every pick adds each eligible server's weight to its running "current"
// value, takes the server with the largest current (lowest index on a tie)
// and subtracts the total weight from it. Over any total_weight consecutive
// picks each server is chosen exactly `weight` times, and the choices are
// interleaved: weights 5,1,1 give a a b a c a a, not a a a a a b c. Weights
// come from the ServerSet each pick, so slow start and health changes apply
// at once.

#include <cstdint>
#include <memory>
#include <vector>

#include "balancers/balancer.h"

namespace gourmet::balancers {

class SmoothWeightedRoundRobin final : public Balancer {
 public:
  explicit SmoothWeightedRoundRobin(const ServerSet& servers);

  // kNoServer when no server is eligible.
  size_t pick(const PickContext& ctx) override;

  // Advances the cursor by `picks` picks (start-up only: O(picks * servers)).
  void skip(uint64_t picks);

  // Sum of the eligible servers' weights: the length of one full period.
  uint64_t totalWeight() const;

 private:
  const ServerSet& servers_;
  std::vector<double> current_;  // exact for integer weights (< 2^53)
};

class SmoothWeightedRoundRobinFactory final : public BalancerFactory {
 public:
  std::unique_ptr<Balancer> create(const ServerSet& servers, const BalancerParams& params,
                                   uint32_t worker_index) const override;
};

}  // namespace gourmet::balancers
