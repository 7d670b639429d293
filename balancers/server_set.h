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

// The bit of a health word (core/server_health.h's kHealthDrained) that
// means drained rather than unhealthy.
inline constexpr uint32_t kHealthWordDrained = 1u << 2;

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
  // The server's health word, shared by the process: 0 = may be picked
  // (null: always healthy), kHealthWordDrained set = drained by the
  // operator, anything else = unhealthy. Read by refresh(), not per pick.
  const std::atomic<uint32_t>* health = nullptr;
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

  // Not drained and healthy; in panic mode every server not drained.
  bool eligible(size_t i) const {
    return servers_[i].weight > 0 && (down_[i] == kUp || (panic_ && down_[i] == kUnhealthy));
  }
  bool anyEligible() const;

  // Below `percent` of the servers (drained ones left out) healthy, but at
  // least one, every server not drained is eligible (Envoy's panic mode:
  // better to spread the load over sick servers than to crush the few
  // healthy ones). With none healthy there is no panic: nothing is eligible.
  void setPanicThreshold(uint32_t percent);
  bool panicking() const { return panic_; }

  // Re-reads the servers' health words when `epoch` (healthEpoch()) moved
  // since the last call: the per-pick cost is one comparison. A server that
  // comes back ramps from `now_ms` (slow start). Returns true when
  // eligibility changed.
  bool refresh(uint64_t epoch, uint64_t now_ms);
  // Servers healthy by their word (before panic mode), drained ones left out.
  size_t healthyCount() const { return healthy_; }

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

  // Health state of one server (refresh() calls these from the health
  // words; tests and lbsim may call them directly). A server marked up again
  // ramps from now.
  void markDown(size_t i, bool drained = false);
  void markUp(size_t i, uint64_t now_ms);

  // Bumped on every eligibility change, so algorithms with precomputed
  // tables rebuild them lazily.
  uint64_t generation() const { return generation_; }

 private:
  std::vector<Candidate> servers_;
  // kUp, kUnhealthy, or kDrained (by the operator: never picked, not even
  // in panic mode, like weight 0).
  enum : uint8_t { kUp = 0, kUnhealthy = 1, kDrained = 2 };
  std::vector<uint8_t> down_;
  std::vector<uint64_t> ramp_start_ms_;  // 0 = not ramping
  SlowStart slow_start_;
  uint64_t ramp_until_ms_ = 0;
  uint64_t generation_ = 0;
  uint64_t seen_epoch_ = 0;  // 0: never refreshed
  uint32_t panic_percent_ = 0;
  size_t healthy_ = 0;
  bool panic_ = false;

  void updatePanic();
};

}  // namespace gourmet::balancers
