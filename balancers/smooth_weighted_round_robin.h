#pragma once

// nginx's smooth weighted round robin (`balancer: round_robin`).
//
// Every pick adds each server's weight to its running "current" value, takes
// the server with the largest current (lowest index on a tie) and subtracts
// the total weight from it. Over any total_weight consecutive picks each
// server is chosen exactly `weight` times, and the choices are interleaved:
// weights 5,1,1 give a a b a c a a, not a a a a a b c.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "balancers/balancer.h"

namespace gourmet::balancers {

class SmoothWeightedRoundRobin final : public Balancer {
 public:
  // `servers` is copied. Weight-0 servers are never picked.
  explicit SmoothWeightedRoundRobin(std::span<const Candidate> servers);

  // kNoServer when every weight is 0 (or there are no servers).
  size_t pick(const PickContext& ctx) override;

  // Advances the cursor by `picks` picks (start-up only: O(picks * servers)).
  void skip(uint64_t picks);

  // Sum of the weights: the length of one full period of picks.
  uint64_t totalWeight() const { return total_; }

 private:
  struct Slot {
    int64_t current = 0;
    int64_t weight = 0;
    size_t index = 0;  // position in the span given to the constructor
  };

  std::vector<Slot> slots_;  // only servers with weight > 0
  int64_t total_ = 0;
};

class SmoothWeightedRoundRobinFactory final : public BalancerFactory {
 public:
  std::unique_ptr<Balancer> create(std::span<const Candidate> servers,
                                   uint32_t worker_index) const override;
};

}  // namespace gourmet::balancers
