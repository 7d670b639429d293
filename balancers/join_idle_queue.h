#pragma once

// Join-Idle-Queue (`balancer: jiq`), after Lu, Xie, Kliot, Geller, Larus and
// Greenberg, "Join-Idle-Queue: A novel load balancing algorithm for
// dynamically scalable web services" (Performance 2011). Each worker keeps a
// queue of the servers it has seen go idle, meaning no request from this
// worker in flight; a pick takes the server at the head of that queue, so a
// request goes to an idle server whenever this worker knows one, with no
// scan and no shared state. Only when the queue is empty (every server busy
// with this worker's requests) does it fall back to p2c. Use it for
// many short requests over servers of uneven speed: fast servers go idle
// more often and so rejoin the queue more often.
//
// Idleness is per worker, as in the paper with several dispatchers: two
// workers may each send a request to the same server they both saw idle.
// Weights shape only the fallback; an idle server is idle whatever its
// weight. While a server ramps up (slow start) it is passed over at the head
// of the queue with probability 1 - effective/configured weight and goes to
// the back, so it still gets fewer requests than the others.

#include <cstdint>
#include <memory>
#include <vector>

#include "balancers/balancer.h"
#include "balancers/power_of_two_choices.h"
#include "balancers/random_stream.h"

namespace gourmet::balancers {

class JoinIdleQueue final : public Balancer {
 public:
  // Every eligible server starts idle; the queue starts at server
  // worker_index (mod count) so workers do not all begin with the same one.
  // The fallback p2c reads the same params.
  JoinIdleQueue(const ServerSet& servers, const BalancerParams& params, uint32_t worker_index);

  // kNoServer when no server is eligible. Must be followed by onStart for
  // the server returned, or that server is not idle-queued again until it
  // next finishes a request.
  size_t pick(const PickContext& ctx) override;
  void onStart(size_t server, uint64_t now_ms) override;
  void onEnd(size_t server, const Completion& completion) override;

 private:
  void push(size_t server);
  size_t pop();
  // After an eligibility change: queue every eligible idle server not
  // already queued (a server marked up again is idle but was dropped).
  void enqueueIdle();

  const ServerSet& servers_;
  PowerOfTwoChoices fallback_;
  RandomStream random_;
  std::vector<uint32_t> local_active_;  // this worker's requests in flight
  // Ring of server indexes. A server is queued at most once (queued_), so
  // capacity = server count and push never overflows.
  std::vector<uint32_t> ring_;
  std::vector<uint8_t> queued_;
  size_t head_ = 0;
  size_t count_ = 0;
  uint64_t generation_ = 0;
};

class JoinIdleQueueFactory final : public BalancerFactory {
 public:
  std::unique_ptr<Balancer> create(const ServerSet& servers, const BalancerParams& params,
                                   uint32_t worker_index) const override;
};

}  // namespace gourmet::balancers
