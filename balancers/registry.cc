#include "balancers/registry.h"

#include <array>

#include "balancers/join_idle_queue.h"
#include "balancers/least_connections.h"
#include "balancers/maglev.h"
#include "balancers/peak_ewma.h"
#include "balancers/power_of_two_choices.h"
#include "balancers/smooth_weighted_round_robin.h"
#include "balancers/weighted_random.h"

namespace gourmet::balancers {
namespace {

struct Entry {
  std::string_view name;
  const BalancerFactory* factory;
};

const SmoothWeightedRoundRobinFactory kSmoothWeightedRoundRobin;
const WeightedRandomFactory kWeightedRandom;
const LeastConnectionsFactory kLeastConnections;
const PowerOfTwoChoicesFactory kPowerOfTwoChoices;
const JoinIdleQueueFactory kJoinIdleQueue;
const PeakEwmaFactory kPeakEwma;
const MaglevFactory kMaglev;

// Every balancer the config may name. Adding an algorithm adds one line.
const Entry kBalancers[] = {
    {"round_robin", &kSmoothWeightedRoundRobin},
    {"random", &kWeightedRandom},
    {"least_conn", &kLeastConnections},
    {"p2c", &kPowerOfTwoChoices},
    {"least_request", &kPowerOfTwoChoices},
    {"jiq", &kJoinIdleQueue},
    {"ewma", &kPeakEwma},
    {"hash", &kMaglev},
};

}  // namespace

const BalancerFactory* findBalancer(std::string_view name) {
  for (const Entry& entry : kBalancers) {
    if (entry.name == name) return entry.factory;
  }
  return nullptr;
}

std::span<const std::string_view> balancerNames() {
  static const auto kNames = [] {
    std::array<std::string_view, std::size(kBalancers)> names;
    for (size_t i = 0; i < names.size(); ++i) names[i] = kBalancers[i].name;
    return names;
  }();
  return kNames;
}

}  // namespace gourmet::balancers
