#pragma once

// One server's health, shared by every worker and the main thread. Workers
// read one word (`flags`) to know whether the server may be picked and add
// their observations of each exchange to a few counters; the main thread
// (HealthMonitor) makes every decision, once for the process, and is the
// only writer of `flags`. After each change it bumps healthEpoch(), so a
// worker re-reads the words of its servers only when something changed:
// the request path pays one relaxed load of the epoch.
//
// It lives in the server's identity (UpstreamServer), which reloads reuse
// while the address stays the same, so ejections and check results survive
// a reload, and a server named by two upstreams is one server.

#include <atomic>
#include <cstdint>

#include "core/config.h"

namespace gourmet::core {

// Bits of ServerHealth::flags; 0 = healthy.
enum HealthFlag : uint32_t {
  kHealthEjected = 1u << 0,        // outlier detection, until a time the monitor keeps
  kHealthFailingChecks = 1u << 1,  // active checks failed `unhealthy` times in a row
  kHealthDrained = 1u << 2,        // the operator took it out
};

// What a worker learnt about the server from one exchange.
enum class ExchangeOutcome {
  kUnmeasured,        // the client left first: says nothing about the server
  kSuccess,           // a response head below 500
  kTransportFailure,  // connect refused/timeout, reset, response timeout, invalid response
  kGatewayStatus,     // 502, 503 or 504 from the server
  kOtherStatus5xx,    // any other 5xx
};

// Why a worker asked the monitor to eject (ServerHealth::requested bits).
enum EjectionRequest : uint32_t {
  kEjectConsecutiveFailures = 1u << 0,
  kEjectConsecutive5xx = 1u << 1,
  kEjectFailWindow = 1u << 2,  // Gourmet's max_fail within fail_timeout
};

// Gourmet's max_fail / fail_timeout for one server (0 = off).
struct FailWindow {
  uint32_t max_fail = 0;
  uint64_t fail_timeout_ms = 1000;
};

struct ServerHealth {
  // Written by the main thread only; read by every worker (relaxed).
  std::atomic<uint32_t> flags{0};
  // Observations, from every worker (relaxed). A success resets the
  // consecutive counts; the main thread resets them at an ejection.
  std::atomic<uint32_t> consecutive_failures{0};
  std::atomic<uint32_t> consecutive_5xx{0};
  std::atomic<uint64_t> window_start_ms{0};
  std::atomic<uint32_t> window_failures{0};
  // EjectionRequest bits a worker set; the monitor takes them.
  std::atomic<uint32_t> requested{0};

  bool healthy() const { return flags.load(std::memory_order_relaxed) == 0; }

  // Worker thread. Adds one outcome; returns true when it crossed a
  // threshold of `rules` or `window` (the bit is then set in `requested`, and
  // the caller wakes the monitor). Exactly one observer crosses each
  // threshold. A success costs one relaxed load when nothing is counted.
  bool observe(ExchangeOutcome outcome, const OutlierDetectionConfig& rules, FailWindow window,
               uint64_t now_ms);
  // Main thread: forget the counts (at an ejection, or when it ends).
  void resetCounts();
  // Main thread: sets or clears one HealthFlag and, when the word changed,
  // bumps healthEpoch() so that workers re-read it. True when it changed.
  bool setFlag(HealthFlag flag, bool on);
};

// Bumped (release) by the main thread after every change of any flags word.
std::atomic<uint64_t>& healthEpoch();

}  // namespace gourmet::core
