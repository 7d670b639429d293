#include "balancers/registry.h"

#include <array>

#include "balancers/smooth_weighted_round_robin.h"

namespace gourmet::balancers {
namespace {

struct Entry {
  std::string_view name;
  const BalancerFactory* factory;
};

const SmoothWeightedRoundRobinFactory kSmoothWeightedRoundRobin;

// Every balancer the config may name. Adding an algorithm adds one line.
const Entry kBalancers[] = {
    {"round_robin", &kSmoothWeightedRoundRobin},
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
