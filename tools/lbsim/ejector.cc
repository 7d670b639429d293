#include "tools/lbsim/ejector.h"

#include <algorithm>

namespace gourmet::lbsim {

Ejector::Ejector(uint32_t servers, const core::OutlierDetectionConfig& rules)
    : health_(std::make_unique<core::ServerHealth[]>(servers)), states_(servers), rules_(rules) {
  // "never eject more than this share (at least one server may always be
  // ejected)": 50% of 10 is 5, 50% of 1 still allows 1.
  max_ejected_ = std::max<uint32_t>(
      1, static_cast<uint32_t>(static_cast<uint64_t>(servers) * rules.max_ejection_percent / 100));
}

std::optional<uint64_t> Ejector::onCrossing(uint32_t i, uint64_t now_ms) {
  core::ServerHealth& health = health_[i];
  State& state = states_[i];
  health.requested.exchange(0, std::memory_order_relaxed);
  // The counts restart whatever is decided: a refused crossing must be able
  // to cross again (observe asks exactly at the threshold).
  health.resetCounts();
  if (state.ejected) return std::nullopt;  // a worker's late observation
  if (ejected_now_ >= max_ejected_) {
    ++refused_;
    return std::nullopt;
  }
  const auto base = static_cast<uint64_t>(rules_.base_ejection_time.count());
  const auto cap = static_cast<uint64_t>(rules_.max_ejection_time.count());
  if (state.in_a_row > 0 && base > 0) {
    const uint64_t quiet_periods = (now_ms - state.back_since_ms) / base;
    state.in_a_row -= static_cast<uint32_t>(std::min<uint64_t>(state.in_a_row, quiet_periods));
  }
  ++state.in_a_row;
  state.ejected = true;
  ++ejected_now_;
  ++ejections_;
  health.setFlag(core::kHealthEjected, true);
  return now_ms + std::min(base * state.in_a_row, cap);
}

void Ejector::unEject(uint32_t i, uint64_t now_ms) {
  State& state = states_[i];
  if (!state.ejected) return;
  state.ejected = false;
  state.back_since_ms = now_ms;
  --ejected_now_;
  health_[i].resetCounts();
  health_[i].setFlag(core::kHealthEjected, false);
}

}  // namespace gourmet::lbsim
