#pragma once

// Helpers shared by the balancer tests: an upstream of weighted servers with
// their own active counters (tests set them directly to stand for load from
// every worker), pick counting, and a chi-square statistic.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "balancers/balancer.h"
#include "balancers/server_set.h"

namespace gourmet::balancers {

// Allocations made so far by this test binary. operator new is replaced in
// smooth_weighted_round_robin_test.cc (one replacement per binary).
size_t countedAllocations();

struct UpstreamOptions {
  SlowStart slow_start = {};
  const ServerSet* previous = nullptr;  // the set this one replaces
  bool ramp_new_servers = false;
  uint64_t now_ms = 0;
  std::vector<uint32_t> ids = {};  // default 0, 1, 2, ...
};

class TestUpstream {
 public:
  explicit TestUpstream(const std::vector<uint32_t>& weights, const UpstreamOptions& options = {})
      : active_(std::make_unique<std::atomic<uint32_t>[]>(weights.size())),
        set_(candidates(weights, options), options.slow_start, options.previous,
             options.ramp_new_servers, options.now_ms) {}

  ServerSet& servers() { return set_; }
  void setActive(size_t server, uint32_t count) { active_[server].store(count); }
  void setActive(const std::vector<uint32_t>& counts) {
    for (size_t i = 0; i < counts.size(); ++i) setActive(i, counts[i]);
  }

 private:
  std::vector<Candidate> candidates(const std::vector<uint32_t>& weights,
                                    const UpstreamOptions& options) {
    std::vector<Candidate> out;
    for (size_t i = 0; i < weights.size(); ++i) {
      out.push_back(Candidate{
          .id = options.ids.empty() ? static_cast<uint32_t>(i) : options.ids[i],
          .weight = weights[i],
          .active = &active_[i],
      });
    }
    return out;
  }

  std::unique_ptr<std::atomic<uint32_t>[]> active_;
  ServerSet set_;
};

// How often each server was picked in `picks` picks at `now_ms` (kNoServer
// is not counted).
inline std::vector<size_t> countPicks(Balancer& balancer, size_t servers, size_t picks,
                                      uint64_t now_ms = 0) {
  std::vector<size_t> counts(servers, 0);
  for (size_t i = 0; i < picks; ++i) {
    size_t server = balancer.pick(PickContext{.now_ms = now_ms});
    if (server < servers) ++counts[server];
  }
  return counts;
}

// Pearson's chi-square of `counts` against `weights` (servers of weight 0
// must have count 0 and are left out). Degrees of freedom: servers with
// weight > 0, minus one.
inline double chiSquare(const std::vector<size_t>& counts, const std::vector<double>& weights) {
  double total_weight = 0;
  size_t total = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    total_weight += weights[i];
    total += counts[i];
  }
  double statistic = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (weights[i] <= 0) continue;
    const double expected = static_cast<double>(total) * weights[i] / total_weight;
    const double diff = static_cast<double>(counts[i]) - expected;
    statistic += diff * diff / expected;
  }
  return statistic;
}

// Upper 0.1% points of the chi-square distribution by degrees of freedom
// (1..9): a fair sampler exceeds them once in a thousand seeds.
inline constexpr double kChiSquare999[] = {0,      10.828, 13.816, 16.266, 18.467,
                                           20.515, 22.458, 24.322, 26.124, 27.877};

}  // namespace gourmet::balancers
