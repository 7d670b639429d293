#include "balancers/join_idle_queue.h"

namespace gourmet::balancers {

JoinIdleQueue::JoinIdleQueue(const ServerSet& servers, const BalancerParams& params,
                             uint32_t worker_index)
    : servers_(servers),
      fallback_(servers, params, worker_index),
      // A stream of its own, apart from the fallback's (same seed and worker).
      random_(params.seed ^ 0x4a49512d6a6f696eULL, worker_index),
      local_active_(servers.size(), 0),
      ring_(servers.size(), 0),
      queued_(servers.size(), 0),
      generation_(servers.generation()) {
  const size_t count = servers.size();
  if (count == 0) return;
  const size_t start = worker_index % count;
  for (size_t n = 0; n < count; ++n) {
    const size_t i = (start + n) % count;
    if (servers.eligible(i)) push(i);
  }
}

size_t JoinIdleQueue::pick(const PickContext& ctx) {
  if (servers_.generation() != generation_) {
    generation_ = servers_.generation();
    enqueueIdle();
  }
  const bool ramping = servers_.ramping(ctx.now_ms);
  // Each entry is looked at once per pick at most: stale ones (busy again
  // through the fallback, or no longer eligible) leave the queue and rejoin
  // when idle (onEnd) or eligible (enqueueIdle) again.
  for (size_t looks = count_; looks > 0; --looks) {
    const size_t server = pop();
    if (!servers_.eligible(server) || local_active_[server] != 0) continue;
    if (ramping) {
      const double full = servers_.weight(server);
      const double effective = servers_.effectiveWeight(server, ctx.now_ms);
      if (effective < full && random_.unit() * full >= effective) {
        push(server);  // still idle: keep its place, at the back
        continue;
      }
    }
    return server;
  }
  return fallback_.pick(ctx);
}

void JoinIdleQueue::onStart(size_t server, uint64_t) {
  if (server < local_active_.size()) ++local_active_[server];
}

void JoinIdleQueue::onEnd(size_t server, const Completion&) {
  if (server >= local_active_.size() || local_active_[server] == 0) return;
  if (--local_active_[server] == 0 && !queued_[server] && servers_.eligible(server)) push(server);
}

void JoinIdleQueue::push(size_t server) {
  queued_[server] = 1;
  size_t tail = head_ + count_;
  if (tail >= ring_.size()) tail -= ring_.size();
  ring_[tail] = static_cast<uint32_t>(server);
  ++count_;
}

size_t JoinIdleQueue::pop() {
  const size_t server = ring_[head_];
  queued_[server] = 0;
  if (++head_ == ring_.size()) head_ = 0;
  --count_;
  return server;
}

void JoinIdleQueue::enqueueIdle() {
  for (size_t i = 0; i < local_active_.size(); ++i) {
    if (!queued_[i] && local_active_[i] == 0 && servers_.eligible(i)) push(i);
  }
}

std::unique_ptr<Balancer> JoinIdleQueueFactory::create(const ServerSet& servers,
                                                       const BalancerParams& params,
                                                       uint32_t worker_index) const {
  return std::make_unique<JoinIdleQueue>(servers, params, worker_index);
}

}  // namespace gourmet::balancers
