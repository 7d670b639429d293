#include "core/route_table.h"

#include <fmt/format.h>
#include <re2/re2.h>

namespace gourmet::core {

Result<Route> RouteTable::compile(const LocationConfig& location, uint32_t cluster) {
  RE2 pattern(location.pattern, RE2::Quiet);
  if (!pattern.ok()) {
    return fail(fmt::format("{}invalid regex '{}': {}", location.pattern_pos.prefix(),
                            location.pattern, pattern.error()));
  }
  Route route;
  if (location.rewrite) {
    std::string why;
    if (!pattern.CheckRewriteString(*location.rewrite, &why)) {
      return fail(fmt::format("{}invalid rewrite '{}': {}", location.rewrite_pos.prefix(),
                              *location.rewrite, why));
    }
    route.rewrite_groups = 1 + RE2::MaxSubmatch(*location.rewrite);
  }
  route.pattern = location.pattern;
  route.cluster = cluster;
  route.rewrite = location.rewrite;
  route.match = location.match;
  route.rewrite_to_last_group = location.rewrite_to_last_group;
  route.max_body_size = location.max_body_size;
  route.prefix = requiredPrefix(location.pattern, pattern);
  return route;
}

namespace {

RoutePrefilter prefilterOf(const std::vector<Route>& routes) {
  std::vector<RoutePrefix> prefixes;
  std::vector<MatchTarget> targets;
  prefixes.reserve(routes.size());
  targets.reserve(routes.size());
  for (const Route& route : routes) {
    prefixes.push_back(route.prefix);
    targets.push_back(route.match);
  }
  return RoutePrefilter(prefixes, targets);
}

}  // namespace

RouteTable::RouteTable(std::vector<Route> routes)
    : routes_(std::move(routes)), prefilter_(prefilterOf(routes_)) {}

RouteTable::RouteTable(std::vector<Route> routes,
                       std::vector<std::shared_ptr<const ErrorPages>> pages)
    : RouteTable(std::move(routes)) {
  error_pages_ = std::move(pages);
  for (size_t i = 0; i < routes_.size() && i < error_pages_.size(); ++i) {
    routes_[i].error_pages = error_pages_[i].get();
  }
}

}  // namespace gourmet::core
