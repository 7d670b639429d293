#include "balancers/peak_ewma.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace gourmet::balancers {
namespace {

// A decayed estimate tends to zero, and zero times (active + 1) would hide a
// server's queue; a floor of one microsecond keeps active requests counting.
constexpr double kMinEstimateUs = 1.0;

}  // namespace

PeakEwma::PeakEwma(const ServerSet& servers, const BalancerParams& params, uint64_t seed,
                   uint64_t stream)
    : servers_(servers),
      // A zero decay would divide by zero; one millisecond means "forget at
      // once", which is what zero asks for.
      decay_ms_(std::max<double>(1.0, static_cast<double>(params.decay.count()))),
      default_rtt_us_(static_cast<double>(params.default_rtt.count()) * 1000.0),
      choice_count_(std::max<uint32_t>(1, params.choice_count)),
      random_(seed, stream),
      estimates_(servers.size()) {
  eligible_.reserve(servers.size());
  refreshEligible();
}

void PeakEwma::refreshEligible() {
  eligible_generation_ = servers_.generation();
  eligible_.clear();  // keeps the capacity reserved in the constructor
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (servers_.eligible(i)) eligible_.push_back(static_cast<uint32_t>(i));
  }
}

double PeakEwma::estimateUs(size_t server, uint64_t now_ms) const {
  const Estimate& estimate = estimates_[server];
  if (!estimate.sampled) return default_rtt_us_;
  double age = now_ms > estimate.updated_ms ? static_cast<double>(now_ms - estimate.updated_ms) : 0;
  return estimate.latency_us * std::exp(-age / decay_ms_);
}

double PeakEwma::cost(size_t server, uint64_t now_ms) const {
  double weight = servers_.ramping(now_ms) ? servers_.effectiveWeight(server, now_ms)
                                           : static_cast<double>(servers_.weight(server));
  if (weight <= 0) return INFINITY;
  double estimate = std::max(kMinEstimateUs, estimateUs(server, now_ms));
  return estimate * (static_cast<double>(servers_.active(server)) + 1.0) / weight;
}

size_t PeakEwma::pick(const PickContext& ctx) {
  if (servers_.generation() != eligible_generation_) refreshEligible();
  const size_t count = eligible_.size();
  if (count == 0) return kNoServer;
  // With at least as many choices as servers, every server is a choice and
  // the pick is deterministic: the cheapest, lowest index on a tie.
  const size_t choices = std::min<size_t>(choice_count_, count);
  if (choices < count) {
    // Partial Fisher-Yates: the first `choices` entries become a uniform
    // sample of distinct servers. The list is a set, so its order may drift.
    for (size_t j = 0; j < choices; ++j) {
      size_t r = j + static_cast<size_t>(random_.below(count - j));
      std::swap(eligible_[j], eligible_[r]);
    }
  }
  size_t best = kNoServer;
  double best_cost = INFINITY;
  for (size_t j = 0; j < choices; ++j) {
    size_t server = eligible_[j];
    double c = cost(server, ctx.now_ms);
    if (best == kNoServer || c < best_cost ||
        (choices == count && c == best_cost && server < best)) {
      best = server;
      best_cost = c;
    }
  }
  return best;
}

void PeakEwma::onEnd(size_t server, const Completion& completion) {
  if (server >= estimates_.size()) return;
  if (!completion.measured && !completion.failed) return;  // the client left first
  Estimate& estimate = estimates_[server];
  double sample = static_cast<double>(completion.latency_us);
  if (completion.failed) {
    double base = std::max(default_rtt_us_, estimateUs(server, completion.now_ms));
    sample = std::max(sample, std::min(kFailurePenalty * base, kMaxPenaltyUs));
  }
  if (!estimate.sampled || sample > estimate.latency_us) {
    // The peak: a slower sample is believed at once.
    estimate.latency_us = sample;
  } else {
    double dt = completion.now_ms > estimate.updated_ms
                    ? static_cast<double>(completion.now_ms - estimate.updated_ms)
                    : 0;
    double w = std::exp(-dt / decay_ms_);
    estimate.latency_us = estimate.latency_us * w + sample * (1.0 - w);
  }
  estimate.sampled = true;
  estimate.updated_ms = std::max(estimate.updated_ms, completion.now_ms);
}

std::unique_ptr<Balancer> PeakEwmaFactory::create(const ServerSet& servers,
                                                  const BalancerParams& params,
                                                  uint32_t worker_index) const {
  return std::make_unique<PeakEwma>(servers, params, params.seed, worker_index);
}

}  // namespace gourmet::balancers
