#pragma once

// The arithmetic of retries, apart from the sockets that need it, so that it
// can be tested on its own: which failures may be retried and how (RFC 9110
// section 9.2.2 and the rule that request bodies are never buffered for a
// retry), the servers a request has tried and the next one to try, Envoy's
// retry budget, and full-jitter backoff. ClientConnection applies it
// (client_upstream_response.cc).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "core/config.h"
#include "core/server_health.h"
#include "core/upstream_error.h"

namespace gourmet::core {

// The RetryOn bit a transport failure falls under; 0 = never retried (an
// invalid response says the server is broken, not unlucky).
inline uint32_t retryConditionOf(UpstreamError error) {
  switch (error) {
    case UpstreamError::kConnectRefused:
    case UpstreamError::kConnectFailed:
    case UpstreamError::kConnectTimeout:
      return kRetryConnectFailure;
    case UpstreamError::kReset:
      return kRetryReset;
    case UpstreamError::kResponseTimeout:
      return kRetryTimeout;
    case UpstreamError::kInvalidResponse:
      return 0;
  }
  return 0;
}

inline bool isConnectFailure(UpstreamError error) {
  return retryConditionOf(error) == kRetryConnectFailure;
}

// The RetryOn bit of a response status; 0 for the statuses never retried.
inline uint32_t retryConditionOf(int status) {
  switch (status) {
    case 502:
      return kRetry502;
    case 503:
      return kRetry503;
    case 504:
      return kRetry504;
    default:
      return 0;
  }
}

// What a response head says about the server (outlier detection).
inline ExchangeOutcome outcomeOfStatus(int status) {
  if (status < 500) return ExchangeOutcome::kSuccess;
  if (status == 502 || status == 503 || status == 504) return ExchangeOutcome::kGatewayStatus;
  return ExchangeOutcome::kOtherStatus5xx;
}

// Where a retry's request bytes come from.
enum class RetryFrom : uint8_t {
  kNone,   // not retried
  kQueue,  // the failed connection never connected: its queue (head and body so far) moves
  kHead,   // no body byte was forwarded: the head is sent again
};

// The facts about one failed attempt that decide whether it may be retried.
struct RetryFacts {
  uint32_t condition = 0;        // RetryOn bit of the failure; 0 = not retryable
  uint32_t attempts_made = 0;    // the failed one included
  bool connect_failure = false;  // no byte of the request reached a server
  bool response_begun = false;   // a response byte was queued to the client
  bool idempotent = false;       // RFC 9110 section 9.2.2
  bool body_forwarded = false;   // some request body went towards the server
};

inline RetryFrom planRetry(const RetryFacts& facts, const RetryConfig& config) {
  if (facts.condition == 0 || (config.on & facts.condition) == 0) return RetryFrom::kNone;
  if (facts.attempts_made > config.attempts || facts.response_begun) return RetryFrom::kNone;
  // Nothing reached the server: sending it elsewhere cannot do anything twice.
  if (facts.connect_failure) return RetryFrom::kQueue;
  if (!facts.idempotent && !config.retry_non_idempotent) return RetryFrom::kNone;
  // Bytes of the body that went out are gone: bodies are not kept for retries.
  if (facts.body_forwarded) return RetryFrom::kNone;
  return RetryFrom::kHead;
}

// The servers one request has tried, by ServerSet index: at most one per
// attempt, so a small array, never an allocation.
class TriedServers {
 public:
  static constexpr size_t kCapacity = static_cast<size_t>(kMaxRetryAttempts) + 1;

  void add(size_t index) {
    if (contains(index) || count_ == kCapacity) return;
    tried_[count_++] = static_cast<uint32_t>(index);
  }
  bool contains(size_t index) const {
    for (uint8_t i = 0; i < count_; ++i) {
      if (tried_[i] == index) return true;
    }
    return false;
  }
  size_t size() const { return count_; }

 private:
  std::array<uint32_t, kCapacity> tried_{};
  uint8_t count_ = 0;
};

// The server for a retry, given the balancer's `picked` one (kNoServer =
// none eligible) among `count`: `picked` when untried, else the next
// eligible untried index after it (round the set), else `none`: a retry
// goes to another server (as nginx's next upstream), so an upstream of one
// server is not retried, and its connect timeout is never waited out twice
// (a stale pooled connection is still replayed, see mayReplay).
template <class Eligible>
size_t retryServer(size_t picked, size_t count, const TriedServers& tried, Eligible&& eligible,
                   size_t none) {
  if (picked >= count) return none;
  if (!tried.contains(picked)) return picked;
  for (size_t n = 1; n < count; ++n) {
    const size_t i = picked + n < count ? picked + n : picked + n - count;
    if (eligible(i) && !tried.contains(i)) return i;
  }
  return none;
}

// Envoy's retry budget: retries in flight may be budget_percent of the
// requests in flight, and min_retries whatever the traffic.
inline uint64_t retryBudget(uint64_t requests_in_flight, uint32_t budget_percent,
                            uint32_t min_retries) {
  return std::max<uint64_t>(min_retries, requests_in_flight * budget_percent / 100);
}

// Full jitter (AWS's "exponential backoff and jitter"): a wait in
// [0, min(max, base * 2^retry)), from `random`; 0 when that range is empty.
inline uint64_t backoffMs(uint64_t base_ms, uint64_t max_ms, uint32_t retry, uint64_t random) {
  uint64_t cap = max_ms;
  if (retry < 63 && base_ms <= (max_ms >> retry)) cap = base_ms << retry;
  return cap == 0 ? 0 : random % cap;
}

// SplitMix64: a tiny generator for backoff jitter; state in the caller.
inline uint64_t nextRandom(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace gourmet::core
