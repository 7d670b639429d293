#pragma once

// Power of d choices (`balancer: p2c`, alias `least_request`), Envoy's least
// request balancer: draw `choice_count` distinct servers at random, weighted
// by effective weight, and send the request to the least loaded of them. A
// tiny sample is enough to avoid the worst servers (Mitzenmacher, "The Power
// of Two Choices in Randomized Load Balancing", 2001) and, unlike a full
// least_conn scan, many dispatchers do not all pile onto the same "best"
// server. Use it as the default for servers of uneven speed.
//
// Load is the process-wide active count over the effective weight, raised
// to Envoy's `active_request_bias` (1.0 = linear; 0 = ignore load, which
// leaves weighted random). Envoy ranks by weight / (active + 1)^bias; we
// drop the +1 so that idle servers tie and the weighted draw decides
// between them: with the +1 the weights would count twice (once in the
// draw, once in the rank) and an idle 3:1 pair would send nearly everything
// to the heavier server, where this keeps 3:1. With equal weights both rank
// the same way (fewest active wins).

#include <cstdint>
#include <memory>
#include <vector>

#include "balancers/balancer.h"
#include "balancers/random_stream.h"
#include "balancers/weighted_random.h"

namespace gourmet::balancers {

class PowerOfTwoChoices final : public Balancer {
 public:
  // Reads params.choice_count (at least 1), params.active_request_bias and
  // params.seed.
  PowerOfTwoChoices(const ServerSet& servers, const BalancerParams& params, uint32_t worker_index);

  // kNoServer when no server is eligible. With no more eligible servers
  // than choices, all of them are compared.
  size_t pick(const PickContext& ctx) override;

 private:
  // Load per unit of weight; lower is better. 0 for an idle server.
  double load(size_t server) const;

  const ServerSet& servers_;
  WeightedSampler sampler_;
  RandomStream random_;
  uint32_t choice_count_;
  double bias_;
  // drawn_[i] == draw_epoch_ marks server i as drawn in this pick, so the
  // sample is distinct without clearing anything per pick.
  std::vector<uint64_t> drawn_;
  uint64_t draw_epoch_ = 0;
};

class PowerOfTwoChoicesFactory final : public BalancerFactory {
 public:
  std::unique_ptr<Balancer> create(const ServerSet& servers, const BalancerParams& params,
                                   uint32_t worker_index) const override;
};

}  // namespace gourmet::balancers
