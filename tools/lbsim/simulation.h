#pragma once

// A discrete-event simulation of dispatchers in front of servers, driving
// the real balancers (whatever balancers::findBalancer returns, the code the
// proxy runs) with a synthetic workload:
//
// - requests arrive as a Poisson process whose rate is `load` times the
//   servers' total capacity;
// - each arrival goes to one of `workers` dispatchers at random (as the
//   kernel spreads connections over SO_REUSEPORT listeners); each dispatcher
//   has its own Balancer over its own ServerSet, and all of them share the
//   servers' active counters, as the proxy's workers do;
// - each server serves one request at a time, first come first served, and
//   a request's service time is exponential with mean `mean_service_ms`,
//   times `slow_factor` on server 0 (the slow one);
// - a request's response time is its queueing plus its service; the
//   balancer learns it through onEnd, as the proxy reports the time to the
//   end of the response.
//
// The workload (arrival times, service demands, dispatcher, key) comes from
// random streams of its own, so every algorithm faces the same requests
// (common random numbers) and a seed gives the same numbers on every run.

#include <cstdint>
#include <string_view>

#include "balancers/balancer.h"

namespace gourmet::lbsim {

struct Scenario {
  double load = 0.8;  // arrival rate / total service capacity
  uint32_t servers = 10;
  double slow_factor = 5.0;    // server 0's mean service time multiplier
  uint32_t workers = 4;        // dispatchers, each with its own balancer
  uint64_t requests = 200000;  // simulated requests, warm-up included
  uint64_t seed = 1;
  double mean_service_ms = 10.0;  // a fast server's mean service time
  uint64_t key_space = 100000;    // distinct keys (clients) for `hash`
};

struct Result {
  uint64_t measured = 0;  // requests after warm-up
  double mean_ms = 0, p50_ms = 0, p99_ms = 0, p999_ms = 0;
  double slow_share = 0;  // fraction of measured requests sent to server 0
  uint64_t unrouted = 0;  // picks that returned kNoServer
  // The slow server was offered over 110% of what it can serve: its queue
  // grew throughout the run, and the percentiles grow with the number of
  // requests.
  bool slow_overloaded = false;
};

// The first tenth of the requests is warm-up and left out of the results,
// so estimates and queues start from a running state.
inline constexpr uint64_t kWarmupDivisor = 10;

// Total capacity in requests per millisecond.
double capacityPerMs(const Scenario& scenario);

Result simulate(const balancers::BalancerFactory& factory, bool keyed, const Scenario& scenario);

}  // namespace gourmet::lbsim
