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
#include "core/server_health.h"
#include "tools/lbsim/ejector.h"

namespace gourmet::lbsim {
namespace {

using balancers::RandomStream;

// The proxy's default panic_threshold: with max_ejection_percent 50 it
// never starts, as in the proxy.
constexpr uint32_t kPanicThreshold = 50;

// Separate streams per kind of randomness, so that the workload does not
// depend on how many random numbers a balancer or a server happened to use.
enum Stream : uint64_t { kArrivals = 1, kDemands, kDispatch, kKeys, kFailures };

struct Request {
  uint64_t number;
  double arrival_ms;
  double demand;  // service time on a fast server, in units of its mean
  double coin;    // uniform in [0, 1): fails when below Failure::share
  uint32_t worker;
};

enum class EventKind : uint8_t {
  kArrival,      // the next request arrives
  kServiceEnd,   // `server` finished the request at the head of its queue
  kFastFailure,  // `server` failed `request` without queueing it
  kUnEject,      // the ejection of `server` ends
};

struct Event {
  double time_ms;
  uint64_t sequence;  // ties in time resolve in creation order: deterministic
  EventKind kind;
  uint32_t server;
  Request request;  // kFastFailure only
  bool operator>(const Event& other) const {
    return time_ms != other.time_ms ? time_ms > other.time_ms : sequence > other.sequence;
  }
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
  const Failure& failure = scenario.failure;
  const bool failing = failure.start_ms >= 0 && failure.server < server_count;
  std::optional<Ejector> ejector;
  if (scenario.outlier_detection) ejector.emplace(server_count, *scenario.outlier_detection);
  // The shared active counters, one per server, read by every dispatcher.
  auto active = std::make_unique<std::atomic<uint32_t>[]>(server_count);
  std::vector<balancers::Candidate> candidates;
  for (uint32_t i = 0; i < server_count; ++i) {
    candidates.push_back(
        balancers::Candidate{.id = i + 1,
                             .key = balancers::hashNumber(i + 1),
                             .weight = 1,
                             .active = &active[i],
                             .health = ejector ? &ejector->health(i).flags : nullptr});
  }
  balancers::BalancerParams params;
  params.seed = scenario.seed;
  std::vector<std::unique_ptr<balancers::ServerSet>> sets;
  std::vector<std::unique_ptr<balancers::Balancer>> dispatchers;
  for (uint32_t w = 0; w < scenario.workers; ++w) {
    sets.push_back(std::make_unique<balancers::ServerSet>(candidates, balancers::SlowStart{},
                                                          nullptr, false, 0));
    sets.back()->setPanicThreshold(kPanicThreshold);
    dispatchers.push_back(factory.create(*sets.back(), params, w));
  }

  RandomStream arrivals(scenario.seed, kArrivals), demands(scenario.seed, kDemands),
      dispatch(scenario.seed, kDispatch), keys(scenario.seed, kKeys),
      coins(scenario.seed, kFailures);
  const double mean_interarrival_ms = 1.0 / (scenario.load * capacityPerMs(scenario));
  auto serviceMs = [&](uint32_t server, double demand) {
    return demand * scenario.mean_service_ms * (server == 0 ? scenario.slow_factor : 1.0);
  };

  std::vector<std::deque<Request>> queues(server_count);
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events;
  uint64_t sequence = 0;
  auto schedule = [&](double time_ms, EventKind kind, uint32_t server, const Request& request) {
    events.push(Event{time_ms, sequence++, kind, server, request});
  };
  schedule(exponential(arrivals) * mean_interarrival_ms, EventKind::kArrival, 0, Request{});

  const uint64_t warmup = scenario.requests / kWarmupDivisor;
  std::vector<double> response_ms;
  response_ms.reserve(scenario.requests - warmup);
  Result result;
  uint64_t arrived = 0, to_slow = 0;
  auto afterFailure = [&](const Request& r) { return failing && r.arrival_ms >= failure.start_ms; };

  // A request's end, served or failed: the balancer and outlier detection
  // learn of it, as the proxy's worker tells them at the response head.
  auto finish = [&](uint32_t server, const Request& done, double now, bool failed) {
    const auto now_ms = static_cast<uint64_t>(now);
    active[server].fetch_sub(1, std::memory_order_relaxed);
    const double response = now - done.arrival_ms;
    const bool reset = failed && failure.kind == FailureKind::kReset;
    dispatchers[done.worker]->onEnd(
        server,
        balancers::Completion{.now_ms = now_ms,
                              .latency_us = static_cast<uint64_t>(std::llround(response * 1000)),
                              .failed = reset});
    if (ejector) {
      const core::ExchangeOutcome outcome = !failed ? core::ExchangeOutcome::kSuccess
                                            : reset ? core::ExchangeOutcome::kTransportFailure
                                                    : core::ExchangeOutcome::kGatewayStatus;
      if (ejector->health(server).observe(outcome, ejector->rules(), core::FailWindow{}, now_ms)) {
        if (std::optional<uint64_t> until = ejector->onCrossing(server, now_ms)) {
          schedule(static_cast<double>(*until), EventKind::kUnEject, server, Request{});
        }
      }
    }
    if (failed) {
      if (afterFailure(done)) ++result.failed_after_failure;
    } else if (done.number >= warmup) {
      response_ms.push_back(response);
    }
  };

  while (!events.empty()) {
    Event event = events.top();
    events.pop();
    const double now = event.time_ms;
    const auto now_ms = static_cast<uint64_t>(now);

    switch (event.kind) {
      case EventKind::kArrival: {
        Request request{arrived++, now, exponential(demands), coins.unit(),
                        static_cast<uint32_t>(dispatch.below(scenario.workers))};
        if (arrived < scenario.requests) {
          schedule(now + exponential(arrivals) * mean_interarrival_ms, EventKind::kArrival, 0,
                   Request{});
        }
        if (afterFailure(request)) ++result.after_failure;
        balancers::PickContext ctx{.now_ms = now_ms};
        if (keyed) {
          ctx.hash = balancers::hashNumber(keys.below(scenario.key_space));
          ctx.has_hash = true;
        }
        // As a worker does before a pick: one comparison unless an
        // ejection started or ended since the last one.
        if (ejector) {
          sets[request.worker]->refresh(core::healthEpoch().load(std::memory_order_acquire),
                                        now_ms);
        }
        balancers::Balancer& balancer = *dispatchers[request.worker];
        size_t picked = balancer.pick(ctx);
        if (picked == balancers::kNoServer) {
          ++result.unrouted;
          if (afterFailure(request)) ++result.failed_after_failure;
          break;
        }
        const auto server = static_cast<uint32_t>(picked);
        active[server].fetch_add(1, std::memory_order_relaxed);
        balancer.onStart(server, now_ms);
        if (request.number >= warmup && server == 0) ++to_slow;
        if (afterFailure(request) && server == failure.server) ++result.sent_to_failing;
        if (afterFailure(request) && server == failure.server && request.coin < failure.share) {
          schedule(now + failure.fail_ms, EventKind::kFastFailure, server, request);
          break;
        }
        queues[server].push_back(request);
        if (queues[server].size() == 1) {
          schedule(now + serviceMs(server, request.demand), EventKind::kServiceEnd, server,
                   Request{});
        }
        break;
      }
      case EventKind::kServiceEnd: {
        const uint32_t server = event.server;
        Request done = queues[server].front();
        queues[server].pop_front();
        finish(server, done, now, false);
        if (!queues[server].empty()) {
          schedule(now + serviceMs(server, queues[server].front().demand), EventKind::kServiceEnd,
                   server, Request{});
        }
        break;
      }
      case EventKind::kFastFailure:
        finish(event.server, event.request, now, true);
        break;
      case EventKind::kUnEject:
        ejector->unEject(event.server, now_ms);
        break;
    }
  }
  if (ejector) {
    result.ejections = ejector->ejections();
    result.refused_ejections = ejector->refused();
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
