#pragma once

// The interface every balancing algorithm implements. Balancers are pure
// algorithms: they know servers only as indexes into a ServerSet, never
// sockets or addresses, so the same classes run inside the proxy and inside
// tools/lbsim.
//
// Threading: the main thread validates an upstream's config and finds its
// BalancerFactory; each worker creates its own Balancer (over its own
// ServerSet) when it adopts a snapshot, and then calls it only from its own
// thread. So a Balancer needs no locks and its cursor is a plain member.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "balancers/server_set.h"

namespace gourmet::balancers {

// Per-algorithm settings from the upstream's config; each algorithm reads
// the ones it knows.
struct BalancerParams {
  uint32_t choice_count = 2;                  // p2c, ewma: servers sampled per pick
  double active_request_bias = 1.0;           // p2c: weight / (active + 1)^bias
  std::chrono::milliseconds decay{10000};     // ewma: time constant of the decay
  std::chrono::milliseconds default_rtt{10};  // ewma: estimate before the first sample
  uint32_t table_size = 65537;                // hash: Maglev lookup table size (a prime)
  uint64_t seed = 0;                          // random streams; mixed with the worker index
};

// Per-request facts an algorithm may use.
struct PickContext {
  uint64_t now_ms = 0;  // monotonic milliseconds
  uint64_t hash = 0;    // key hash for `hash` (see balancers/hash.h)
  bool has_hash = false;
};

// How a request to a server ended.
struct Completion {
  uint64_t now_ms = 0;
  uint64_t latency_us = 0;  // from onStart to the end of the response
  bool failed = false;      // transport error or timeout
};

inline constexpr size_t kNoServer = static_cast<size_t>(-1);

class Balancer {
 public:
  virtual ~Balancer() = default;

  // Index of the chosen server, or kNoServer when none is eligible
  // (ServerSet::eligible). Worker thread only; must not allocate.
  virtual size_t pick(const PickContext& ctx) = 0;

  // A request to `server` started / ended (after pick). Optional; the
  // shared active counter is maintained by the caller, not here.
  virtual void onStart(size_t server, uint64_t now_ms) {
    (void)server;
    (void)now_ms;
  }
  virtual void onEnd(size_t server, const Completion& completion) {
    (void)server;
    (void)completion;
  }
};

class BalancerFactory {
 public:
  virtual ~BalancerFactory() = default;

  // Builds one worker's balancer over `servers`, which outlives it.
  // `worker_index` seeds the starting position or random stream so that N
  // workers do not all send their first request to the same server.
  virtual std::unique_ptr<Balancer> create(const ServerSet& servers, const BalancerParams& params,
                                           uint32_t worker_index) const = 0;
};

}  // namespace gourmet::balancers
