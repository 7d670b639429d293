#include "balancers/server_set.h"

#include <algorithm>
#include <cmath>

namespace gourmet::balancers {

ServerSet::ServerSet(std::span<const Candidate> servers, SlowStart slow_start,
                     const ServerSet* previous, bool ramp_new_servers, uint64_t now_ms)
    : servers_(servers.begin(), servers.end()),
      down_(servers.size(), 0),
      ramp_start_ms_(servers.size(), 0),
      slow_start_(slow_start) {
  const bool slow = slow_start_.window.count() > 0;
  const uint64_t window = slow ? static_cast<uint64_t>(slow_start_.window.count()) : 0;
  for (size_t i = 0; i < servers_.size(); ++i) {
    uint64_t start = slow && ramp_new_servers ? std::max<uint64_t>(now_ms, 1) : 0;
    if (previous != nullptr) {
      // Reloads mostly keep the order, so try the same position first and
      // scan only when it differs (the scan is O(n) per server).
      const size_t count = previous->servers_.size();
      const size_t first = i < count ? i : 0;
      for (size_t n = 0; n < count; ++n) {
        const size_t j = first + n < count ? first + n : first + n - count;
        if (previous->servers_[j].id == servers_[i].id) {
          // Health state carries over with or without slow start; a ramp
          // only when slow start is (still) on.
          down_[i] = previous->down_[j];
          start = slow ? previous->ramp_start_ms_[j] : 0;
          break;
        }
      }
    }
    ramp_start_ms_[i] = start;
    if (start != 0) ramp_until_ms_ = std::max(ramp_until_ms_, start + window);
  }
  updatePanic();
}

bool ServerSet::refresh(uint64_t epoch, uint64_t now_ms) {
  if (epoch == seen_epoch_) return false;
  seen_epoch_ = epoch;
  const uint64_t before = generation_;
  for (size_t i = 0; i < servers_.size(); ++i) {
    const std::atomic<uint32_t>* health = servers_[i].health;
    const uint32_t word = health != nullptr ? health->load(std::memory_order_relaxed) : 0;
    if (word == 0) {
      markUp(i, now_ms);
    } else {
      markDown(i, (word & kHealthWordDrained) != 0);
    }
  }
  return generation_ != before;
}

void ServerSet::updatePanic() {
  size_t serving = 0, healthy = 0;
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (servers_[i].weight == 0 || down_[i] == kDrained) continue;
    ++serving;
    if (!down_[i]) ++healthy;
  }
  healthy_ = healthy;
  const bool panic =
      healthy > 0 && healthy < serving &&
      static_cast<uint64_t>(healthy) * 100 < static_cast<uint64_t>(panic_percent_) * serving;
  if (panic != panic_) {
    panic_ = panic;
    ++generation_;
  }
}

bool ServerSet::anyEligible() const {
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (eligible(i)) return true;
  }
  return false;
}

double ServerSet::effectiveWeight(size_t i, uint64_t now_ms) const {
  if (!eligible(i)) return 0;
  double weight = servers_[i].weight;
  uint64_t start = ramp_start_ms_[i];
  if (start == 0 || now_ms >= ramp_until_ms_) return weight;
  double window = static_cast<double>(slow_start_.window.count());
  double elapsed = now_ms > start ? static_cast<double>(now_ms - start) : 0;
  if (elapsed >= window) return weight;
  double aggression = slow_start_.aggression > 0 ? slow_start_.aggression : 1.0;
  double factor = std::pow(elapsed / window, 1.0 / aggression);
  // Weight 0 means drained, so an eligible server keeps a sliver even when
  // min_weight_percent is 0 (otherwise replacing every server at once would
  // leave nothing to pick for the first millisecond).
  double floor = std::max(slow_start_.min_weight_percent / 100.0, kMinRampFactor);
  return weight * std::max(floor, factor);
}

void ServerSet::setPanicThreshold(uint32_t percent) {
  panic_percent_ = percent;
  updatePanic();
}

void ServerSet::markDown(size_t i, bool drained) {
  const uint8_t state = drained ? kDrained : kUnhealthy;
  if (down_[i] == state) return;
  down_[i] = state;
  ++generation_;
  updatePanic();
}

void ServerSet::markUp(size_t i, uint64_t now_ms) {
  if (!down_[i]) return;
  down_[i] = 0;
  ++generation_;
  if (slow_start_.window.count() > 0) {
    ramp_start_ms_[i] = now_ms == 0 ? 1 : now_ms;
    ramp_until_ms_ = std::max(
        ramp_until_ms_, ramp_start_ms_[i] + static_cast<uint64_t>(slow_start_.window.count()));
  }
  updatePanic();
}

}  // namespace gourmet::balancers
