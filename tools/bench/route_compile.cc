// What 1,000 regex locations cost gourmet outside the request path and in
// it, without the network:
//  - the main thread's RouteTable (each pattern checked and its prefix
//    learnt) per reload,
//  - a worker's adoption of a generation whose locations changed (every
//    regex compiled) and of one whose locations did not (all reused),
//  - one routing decision for a path only the last location matches, with
//    the prefilter, against trying every regex in order (the old router),
//    and with a single location,
// as the median of 5 runs each, in milliseconds or nanoseconds.

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/route_table.h"
#include "core/router.h"

namespace {

using gourmet::core::LocationConfig;
using gourmet::core::Route;
using gourmet::core::Router;
using gourmet::core::RouteTable;
using Clock = std::chrono::steady_clock;

double medianOf5(const std::function<double()>& run) {
  std::vector<double> runs;
  for (int i = 0; i < 5; ++i) runs.push_back(run());
  std::sort(runs.begin(), runs.end());
  return runs[2];
}

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::vector<LocationConfig> locations(int count) {
  std::vector<LocationConfig> out;
  for (int i = 0; i < count; ++i) {
    LocationConfig location;
    location.pattern = count == 1 ? "^/" : fmt::format("^/r{:04d}/", i);
    location.upstream = "origin";
    out.push_back(std::move(location));
  }
  return out;
}

std::unique_ptr<RouteTable> tableOf(const std::vector<LocationConfig>& configs) {
  std::vector<Route> routes;
  for (const LocationConfig& config : configs) {
    routes.push_back(*RouteTable::compile(config, 0));
  }
  return std::make_unique<RouteTable>(std::move(routes));
}

// Nanoseconds per routing decision.
double nsPerMatch(const Router& router, const std::string& path) {
  constexpr int kMatches = 200'000;
  std::string forwarded, scratch;
  auto start = Clock::now();
  size_t found = 0;
  for (int i = 0; i < kMatches; ++i) {
    found += router.match("bench.local", path, forwarded, scratch) != nullptr;
  }
  if (found != kMatches) fmt::print("route_compile: {} did not match\n", path);
  return msSince(start) * 1e6 / kMatches;
}

// The old router's loop: every regex in order until one matches.
double nsPerLinearMatch(const std::vector<std::unique_ptr<RE2>>& patterns,
                        const std::string& path) {
  constexpr int kMatches = 20'000;
  auto start = Clock::now();
  size_t found = 0;
  for (int i = 0; i < kMatches; ++i) {
    for (const auto& pattern : patterns) {
      if (RE2::PartialMatch(path, *pattern)) {
        ++found;
        break;
      }
    }
  }
  if (found != kMatches) fmt::print("route_compile: {} did not match linearly\n", path);
  return msSince(start) * 1e6 / kMatches;
}

}  // namespace

int main() {
  const auto many = locations(1000);
  double table_ms = medianOf5([&] {
    auto start = Clock::now();
    auto table = tableOf(many);
    return msSince(start);
  });
  auto table = tableOf(many);
  double fresh_ms = medianOf5([&] {
    auto start = Clock::now();
    Router router(*table, nullptr);
    return msSince(start);
  });
  Router first(*table, nullptr);
  auto next_table = tableOf(many);  // the next snapshot, same locations
  double reuse_ms = medianOf5([&] {
    auto start = Clock::now();
    Router router(*next_table, &first);
    return msSince(start);
  });
  fmt::print(
      "route_compile: 1,000 locations: main thread table {:.2f} ms per reload; "
      "worker adoption {:.2f} ms when they changed, {:.3f} ms when not\n",
      table_ms, fresh_ms, reuse_ms);

  const std::string last = "/r0999/small";
  double prefiltered = medianOf5([&] { return nsPerMatch(first, last); });
  std::vector<std::unique_ptr<RE2>> patterns;
  for (const LocationConfig& location : many) {
    patterns.push_back(std::make_unique<RE2>(location.pattern, RE2::Quiet));
  }
  double linear = medianOf5([&] { return nsPerLinearMatch(patterns, last); });
  auto one_table = tableOf(locations(1));
  Router one(*one_table, nullptr);
  double single = medianOf5([&] { return nsPerMatch(one, last); });
  fmt::print(
      "route_compile: routing {} (the last of 1,000): {:.0f} ns with the prefilter, "
      "{:.0f} ns trying every regex; 1 location: {:.0f} ns\n",
      last, prefiltered, linear, single);
  return 0;
}
