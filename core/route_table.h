#pragma once

// The snapshot's locations in config order, checked, with the prefilter that
// narrows which of them a request can match. Built once on the main thread
// and read by every worker; it holds no compiled regex: each worker compiles
// its own (Router), because RE2 locks its DFA cache on every match.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/error.h"
#include "core/error_page.h"
#include "core/route_prefilter.h"

namespace gourmet::core {

struct Route {
  std::string pattern;   // RE2 syntax, unanchored; compiled by each worker
  uint32_t cluster = 0;  // index into Snapshot::clusters
  std::optional<std::string> rewrite;
  int rewrite_groups = 0;  // captures `rewrite` needs, $0 included
  MatchTarget match = MatchTarget::kPath;
  bool rewrite_to_last_group = false;
  std::optional<uint64_t> max_body_size;  // overrides the server's limit
  RoutePrefix prefix;                     // what the prefilter knows of `pattern`
  // gourmet's own responses once this route is chosen (the location's
  // error_pages over the listener's); owned by the table. Null: the
  // listener's.
  const ErrorPages* error_pages = nullptr;
};

class RouteTable {
 public:
  RouteTable() = default;
  explicit RouteTable(std::vector<Route> routes);
  // With each route's error pages (`pages` parallel to `routes`), which the
  // table keeps alive for its routes.
  RouteTable(std::vector<Route> routes, std::vector<std::shared_ptr<const ErrorPages>> pages);

  // Checks one location (the loader validated it; errors here still come
  // back as values, at the pattern's or the rewrite's position) and learns
  // its required prefix.
  static Result<Route> compile(const LocationConfig& location, uint32_t cluster);

  const std::vector<Route>& routes() const { return routes_; }
  const RoutePrefilter& prefilter() const { return prefilter_; }
  size_t size() const { return routes_.size(); }

 private:
  std::vector<Route> routes_;
  RoutePrefilter prefilter_;
  std::vector<std::shared_ptr<const ErrorPages>> error_pages_;  // what routes_ point at
};

}  // namespace gourmet::core
