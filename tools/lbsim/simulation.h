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
// - optionally (Scenario::failure), from a time on one server fails a share
//   of the requests it is sent, fast (a reset or a 503 after `fail_ms`,
//   without queueing), and outlier detection (Scenario::outlier_detection,
//   core::ServerHealth with tools/lbsim/ejector.h deciding) may eject it
//   from every dispatcher's ServerSet, as the proxy's monitor does.
//
// The workload (arrival times, service demands, dispatcher, key, whether a
// request to the failing server fails) comes from random streams of its
// own, so every algorithm faces the same requests (common random numbers)
// and a seed gives the same numbers on every run.

#include <cstdint>
#include <optional>
#include <string_view>

#include "balancers/balancer.h"
#include "core/config.h"

namespace gourmet::lbsim {

// How the failing server fails: a reset is a transport failure (the
// balancer's Completion::failed, a kTransportFailure for outlier
// detection); a 503 is an answer the balancer sees as a fast response and
// outlier detection counts as a kGatewayStatus.
enum class FailureKind { kReset, k503 };

struct Failure {
  double start_ms = -1;  // < 0: no server fails
  uint32_t server = 0;
  double share = 0.5;  // of the requests it is sent from start_ms on
  double fail_ms = 1;  // time to the failure (no queueing)
  FailureKind kind = FailureKind::k503;
};

struct Scenario {
  double load = 0.8;  // arrival rate / total service capacity
  uint32_t servers = 10;
  double slow_factor = 5.0;    // server 0's mean service time multiplier
  uint32_t workers = 4;        // dispatchers, each with its own balancer
  uint64_t requests = 200000;  // simulated requests, warm-up included
  uint64_t seed = 1;
  double mean_service_ms = 10.0;  // a fast server's mean service time
  uint64_t key_space = 100000;    // distinct keys (clients) for `hash`
  Failure failure;
  // nullopt: no outlier detection (failures only reach the balancers).
  std::optional<core::OutlierDetectionConfig> outlier_detection;
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
  // With a Failure: requests that arrived from its start_ms on, and how
  // many of them the client saw fail (the server failed them, or no server
  // was eligible).
  uint64_t after_failure = 0, failed_after_failure = 0;
  uint64_t sent_to_failing = 0;                   // of after_failure
  uint64_t ejections = 0, refused_ejections = 0;  // outlier detection
  double errorRate() const {
    return after_failure == 0
               ? 0
               : static_cast<double>(failed_after_failure) / static_cast<double>(after_failure);
  }
};

// The first tenth of the requests is warm-up and left out of the results,
// so estimates and queues start from a running state.
inline constexpr uint64_t kWarmupDivisor = 10;

// Total capacity in requests per millisecond.
double capacityPerMs(const Scenario& scenario);

Result simulate(const balancers::BalancerFactory& factory, bool keyed, const Scenario& scenario);

}  // namespace gourmet::lbsim
