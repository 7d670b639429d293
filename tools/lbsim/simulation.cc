#include "tools/lbsim/simulation.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <memory>
#include <queue>
#include <vector>

#include "balancers/hash.h"
#include "balancers/random_stream.h"
#include "balancers/server_set.h"

namespace gourmet::lbsim {
namespace {

using balancers::RandomStream;

constexpr uint32_t kArrival = UINT32_MAX;

// Separate streams per kind of randomness, so that the workload does not
// depend on how many random numbers a balancer or a server happened to use.
enum Stream : uint64_t { kArrivals = 1, kDemands, kDispatch, kKeys };

struct Event {
  double time_ms;
  uint64_t sequence;  // ties in time resolve in creation order: deterministic
  uint32_t server;    // kArrival for the next arrival
  bool operator>(const Event& other) const {
    return time_ms != other.time_ms ? time_ms > other.time_ms : sequence > other.sequence;
  }
};

struct Request {
  uint64_t number;
  double arrival_ms;
  double demand;  // service time on a fast server, in units of its mean
  uint32_t worker;
};

// Exponential with mean 1, from a uniform in [0, 1).
double exponential(RandomStream& random) { return -std::log1p(-random.unit()); }

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

double capacityPerMs(const Scenario& scenario) {
  double fast = static_cast<double>(scenario.servers - 1) / scenario.mean_service_ms;
  double slow = 1.0 / (scenario.mean_service_ms * scenario.slow_factor);
  return fast + slow;
}

Result simulate(const balancers::BalancerFactory& factory, bool keyed, const Scenario& scenario) {
  const uint32_t server_count = scenario.servers;
  // The shared active counters, one per server, read by every dispatcher.
  auto active = std::make_unique<std::atomic<uint32_t>[]>(server_count);
  std::vector<balancers::Candidate> candidates;
  for (uint32_t i = 0; i < server_count; ++i) {
    candidates.push_back(balancers::Candidate{
        .id = i + 1, .key = balancers::hashNumber(i + 1), .weight = 1, .active = &active[i]});
  }
  balancers::BalancerParams params;
  params.seed = scenario.seed;
  std::vector<std::unique_ptr<balancers::ServerSet>> sets;
  std::vector<std::unique_ptr<balancers::Balancer>> dispatchers;
  for (uint32_t w = 0; w < scenario.workers; ++w) {
    sets.push_back(std::make_unique<balancers::ServerSet>(candidates, balancers::SlowStart{},
                                                          nullptr, false, 0));
    dispatchers.push_back(factory.create(*sets.back(), params, w));
  }

  RandomStream arrivals(scenario.seed, kArrivals), demands(scenario.seed, kDemands),
      dispatch(scenario.seed, kDispatch), keys(scenario.seed, kKeys);
  const double mean_interarrival_ms = 1.0 / (scenario.load * capacityPerMs(scenario));
  auto serviceMs = [&](uint32_t server, double demand) {
    return demand * scenario.mean_service_ms * (server == 0 ? scenario.slow_factor : 1.0);
  };

  std::vector<std::deque<Request>> queues(server_count);
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  uint64_t sequence = 0;
  events.push({exponential(arrivals) * mean_interarrival_ms, sequence++, kArrival});

  const uint64_t warmup = scenario.requests / kWarmupDivisor;
  std::vector<double> response_ms;
  response_ms.reserve(scenario.requests - warmup);
  Result result;
  uint64_t arrived = 0, to_slow = 0;

  while (!events.empty()) {
    Event event = events.top();
    events.pop();
    const double now = event.time_ms;
    const auto now_ms = static_cast<uint64_t>(now);

    if (event.server == kArrival) {
      Request request{arrived++, now, exponential(demands),
                      static_cast<uint32_t>(dispatch.below(scenario.workers))};
      if (arrived < scenario.requests) {
        events.push({now + exponential(arrivals) * mean_interarrival_ms, sequence++, kArrival});
      }
      balancers::PickContext ctx{.now_ms = now_ms};
      if (keyed) {
        ctx.hash = balancers::hashNumber(keys.below(scenario.key_space));
        ctx.has_hash = true;
      }
      balancers::Balancer& balancer = *dispatchers[request.worker];
      size_t server = balancer.pick(ctx);
      if (server == balancers::kNoServer) {
        ++result.unrouted;
        continue;
      }
      active[server].fetch_add(1, std::memory_order_relaxed);
      balancer.onStart(server, now_ms);
      if (request.number >= warmup && server == 0) ++to_slow;
      queues[server].push_back(request);
      if (queues[server].size() == 1) {
        events.push({now + serviceMs(static_cast<uint32_t>(server), request.demand), sequence++,
                     static_cast<uint32_t>(server)});
      }
      continue;
    }

    // A server finished the request at the head of its queue.
    const uint32_t server = event.server;
    Request done = queues[server].front();
    queues[server].pop_front();
    active[server].fetch_sub(1, std::memory_order_relaxed);
    const double response = now - done.arrival_ms;
    dispatchers[done.worker]->onEnd(
        server,
        balancers::Completion{.now_ms = now_ms,
                              .latency_us = static_cast<uint64_t>(std::llround(response * 1000)),
                              .failed = false});
    if (done.number >= warmup) response_ms.push_back(response);
    if (!queues[server].empty()) {
      events.push({now + serviceMs(server, queues[server].front().demand), sequence++, server});
    }
  }

  result.measured = response_ms.size();
  if (result.measured == 0) return result;
  double sum = 0;
  for (double r : response_ms) sum += r;
  result.mean_ms = sum / static_cast<double>(result.measured);
  std::sort(response_ms.begin(), response_ms.end());
  result.p50_ms = percentile(response_ms, 0.50);
  result.p99_ms = percentile(response_ms, 0.99);
  result.p999_ms = percentile(response_ms, 0.999);
  result.slow_share = static_cast<double>(to_slow) / static_cast<double>(result.measured);
  // The rate offered to the slow server against what it can serve.
  const double arrival_rate = scenario.load * capacityPerMs(scenario);
  const double slow_capacity = 1.0 / (scenario.mean_service_ms * scenario.slow_factor);
  // A margin of 10%: adaptive algorithms hover around the slow server's
  // capacity and back off as its queue grows; the static splits (round
  // robin, random, hash) offer it several times its capacity.
  result.slow_overloaded = result.slow_share * arrival_rate > 1.1 * slow_capacity;
  return result;
}

}  // namespace gourmet::lbsim
