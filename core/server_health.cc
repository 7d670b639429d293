#include "core/server_health.h"

#include "balancers/server_set.h"

namespace gourmet::core {

static_assert(kHealthDrained == balancers::kHealthWordDrained,
              "ServerSet tells drained from unhealthy by this bit");

namespace {

// Counts one more and says whether this call reached `threshold` exactly,
// so that among racing workers one asks.
bool countTo(std::atomic<uint32_t>& counter, uint32_t threshold) {
  return counter.fetch_add(1, std::memory_order_relaxed) + 1 == threshold;
}

void reset(std::atomic<uint32_t>& counter) {
  // A load first: the common case (nothing counted) writes nothing, so the
  // line stays shared between the workers' caches.
  if (counter.load(std::memory_order_relaxed) != 0) counter.store(0, std::memory_order_relaxed);
}

}  // namespace

bool ServerHealth::observe(ExchangeOutcome outcome, const OutlierDetectionConfig& rules,
                           FailWindow window, uint64_t now_ms) {
  uint32_t ask = 0;
  switch (outcome) {
    case ExchangeOutcome::kUnmeasured:
      return false;
    case ExchangeOutcome::kSuccess:
      reset(consecutive_failures);
      reset(consecutive_5xx);
      return false;
    case ExchangeOutcome::kTransportFailure:
    case ExchangeOutcome::kGatewayStatus:
      if (rules.consecutive_failures != 0 &&
          countTo(consecutive_failures, rules.consecutive_failures)) {
        ask |= kEjectConsecutiveFailures;
      }
      if (outcome == ExchangeOutcome::kGatewayStatus && rules.consecutive_5xx != 0 &&
          countTo(consecutive_5xx, rules.consecutive_5xx)) {
        ask |= kEjectConsecutive5xx;
      }
      break;
    case ExchangeOutcome::kOtherStatus5xx:
      reset(consecutive_failures);  // the server answered: its transport is fine
      if (rules.consecutive_5xx != 0 && countTo(consecutive_5xx, rules.consecutive_5xx)) {
        ask |= kEjectConsecutive5xx;
      }
      break;
  }
  if (window.max_fail != 0) {
    // A window opens at the first failure after the last one ended; the
    // race between two workers opening it at once loses a count or two,
    // which "about max_fail within about fail_timeout" tolerates.
    uint64_t start = window_start_ms.load(std::memory_order_relaxed);
    if (start == 0 || now_ms >= start + window.fail_timeout_ms) {
      if (window_start_ms.compare_exchange_strong(start, now_ms, std::memory_order_relaxed)) {
        window_failures.store(0, std::memory_order_relaxed);
      }
    }
    if (countTo(window_failures, window.max_fail)) ask |= kEjectFailWindow;
  }
  if (ask == 0) return false;
  requested.fetch_or(ask, std::memory_order_relaxed);
  return true;
}

void ServerHealth::resetCounts() {
  consecutive_failures.store(0, std::memory_order_relaxed);
  consecutive_5xx.store(0, std::memory_order_relaxed);
  window_start_ms.store(0, std::memory_order_relaxed);
  window_failures.store(0, std::memory_order_relaxed);
}

bool ServerHealth::setFlag(HealthFlag flag, bool on) {
  const uint32_t before = flags.load(std::memory_order_relaxed);
  const uint32_t after = on ? before | flag : before & ~static_cast<uint32_t>(flag);
  if (after == before) return false;
  flags.store(after, std::memory_order_relaxed);
  // Release: a worker that sees the new epoch (acquire) sees the new word.
  healthEpoch().fetch_add(1, std::memory_order_release);
  return true;
}

std::atomic<uint64_t>& healthEpoch() {
  static std::atomic<uint64_t> epoch{1};
  return epoch;
}

}  // namespace gourmet::core
