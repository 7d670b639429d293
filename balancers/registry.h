#pragma once

// Balancers by the name used in config (`balancer: round_robin`).
// The table is explicit in registry.cc: adding an algorithm adds one line.

#include <span>
#include <string_view>

#include "balancers/balancer.h"

namespace gourmet::balancers {

// nullptr for an unknown name. The factory lives for the whole process.
const BalancerFactory* findBalancer(std::string_view name);

// Every registered name, in registration order (for error messages).
std::span<const std::string_view> balancerNames();

}  // namespace gourmet::balancers
