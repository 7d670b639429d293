#pragma once

// lbsim's failure scenario: one server starts failing a share of its
// requests at Failure::start_ms, and every balancer runs the same workload
// twice, without and with outlier detection (the proxy's defaults: 5
// failures in a row, 30 s x n, at most 300 s, at most 50% ejected). The
// table gives the error rate the clients see from the failure on.

#include <span>
#include <string_view>

#include "balancers/balancer.h"
#include "tools/lbsim/simulation.h"

namespace gourmet::lbsim {

struct NamedBalancer {
  std::string_view name;
  const balancers::BalancerFactory* factory;
};

// Prints the table. Returns false when `check` is set and outlier detection
// did not lower some balancer's error rate (or never ejected): the claim
// `make test` holds the simulator to.
bool printFailureTable(const Scenario& scenario, std::span<const NamedBalancer> balancers,
                       bool check);

}  // namespace gourmet::lbsim
