#pragma once

// One worker's view of an upstream's servers, shared by its balancer and the
// worker: the single place that says whether a server may be picked (not
// drained, not marked down by health checking) and what weight it has right
// now (slow start). Every algorithm asks it; none keeps its own copy of
// eligibility, so a health decision reaches all algorithms the same way.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace gourmet::balancers {

// One server as a balancer sees it.
struct Candidate {
  uint32_t id = 0;  // stable identity across reloads (carries slow start over)
  // Where consistent hashing places the server: a hash of what the config
  // calls it (its address), so every process with that config agrees, which
  // `id` (numbered by one process's reload history) does not promise.
  uint64_t key = 0;
  uint32_t weight = 1;  // 0 = drained: never picked
  // Requests in flight to this server across all workers (relaxed reads).
  const std::atomic<uint32_t>* active = nullptr;
};

// Envoy's slow start: a new or recovered server's weight ramps from
// min_weight_percent of its weight to all of it over `window`, following
// (elapsed / window)^(1 / aggression).
struct SlowStart {
  std::chrono::milliseconds window{0};  // 0 = off
  double aggression = 1.0;
  double min_weight_percent = 10;
};

class ServerSet {
 public:
  static constexpr double kMinRampFactor = 0.001;

  // `previous` (may be null) is the set this one replaces on a reload:
  // servers it already knew keep their ramp, so a server's slow start does
  // not restart when others join. Servers new to a set created with
  // `ramp_new_servers` start ramping at `now_ms`; at process start-up
  // nothing ramps.
  ServerSet(std::span<const Candidate> servers, SlowStart slow_start, const ServerSet* previous,
            bool ramp_new_servers, uint64_t now_ms);

  size_t size() const { return servers_.size(); }
  const Candidate& candidate(size_t i) const { return servers_[i]; }

  bool eligible(size_t i) const { return servers_[i].weight > 0 && !down_[i]; }
  bool anyEligible() const;

  // Configured weight, and the weight with slow start applied at `now_ms`:
  // 0 when not eligible, else at least kMinRampFactor of the weight.
  uint32_t weight(size_t i) const { return servers_[i].weight; }
  double effectiveWeight(size_t i, uint64_t now_ms) const;
  // Whether some server is still ramping at `now_ms` (weights are then
  // fractional and time-dependent).
  bool ramping(uint64_t now_ms) const { return ramp_until_ms_ > now_ms; }

  uint32_t active(size_t i) const {
    return servers_[i].active == nullptr ? 0 : servers_[i].active->load(std::memory_order_relaxed);
  }

  // Health checking: a server marked up again ramps from now.
  void markDown(size_t i);
  void markUp(size_t i, uint64_t now_ms);

  // Bumped on every eligibility change, so algorithms with precomputed
  // tables rebuild them lazily.
  uint64_t generation() const { return generation_; }

 private:
  std::vector<Candidate> servers_;
  std::vector<uint8_t> down_;
  std::vector<uint64_t> ramp_start_ms_;  // 0 = not ramping
  SlowStart slow_start_;
  uint64_t ramp_until_ms_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace gourmet::balancers
