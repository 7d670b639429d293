#pragma once

// The simulator's stand-in for the proxy's health monitor: the main-thread
// side of outlier detection. Dispatchers feed each exchange's outcome to the
// server's core::ServerHealth (the proxy's own code, the same counters and
// thresholds) and, when an observation crosses a threshold, the simulation
// calls onCrossing() at once (in the proxy the worker wakes the monitor,
// which decides within a loop iteration). The decision follows Envoy's
// outlier detection, which gourmet's OutlierDetectionConfig documents:
//
// - eject at the crossing, unless more than max_ejection_percent of the
//   servers would then be out (at least one may always be ejected);
// - the n-th ejection in a row lasts base_ejection_time x n, capped at
//   max_ejection_time; n goes down by one for each base_ejection_time the
//   server then stays in (Envoy's ejection multiplier);
// - a refused or finished ejection forgets the counts, so the next five
//   failures in a row cross again.
//
// The ejection is a HealthFlag in the server's word; every dispatcher's
// ServerSet sees it through refresh() when healthEpoch() moves, as workers
// do. Single-threaded, like the simulation.

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/config.h"
#include "core/server_health.h"

namespace gourmet::lbsim {

class Ejector {
 public:
  Ejector(uint32_t servers, const core::OutlierDetectionConfig& rules);

  // The health of server `i`, to observe outcomes on and to hand to its
  // balancers::Candidate (&health(i).flags).
  core::ServerHealth& health(uint32_t i) { return health_[i]; }
  const core::OutlierDetectionConfig& rules() const { return rules_; }

  // ServerHealth::observe returned true for server `i` at `now_ms`. Returns
  // when the ejection it made ends (the caller calls unEject then), or
  // nullopt when it made none.
  std::optional<uint64_t> onCrossing(uint32_t i, uint64_t now_ms);
  // The ejection of server `i` that onCrossing scheduled is over.
  void unEject(uint32_t i, uint64_t now_ms);

  uint64_t ejections() const { return ejections_; }
  // Crossings that found max_ejection_percent reached.
  uint64_t refused() const { return refused_; }
  uint32_t ejectedNow() const { return ejected_now_; }

 private:
  struct State {
    bool ejected = false;
    uint32_t in_a_row = 0;       // Envoy's ejection multiplier
    uint64_t back_since_ms = 0;  // when the last ejection ended
  };

  std::unique_ptr<core::ServerHealth[]> health_;
  std::vector<State> states_;
  core::OutlierDetectionConfig rules_;
  uint32_t max_ejected_ = 1;
  uint32_t ejected_now_ = 0;
  uint64_t ejections_ = 0;
  uint64_t refused_ = 0;
};

}  // namespace gourmet::lbsim
