#pragma once

// The interface every balancing algorithm implements. Balancers are pure
// algorithms: they know servers only as indexes with a weight and a shared
// count of requests in flight, never sockets or addresses.
//
// Threading: the main thread validates an upstream's config and finds its
// BalancerFactory; each worker creates its own Balancer from that factory
// when it adopts a snapshot, and then calls it only from its own thread.
// So a Balancer needs no locks and its cursor is a plain member.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace gourmet::balancers {

// One server as a balancer sees it.
struct Candidate {
  uint32_t weight = 1;  // 0 = drained: never picked
  // Requests in flight to this server across all workers (relaxed reads).
  const std::atomic<uint32_t>* active = nullptr;
};

// Per-request facts an algorithm may use (hash keys come with later balancers).
struct PickContext {
  uint64_t hash = 0;
};

inline constexpr size_t kNoServer = static_cast<size_t>(-1);

class Balancer {
 public:
  virtual ~Balancer() = default;

  // Index of the chosen server, or kNoServer when none is eligible (all
  // drained). Worker thread only; must not allocate.
  virtual size_t pick(const PickContext& ctx) = 0;

  // A request to `server` started / ended (after pick). Optional.
  virtual void onStart(size_t server) { (void)server; }
  virtual void onEnd(size_t server) { (void)server; }
};

class BalancerFactory {
 public:
  virtual ~BalancerFactory() = default;

  // Builds one worker's balancer over `servers` (copied; the span need not
  // outlive the call). `worker_index` seeds the starting position so that N
  // workers do not all send their first request to the same server.
  virtual std::unique_ptr<Balancer> create(std::span<const Candidate> servers,
                                           uint32_t worker_index) const = 0;
};

}  // namespace gourmet::balancers
