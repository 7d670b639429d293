#pragma once

// Peak-EWMA (`balancer: ewma`), the latency-aware balancer of Finagle
// (com.twitter.finagle.loadbalancer.PeakEwma) and Linkerd (tower's
// `load::PeakEwma`).
//
// When to use: servers differ in speed, or slow down now and then (GC
// pauses, noisy neighbours, a cold cache), and you want traffic to drift away
// from the slow ones within a request or two rather than after a health
// check ejects them. It needs responses to learn from, so it suits many
// short requests better than a few long streams.
//
// How: each worker keeps, per server, an estimate of its response latency.
// A sample above the estimate replaces it at once (the "peak": a server that
// turns slow is avoided immediately); a lower one is blended in as
//   estimate = estimate * w + sample * (1 - w),  w = exp(-dt / decay),
// dt being the time since the server's previous sample, so a server recovers
// gradually. Between samples the estimate read by a pick decays towards
// zero by the same factor, exp(-age / decay), as in Finagle and tower: a
// server that was slow and is no longer picked becomes cheap again over time
// and gets probed, instead of being shunned forever on an old sample.
// A server without samples is estimated at default_rtt.
//
// Cost = estimate * (active + 1) / effective weight, with `active` the
// process-wide count of requests in flight (ServerSet::active), so queueing
// anywhere in the process counts. A pick samples choice_count distinct
// eligible servers uniformly (power of d choices, Mitzenmacher 2001) and
// takes the cheapest; sampling rather than scanning keeps a server that
// every worker believes cheapest from being stampeded.
//
// Failures: a failed request (transport error, timeout) counts as a sample of
// kFailurePenalty times the larger of the current estimate and default_rtt,
// at least its own latency and at most kMaxPenaltyUs. One failure makes a
// server look several times slower than it was; repeated failures back it
// off geometrically up to 10 s, and the decay brings it back.
//
// Time is injected (PickContext::now_ms, Completion): nothing here reads a
// clock, so tests and tools/lbsim drive it exactly.

#include <cstdint>
#include <memory>
#include <vector>

#include "balancers/balancer.h"
#include "balancers/random_stream.h"

namespace gourmet::balancers {

class PeakEwma final : public Balancer {
 public:
  static constexpr double kFailurePenalty = 5.0;
  static constexpr double kMaxPenaltyUs = 10e6;

  // `seed` and `stream` select the random stream of the choices.
  PeakEwma(const ServerSet& servers, const BalancerParams& params, uint64_t seed, uint64_t stream);

  // kNoServer when no server is eligible.
  size_t pick(const PickContext& ctx) override;

  void onEnd(size_t server, const Completion& completion) override;

  // The latency estimate of `server` in microseconds as a pick at `now_ms`
  // sees it (decayed since the last sample).
  double estimateUs(size_t server, uint64_t now_ms) const;

  // What a pick at `now_ms` compares: estimate * (active + 1) / weight.
  double cost(size_t server, uint64_t now_ms) const;

 private:
  struct Estimate {
    double latency_us = 0;
    uint64_t updated_ms = 0;
    bool sampled = false;
  };

  void refreshEligible();

  const ServerSet& servers_;
  double decay_ms_;
  double default_rtt_us_;
  uint32_t choice_count_;
  RandomStream random_;
  std::vector<Estimate> estimates_;
  // Indexes of the eligible servers, rebuilt in place (no allocation) when
  // ServerSet::generation() moves; picks shuffle a prefix of it.
  std::vector<uint32_t> eligible_;
  uint64_t eligible_generation_ = 0;
};

class PeakEwmaFactory final : public BalancerFactory {
 public:
  std::unique_ptr<Balancer> create(const ServerSet& servers, const BalancerParams& params,
                                   uint32_t worker_index) const override;
};

}  // namespace gourmet::balancers
